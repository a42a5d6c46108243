"""Run the Spark step as its own pod through Dagster Pipes (`PipesK8sClient`).

Why a pod per Spark step: the driver needs Java and gigabytes of memory that the run pod does
not, and a crash there must not take the run worker with it. The pod runs in the data
namespace with the label the prod NetworkPolicy admits (`lakehouse.platform/s3-client`), talks
to MinIO through the Service, and reads the `spark` identity's keys from that identity's own
Secret (`platform_defs.k8s.identity_secrets`; secretKeyRef, so the values never pass through
Dagster). Never MinIO's root Secret: root only provisions, exactly as on the local target. `pod_wait_timeout` is always set:
the library's default is a day; and it bounds the whole step, the log follow included
(`pipes_logs.BoundedLogsK8sClient`: the library follows the log before its bounded wait starts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from dagster_k8s import PipesK8sClient

from platform_defs.k8s import identity_secrets
from platform_defs.k8s.cluster import running_in_cluster
from platform_defs.k8s.pipes_logs import BoundedLogsK8sClient
from platform_defs.settings import PlatformSettings

S3_CLIENT_LABEL = {"lakehouse.platform/s3-client": "true"}
# Newer AWS SDKs send checksums S3-compatible stores may reject (see field notes).
_CHECKSUM_ENV = {
    "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
    "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
}


def pipes_client(settings: PlatformSettings) -> PipesK8sClient:
    """In-cluster credentials inside a pod, the configured kubeconfig/context outside."""
    inside = running_in_cluster() and settings.kube_context is None
    return BoundedLogsK8sClient(
        load_incluster_config=True if inside else None,
        kubeconfig_file=None
        if inside
        else (str(settings.kubeconfig) if settings.kubeconfig else None),
        kube_context=None if inside else settings.kube_context,
        poll_interval=2.0,
    )


def spark_pod_spec(
    settings: PlatformSettings, *, secret_name: str, memory: str = "4Gi", cpu: str = "2"
) -> dict[str, Any]:
    """The pod spec the Spark step runs with (the first container gets image and command);
    `secret_name` is the spark identity's Secret (`KubernetesTarget.pod_endpoint`)."""
    env: list[dict[str, Any]] = [
        {"name": "PLATFORM_TARGET", "value": "kubernetes"},
        {"name": "PLATFORM_K8S_STORE_ACCESS", "value": "service"},
        {"name": "PLATFORM_SPARK_MASTER", "value": "local[*]"},
        *({"name": k, "value": v} for k, v in _CHECKSUM_ENV.items()),
    ]
    # The names the Spark job reads (assets/spark_jobs/context.py); the endpoint (the Service
    # URL) travels in the Pipes extras.
    for name, key in (
        ("PLATFORM_S3_ACCESS_KEY", identity_secrets.ACCESS_KEY),
        ("PLATFORM_S3_SECRET_KEY", identity_secrets.SECRET_KEY),
    ):
        env.append({"name": name, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}})
    return {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 1000,
            "fsGroup": 1000,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "spark",
                "env": env,
                "resources": {
                    "requests": {"cpu": cpu, "memory": memory},
                    "limits": {"cpu": cpu, "memory": memory},
                },
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
    }


def run_spark_step(
    context: dg.AssetExecutionContext,
    client: PipesK8sClient,
    settings: PlatformSettings,
    *,
    command: Sequence[str],
    secret_name: str,
    extras: Mapping[str, Any] | None = None,
) -> dg.PipesClientCompletedInvocation:
    """Launch `command` (e.g. `python -m assets.spark_job ...`) in the code-location image."""
    return client.run(
        context=context,
        image=settings.k8s_image,
        command=list(command),
        namespace=settings.namespace,
        extras=dict(extras or {}),
        base_pod_meta={"labels": dict(S3_CLIENT_LABEL)},
        base_pod_spec=spark_pod_spec(settings, secret_name=secret_name),
        pod_wait_timeout=settings.k8s_pod_wait_timeout_seconds,
    )

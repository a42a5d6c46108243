"""The Spark step's Pipes pod on the real loopback control plane: created as the platform
creates it and observed on the live object.

The pod body is what `PipesK8sClient.run` sends for `pipes.run_spark_step`: dagster-k8s's own
`build_pod_body` with the platform's `spark_pod_spec`, the `S3_CLIENT_LABEL` metadata and the
Pipes bootstrap variables, created with the same `create_namespaced_pod` call. The Secret it
references is the `spark` identity's, written by `identity_secrets.publish` and looked up with
`identity_secrets.require`, as `KubernetesTarget.pod_endpoint` does.

The namespace enforces Pod Security `restricted`, as the overlays' `analytics` Namespace does
(`test_pod_security_live.py` admits the workloads' pods there). A pod without the spec's
hardening is refused in the same namespace, which shows the admission is really enforced here.

Not here: the Pipes protocol itself. kwok runs no containers: it schedules the pod and marks it
Running and Ready, and nothing inside writes Pipes messages or exits. The whole step, messages
included, runs in test_bootstrap_live.py, where the test plays the kubelet for this container
(tests/k8s/spark_kubelet.py: the real Spark job run locally with the pod's environment, its
output served by kwok as the container's log, its exit reported through a kwok stage). Here no
one plays it: the pod stays Running, which is what this test observes. Marked `cluster`.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Iterator
from typing import Any

import kubernetes
import pytest
from dagster_k8s.pipes import build_pod_body

from platform_defs import credentials, identities
from platform_defs.k8s import cluster as k8s_cluster
from platform_defs.k8s import identity_secrets, pipes
from platform_defs.settings import load_settings
from tests.k8s.live_fixtures import Kubectl
from tools.k8s_testenv import env, seed

pytestmark = pytest.mark.cluster
RUNNING_TIMEOUT = 60.0
RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}
# What open_pipes_session hands the pod (values are opaque to the cluster).
PIPES_ENV = {
    "DAGSTER_PIPES_CONTEXT": "eyJleGFtcGxlIjogdHJ1ZX0=",
    "DAGSTER_PIPES_MESSAGES": "eyJzdGRpbyI6ICJzdGRlcnIifQ==",
}


@pytest.fixture
def restricted_namespace(kubectl: Kubectl) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name)
    kubectl("label", "namespace", name, *(f"{k}={v}" for k, v in RESTRICTED.items()))
    kubectl("-n", name, "wait", "--for=create", "serviceaccount/default", "--timeout=60s")
    yield name
    kubectl("delete", "namespace", name, "--wait=false")


@pytest.fixture
def core(live_env: env.Running) -> Iterator[kubernetes.client.CoreV1Api]:
    """A client of its own (PipesK8sClient loads the kubeconfig into the library's global
    configuration; a test must not change it for the tests after it)."""
    api_client = kubernetes.config.new_client_from_config(config_file=str(live_env.kubeconfig))
    try:
        yield kubernetes.client.CoreV1Api(api_client)
    finally:
        api_client.close()


def _pod_body(namespace: str, secret: str, name: str) -> Any:
    settings = load_settings(target="kubernetes", namespace=namespace)
    return build_pod_body(
        pod_name=name,
        image=settings.k8s_image,
        command=["python", "-m", "assets.spark_jobs.inventory"],
        env_vars=PIPES_ENV,
        base_pod_meta={"labels": dict(pipes.S3_CLIENT_LABEL)},
        base_pod_spec=pipes.spark_pod_spec(settings, secret_name=secret),
    )


def _running(api: k8s_cluster.Cluster, namespace: str, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUNNING_TIMEOUT
    while True:
        pod = api.get("v1", "Pod", name, namespace)
        assert pod is not None, f"Pod/{name} disappeared"
        status = pod.get("status") or {}
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        if status.get("phase") == "Running" and ready:
            return pod
        if time.monotonic() > deadline:
            pytest.fail(f"Pod/{name} not Running+Ready in {RUNNING_TIMEOUT:.0f} s: {status}")
        time.sleep(0.5)


def test_spark_pod_is_admitted_restricted_reads_only_its_identity_and_runs_on_kwok(
    live_env: env.Running,
    api: k8s_cluster.Cluster,
    core: kubernetes.client.CoreV1Api,
    restricted_namespace: str,
) -> None:
    ns = restricted_namespace
    identity_secrets.publish(api, ns, identities.SPARK, credentials.generate("analytics-spark"))
    secret = identity_secrets.require(api, ns, identities.SPARK)
    name = f"dagster-spark-{uuid.uuid4().hex[:6]}"

    core.create_namespaced_pod(ns, _pod_body(ns, secret, name))  # PipesK8sClient.run's call

    pod = _running(api, ns, name)
    nodes = {n["metadata"]["name"]: n for n in api.list("v1", "Node", None)}
    node = nodes[pod["spec"]["nodeName"]]
    assert node["metadata"]["annotations"][seed.KWOK_ANNOTATION] == "fake"
    ip = pod["status"]["podIP"]
    assert ip.startswith("192.0.2."), f"{ip}: TEST-NET-1, never dialled"

    labels = pod["metadata"]["labels"]
    assert labels["lakehouse.platform/s3-client"] == "true", "the prod NetworkPolicy admits it"
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never" and spec["automountServiceAccountToken"] is False
    assert not spec.get("volumes"), "no service-account token or other volume is mounted"
    (container,) = spec["containers"]
    refs = {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in container["env"]
        if "secretKeyRef" in (e.get("valueFrom") or {})
    }
    assert refs == {
        "PLATFORM_S3_ACCESS_KEY": {"name": secret, "key": identity_secrets.ACCESS_KEY},
        "PLATFORM_S3_SECRET_KEY": {"name": secret, "key": identity_secrets.SECRET_KEY},
    }
    assert secret == "iceberg-minio-spark"
    assert not container.get("envFrom"), "no whole Secret is imported"
    plain = {e["name"]: e.get("value") for e in container["env"] if "value" in e}
    assert not any("ROOT" in k for k in plain), plain
    assert plain["DAGSTER_PIPES_CONTEXT"] == PIPES_ENV["DAGSTER_PIPES_CONTEXT"]
    assert plain["PLATFORM_K8S_STORE_ACCESS"] == "service"


def test_the_same_pod_without_its_hardening_is_refused_there(
    api: k8s_cluster.Cluster,
    core: kubernetes.client.CoreV1Api,
    restricted_namespace: str,
) -> None:
    """The control for the test above: admission under `restricted` is really enforced on this
    control plane, and what it names is what spark_pod_spec sets."""
    ns = restricted_namespace
    body = core.api_client.sanitize_for_serialization(
        _pod_body(ns, identity_secrets.secret_name(identities.SPARK), "unhardened")
    )
    bare = copy.deepcopy(body)
    del bare["spec"]["securityContext"]
    del bare["spec"]["containers"][0]["securityContext"]
    with pytest.raises(kubernetes.client.ApiException) as err:
        core.create_namespaced_pod(ns, bare, dry_run="All")
    assert err.value.status == 403
    reason = str(err.value.body)
    assert 'violates PodSecurity \\"restricted:latest\\"' in reason or (
        'violates PodSecurity "restricted:latest"' in reason
    ), reason
    for field in ("allowPrivilegeEscalation", "capabilities", "runAsNonRoot", "seccompProfile"):
        assert field in reason, (field, reason)
    core.create_namespaced_pod(ns, body, dry_run="All")  # the platform's own spec: admitted

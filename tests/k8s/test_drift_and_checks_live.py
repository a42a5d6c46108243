"""Drift (managed fields: a forced dry-run apply vs the live object), the sensor that acts on it,
and the cluster-only checks, on the real loopback control plane: the changes are made as a
person would make them (`kubectl scale`, `kubectl delete`, `kubectl patch`), the healthy store
is the one the real controllers rolled out (kwok makes its pod Ready, the PVC binds through
`local-path`, the EndpointSlice controller publishes its TEST-NET address), and the unhealthy
one is a pod no node accepts. Marked `cluster`."""

from __future__ import annotations

import json
from typing import Any

import dagster as dg
import pytest

from assets.cluster.checks import (
    minio_service_has_endpoints,
    minio_volumes_bound,
    minio_workload_available,
    namespace_active,
)
from assets.cluster.drift import evaluate_drift, kubernetes_drift_sensor_for_tests
from platform_defs.k8s import apply, endpoints
from platform_defs.k8s.cluster import Cluster
from platform_defs.resources.platform import PlatformResource
from platform_defs.targets.kubernetes import KubernetesTarget
from tests.k8s.live_fixtures import TARGET_NAMESPACE, Kubectl, live_target

pytestmark = pytest.mark.cluster
NS = TARGET_NAMESPACE


def _state(api: Cluster, target: KubernetesTarget) -> dict[str, tuple[str, Any]]:
    """resourceVersion and managedFields of every object of the overlay, as on the server."""
    out = {}
    for doc in target.documents():
        meta = doc["metadata"]
        live = api.get(doc["apiVersion"], doc["kind"], meta["name"], apply.namespace_of(doc))
        assert live is not None
        out[f"{doc['kind']}/{meta['name']}"] = (
            live["metadata"]["resourceVersion"],
            live["metadata"]["managedFields"],
        )
    return out


def test_no_drift_right_after_apply_and_the_check_writes_nothing(
    live_provisioned: KubernetesTarget, api: Cluster, kubectl: Kubectl
) -> None:
    kubectl("-n", NS, "wait", "--for=jsonpath={.status.phase}=Bound", "pvc/iceberg-minio")
    before = _state(api, live_provisioned)
    assert live_provisioned.drift() == []
    assert _state(api, live_provisioned) == before, "a drift check must never write"


def test_a_scaled_deployment_and_a_deleted_object_are_drift(
    live_provisioned: KubernetesTarget, kubectl: Kubectl
) -> None:
    kubectl("-n", NS, "scale", "deployment/iceberg-minio", "--replicas=3")
    kubectl("-n", NS, "delete", "service/iceberg-minio", "--wait=true")
    drifts = {d.subject: d.differences for d in live_provisioned.drift()}
    assert drifts == {
        "Deployment/iceberg-minio": (
            "spec.replicas: live 3, manifests 1 (changed by kubectl (Update through /scale))",
        ),
        "Service/iceberg-minio": ("missing from the cluster",),
    }


def test_secret_drift_names_keys_not_values(
    live_provisioned: KubernetesTarget, api: Cluster, kubectl: Kubectl
) -> None:
    (root,) = [
        d["metadata"]["name"]
        for d in live_provisioned.documents()
        if d["kind"] == "Secret" and "root-password" in (d.get("data") or {})
    ]
    changed = "Y2hhbmdlZA=="  # pragma: allowlist secret
    patch = json.dumps({"data": {"root-password": changed}})
    kubectl("-n", NS, "patch", f"secret/{root}", "-p", patch)
    (drift,) = live_provisioned.drift()
    assert drift.subject == f"Secret/{root}"
    (text,) = drift.differences
    assert text.startswith("data.root-password: differs (changed by kubectl-patch"), text
    assert changed not in text and "changed" not in text.split("(")[0]


def test_sensor_records_an_observation_and_requests_a_reapply(
    live_provisioned: KubernetesTarget, kubectl: Kubectl
) -> None:
    kubectl("-n", NS, "scale", "deployment/iceberg-minio", "--replicas=3")
    result = evaluate_drift(PlatformResource())
    assert isinstance(result, dg.SensorResult)
    (run,) = result.run_requests or []
    assert run.run_key and run.run_key.startswith("drift-")
    (obs,) = result.asset_events or []
    assert isinstance(obs, dg.AssetObservation) and obs.asset_key == dg.AssetKey("object_store")
    assert obs.metadata["drifted_count"].value == 1
    assert evaluate_drift(PlatformResource()).run_requests[0].run_key == run.run_key  # type: ignore[union-attr]


def test_sensor_tick_through_dagster(live_provisioned: KubernetesTarget, kubectl: Kubectl) -> None:
    sensor = kubernetes_drift_sensor_for_tests()
    kubectl("-n", NS, "scale", "deployment/iceberg-minio", "--replicas=2")
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            instance=instance, resources={"platform": PlatformResource()}
        )
        data = sensor.evaluate_tick(context)
    assert len(data.run_requests or []) == 1
    assert sensor.job_name == "reapply_platform_manifests"


def test_sensor_skips_when_nothing_drifted(live_provisioned: KubernetesTarget) -> None:
    result = evaluate_drift(PlatformResource())
    assert isinstance(result, dg.SkipReason) and "match" in (result.skip_message or "")


def _wait_ready_endpoint(api: Cluster) -> None:
    """The EndpointSlice controller publishes the Ready pod a moment after the rollout."""
    resource = api.resource(endpoints.API, "EndpointSlice")
    selector = f"{endpoints.SERVICE_NAME_LABEL}=iceberg-minio"
    for event in resource.watch(namespace=NS, label_selector=selector, timeout=60):
        eps = event["object"].to_dict().get("endpoints") or []
        if any((e.get("conditions") or {}).get("ready") for e in eps):
            return
    raise AssertionError("the EndpointSlice of iceberg-minio never listed a Ready pod")


def test_checks_pass_on_a_healthy_store(
    live_provisioned: KubernetesTarget, api: Cluster, kubectl: Kubectl
) -> None:
    kubectl("-n", NS, "wait", "--for=jsonpath={.status.phase}=Bound", "pvc/iceberg-minio")
    _wait_ready_endpoint(api)
    platform = PlatformResource()
    for check in (
        namespace_active,
        minio_workload_available,
        minio_volumes_bound,
        minio_service_has_endpoints,
    ):
        result = check(platform=platform)
        assert result.passed, f"{check.name}: {result.description}"


@pytest.fixture
def unschedulable(live_k8s_env: dict[str, str], kubectl: Kubectl) -> KubernetesTarget:
    """The dev overlay with a nodeSelector no node has: the pod is never scheduled, so its PVC
    (local-path binds on first consumer) stays Pending, nothing is available and the Service
    has no endpoint."""
    target = live_target()
    docs = target.documents()
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    deployment["spec"]["template"]["spec"]["nodeSelector"] = {"lakehouse.test/none": "true"}
    apply.apply_all(target.cluster(), docs)
    kubectl(
        "-n",
        NS,
        "wait",
        "--for=condition=PodScheduled=false",
        "pod",
        "-l",
        "app.kubernetes.io/name=minio",
        "--timeout=60s",
    )
    return target


def test_checks_fail_with_the_reason(unschedulable: KubernetesTarget) -> None:
    platform = PlatformResource()
    assert "not bound: {'iceberg-minio': 'Pending'}" in (
        minio_volumes_bound(platform=platform).description or ""
    )
    workload = minio_workload_available(platform=platform)
    assert not workload.passed and "0/1 available" in (workload.description or "")
    found = minio_service_has_endpoints(platform=platform)
    assert not found.passed and "0 of " in (found.description or ""), found.description
    assert namespace_active(platform=platform).passed


def test_kubernetes_health_sensor_records_failed_checks_and_ingress(
    unschedulable: KubernetesTarget,
) -> None:
    """Restart counts are not shown here (kwok runs no containers): that case stays on the
    stand-in in test_drift_and_checks.py."""
    from assets.cluster.health import evaluate_cluster_health

    result = evaluate_cluster_health(PlatformResource())
    assert isinstance(result, dg.SensorResult)
    checks = {
        e.check_name: e.passed
        for e in result.asset_events
        if isinstance(e, dg.AssetCheckEvaluation)
    }
    assert checks["minio_volumes_bound"] is False
    assert checks["minio_workload_available"] is False
    assert checks["namespace_active"] is True
    (obs,) = [e for e in result.asset_events if isinstance(e, dg.AssetObservation)]
    assert obs.metadata["container_restarts"].value == 0, "a pod never scheduled never ran"
    assert obs.metadata["ingress_present"].value is True, "the apply created minio-ingress"
    assert obs.metadata["cluster_checks_failed"].value >= 2

"""Drift (managed fields: a forced dry-run apply vs the live object) and the sensor that acts on
it; the cluster-only checks."""

from __future__ import annotations

import dagster as dg

from assets.cluster.checks import (
    minio_service_has_endpoints,
    minio_volumes_bound,
    minio_workload_available,
    namespace_active,
)
from assets.cluster.drift import evaluate_drift, kubernetes_drift_sensor_for_tests
from platform_defs.resources.platform import PlatformResource
from platform_defs.targets.kubernetes import KubernetesTarget
from tests.k8s.conftest import DEPLOYMENT, READY
from tests.k8s.fake_apiserver import FakeApiServer

PVC = "/api/v1/namespaces/analytics/persistentvolumeclaims/iceberg-minio"


def test_no_drift_right_after_apply(provisioned: KubernetesTarget, fake: FakeApiServer) -> None:
    assert provisioned.drift() == []
    dry = fake.patches(dry_run=True)
    assert dry and all(r.query["dryRun"] == ["All"] for r in dry)
    assert fake.patches() == [], "a drift check must never write"


def test_a_scaled_deployment_and_a_deleted_object_are_drift(
    provisioned: KubernetesTarget, fake: FakeApiServer
) -> None:
    fake.objects[DEPLOYMENT]["spec"]["replicas"] = 3
    del fake.objects["/api/v1/namespaces/analytics/services/iceberg-minio"]
    drifts = {d.subject: d.differences for d in provisioned.drift()}
    assert drifts == {
        "Deployment/iceberg-minio": ("spec.replicas: live 3, manifests 1",),
        "Service/iceberg-minio": ("missing from the cluster",),
    }


def test_secret_drift_names_keys_not_values(
    provisioned: KubernetesTarget, fake: FakeApiServer
) -> None:
    path = next(p for p in fake.objects if "/secrets/iceberg-minio-" in p)
    fake.objects[path]["data"]["root-password"] = "Y2hhbmdlZA=="  # pragma: allowlist secret
    (drift,) = provisioned.drift()
    assert drift.differences == ("data.root-password: differs",)


def test_sensor_records_an_observation_and_requests_a_reapply(
    provisioned: KubernetesTarget, fake: FakeApiServer
) -> None:
    fake.objects[DEPLOYMENT]["spec"]["replicas"] = 3
    result = evaluate_drift(PlatformResource())
    assert isinstance(result, dg.SensorResult)
    (run,) = result.run_requests or []
    assert run.run_key and run.run_key.startswith("drift-")
    (obs,) = result.asset_events or []
    assert isinstance(obs, dg.AssetObservation) and obs.asset_key == dg.AssetKey("object_store")
    assert obs.metadata["drifted_count"].value == 1
    assert evaluate_drift(PlatformResource()).run_requests[0].run_key == run.run_key  # type: ignore[union-attr]


def test_sensor_tick_through_dagster(provisioned: KubernetesTarget, fake: FakeApiServer) -> None:
    sensor = kubernetes_drift_sensor_for_tests()
    fake.objects[DEPLOYMENT]["spec"]["replicas"] = 2
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            instance=instance, resources={"platform": PlatformResource()}
        )
        data = sensor.evaluate_tick(context)
    assert len(data.run_requests or []) == 1
    assert sensor.job_name == "reapply_platform_manifests"


def test_sensor_skips_when_nothing_drifted(provisioned: KubernetesTarget) -> None:
    result = evaluate_drift(PlatformResource())
    assert isinstance(result, dg.SkipReason) and "match" in (result.skip_message or "")


def test_sensor_skips_on_the_local_target() -> None:
    result = evaluate_drift(PlatformResource())
    assert isinstance(result, dg.SkipReason)
    assert "not applicable on the local target" in (result.skip_message or "")


def test_checks_pass_on_a_healthy_store(provisioned: KubernetesTarget, fake: FakeApiServer) -> None:
    fake.objects[PVC]["status"] = {"phase": "Bound"}
    fake.objects["/api/v1/namespaces/analytics"]["status"] = {"phase": "Active"}
    fake.put(
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "iceberg-minio-8xk2p",
                "namespace": "analytics",
                "labels": {"kubernetes.io/service-name": "iceberg-minio"},
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["192.0.2.17"], "conditions": {"ready": True}}],
            "ports": [{"name": "api", "port": 9000, "protocol": "TCP"}],
        }
    )
    platform = PlatformResource()
    for check in (
        namespace_active,
        minio_workload_available,
        minio_volumes_bound,
        minio_service_has_endpoints,
    ):
        result = check(platform=platform)
        assert result.passed, f"{check.name}: {result.description}"


def test_checks_fail_with_the_reason(provisioned: KubernetesTarget, fake: FakeApiServer) -> None:
    fake.objects[PVC]["status"] = {"phase": "Pending"}
    fake.objects[DEPLOYMENT]["status"] = {**READY, "availableReplicas": 0}
    fake.status_script.clear()
    platform = PlatformResource()
    assert "not bound: {'iceberg-minio': 'Pending'}" in (
        minio_volumes_bound(platform=platform).description or ""
    )
    workload = minio_workload_available(platform=platform)
    assert not workload.passed and "0/1 available" in (workload.description or "")
    endpoints = minio_service_has_endpoints(platform=platform)
    assert not endpoints.passed and "0 of " in (endpoints.description or "")


def test_kubernetes_health_sensor_records_checks_restarts_and_ingress(
    provisioned: KubernetesTarget, fake: FakeApiServer
) -> None:
    from assets.cluster.health import evaluate_cluster_health

    fake.objects[PVC]["status"] = {"phase": "Pending"}
    fake.put(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "iceberg-minio-7d9f-abcde",
                "namespace": "analytics",
                "labels": {"app.kubernetes.io/name": "minio"},
            },
            "status": {"containerStatuses": [{"name": "minio", "restartCount": 4}]},
        }
    )
    result = evaluate_cluster_health(PlatformResource())
    assert isinstance(result, dg.SensorResult)
    checks = {
        e.check_name: e.passed
        for e in result.asset_events
        if isinstance(e, dg.AssetCheckEvaluation)
    }
    assert checks["minio_volumes_bound"] is False
    (obs,) = [e for e in result.asset_events if isinstance(e, dg.AssetObservation)]
    assert obs.metadata["container_restarts"].value == 4
    assert obs.metadata["ingress_present"].value is True, "the apply created minio-ingress"
    assert obs.metadata["cluster_checks_failed"].value >= 1


def test_kubernetes_health_sensor_skips_on_the_local_target() -> None:
    from assets.cluster.health import evaluate_cluster_health

    result = evaluate_cluster_health(PlatformResource())
    assert isinstance(result, dg.SkipReason)

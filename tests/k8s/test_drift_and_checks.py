"""The drift and health sensors where no cluster is involved (the local target skips them), and
the one health-sensor case the real control plane cannot show: container restarts. Drift, the
drift sensor and the cluster checks run on the loopback control plane in
test_drift_and_checks_live.py."""

from __future__ import annotations

import dagster as dg

from assets.cluster.drift import evaluate_drift
from platform_defs.resources.platform import PlatformResource
from platform_defs.targets.kubernetes import KubernetesTarget
from tests.k8s.fake_apiserver import FakeApiServer

PVC = "/api/v1/namespaces/analytics/persistentvolumeclaims/iceberg-minio"


def test_sensor_skips_on_the_local_target() -> None:
    result = evaluate_drift(PlatformResource())
    assert isinstance(result, dg.SkipReason)
    assert "not applicable on the local target" in (result.skip_message or "")


def test_kubernetes_health_sensor_records_checks_restarts_and_ingress(
    provisioned: KubernetesTarget, fake: FakeApiServer
) -> None:
    """On the stand-in because a restart count needs a container that restarts: kwok runs no
    containers and its pod stages own every pod's status, so a live pod never shows 4."""
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

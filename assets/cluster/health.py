"""Kubernetes health sensor: the cluster-side view of the object store, recorded every tick.

It evaluates the same cluster checks a run would (workload available, volumes bound, Service
endpoints, namespace active) by invoking them directly, and adds what only matters over time:
container restarts and whether the ingress exists. Like the store-health sensor it records an
observation and check evaluations without launching a run. Local target: it skips (the
target has no cluster).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from platform_defs.errors import NotOnThisTargetError, PlatformError
from platform_defs.resources.platform import PlatformResource
from platform_defs.settings import PlatformSettings

if TYPE_CHECKING:  # the kubernetes client loads on the first tick that has a cluster
    from platform_defs.k8s.cluster import Cluster

MINIO_PODS = "app.kubernetes.io/name=minio"
INGRESS = "minio-ingress"


def evaluate_cluster_health(platform: PlatformResource) -> dg.SensorResult | dg.SkipReason:
    settings, target = platform.settings(), platform.target()
    cluster: Cluster | PlatformError
    try:
        cluster = target.cluster()
    except NotOnThisTargetError as exc:
        return dg.SkipReason(str(exc))
    except PlatformError as exc:
        cluster = exc  # the checks below say why, each as a failed evaluation
    from platform_defs.k8s import live

    from .checks import CHECKS

    events: list[dg.AssetObservation | dg.AssetCheckEvaluation] = []
    for check in CHECKS:
        (key,) = check.check_keys
        result = check(platform=platform)
        assert isinstance(result, dg.AssetCheckResult)
        events.append(
            dg.AssetCheckEvaluation(
                asset_key=key.asset_key,
                check_name=key.name,
                passed=result.passed,
                description=result.description,
                metadata=result.metadata,
            )
        )
    try:
        if isinstance(cluster, PlatformError):
            raise cluster
        restarts = live.container_restarts(cluster, settings.namespace, MINIO_PODS)
        ingress = cluster.get("networking.k8s.io/v1", "Ingress", INGRESS, settings.namespace)
    except PlatformError as exc:
        return (
            dg.SensorResult(asset_events=events, cursor=None) if events else dg.SkipReason(str(exc))
        )
    failed = sum(1 for e in events if isinstance(e, dg.AssetCheckEvaluation) and not e.passed)
    events.append(
        dg.AssetObservation(
            asset_key=dg.AssetKey("object_store"),
            metadata={
                "cluster_checks_failed": dg.MetadataValue.int(failed),
                "container_restarts": dg.MetadataValue.int(sum(restarts.values())),
                "restarts_by_pod": dg.MetadataValue.json(restarts),
                "ingress_present": ingress is not None,
            },
            tags={"platform/observation": "kubernetes-health"},
        )
    )
    return dg.SensorResult(asset_events=events)


def cluster_sensor_status(settings: PlatformSettings) -> dg.DefaultSensorStatus:
    """Cluster sensors run by default on the kubernetes target and stay off on local."""
    if settings.target == "kubernetes":
        return dg.DefaultSensorStatus.RUNNING
    return dg.DefaultSensorStatus.STOPPED


def kubernetes_health_sensor(settings: PlatformSettings) -> dg.SensorDefinition:
    @dg.sensor(
        name="kubernetes_health",
        minimum_interval_seconds=settings.health_interval_seconds,
        default_status=cluster_sensor_status(settings),
        description="MinIO's workload availability, restarts, PVCs, Service endpoints and "
        "ingress on the cluster, recorded on object_store every tick (kubernetes target).",
    )
    def kubernetes_health(
        context: dg.SensorEvaluationContext, platform: PlatformResource
    ) -> dg.SensorResult | dg.SkipReason:
        return evaluate_cluster_health(platform)

    return kubernetes_health

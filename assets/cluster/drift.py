"""Drift on the cluster: the sensor that compares the live objects with the fields the
platform manages, and the re-apply job it requests.

Loads and validates without a cluster: nothing connects before a sensor tick runs.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import dagster as dg

from platform_defs.errors import NotOnThisTargetError, PlatformError
from platform_defs.resources.platform import PlatformResource
from platform_defs.settings import PlatformSettings

from .health import cluster_sensor_status

if TYPE_CHECKING:  # the kubernetes client loads only when a cluster is used
    from platform_defs.k8s.drift import Drift

NAMESPACE_KEY = dg.AssetKey("analytics_namespace")
STORE_KEY = dg.AssetKey("object_store")

reapply_platform_manifests = dg.define_asset_job(
    name="reapply_platform_manifests",
    selection=dg.AssetSelection.assets(NAMESPACE_KEY, STORE_KEY),
    executor_def=dg.in_process_executor,
    description="Re-apply the namespace and MinIO manifests (what the drift sensor requests).",
)


def drift_events(drifts: list[Drift]) -> list[dg.AssetObservation]:
    """One observation per affected asset: the Namespace belongs to analytics_namespace."""
    by_asset: dict[dg.AssetKey, list[Drift]] = {}
    for d in drifts:
        key = NAMESPACE_KEY if d.subject.startswith("Namespace/") else STORE_KEY
        by_asset.setdefault(key, []).append(d)
    return [
        dg.AssetObservation(
            asset_key=key,
            description="Live Kubernetes objects drifted from the fields the platform manages "
            "(changed, conflict) or carry fields other managers set (foreign).",
            metadata={
                "drifted_objects": dg.MetadataValue.json([d.as_metadata() for d in items]),
                "drifted_count": len(items),
                "foreign_fields": sum(len(d.of_kind("foreign")) for d in items),
            },
        )
        for key, items in by_asset.items()
    ]


def _run_key(drifts: list[Drift]) -> str:
    """The same drift requests one run; a new difference requests another."""
    payload = json.dumps([d.as_metadata() for d in drifts], sort_keys=True)
    return "drift-" + hashlib.sha256(payload.encode()).hexdigest()[:16]


def evaluate_drift(platform: PlatformResource) -> dg.SensorResult | dg.SkipReason:
    try:
        drifts = platform.target().drift()
    except NotOnThisTargetError as exc:
        return dg.SkipReason(str(exc))
    except PlatformError as exc:
        return dg.SkipReason(f"drift not checked: {exc}")
    if not drifts:
        return dg.SkipReason("live objects match the rendered manifests")
    # Foreign fields alone are recorded, not repaired, unless the setting lets repair remove
    # them: a re-apply would change nothing and the same run would be requested every tick.
    remove = platform.settings().k8s_remove_foreign_fields
    repair = [d for d in drifts if d.needs_repair(remove)]
    runs = (
        [dg.RunRequest(run_key=_run_key(repair), tags={"trigger": "k8s-drift"})] if repair else []
    )
    return dg.SensorResult(run_requests=runs, asset_events=drift_events(drifts))


def drift_sensor(settings: PlatformSettings) -> dg.SensorDefinition:
    status = cluster_sensor_status(settings)

    @dg.sensor(
        name="kubernetes_drift",
        job=reapply_platform_manifests,
        minimum_interval_seconds=300,
        default_status=status,
        description="The fields the platform manages (managedFields) vs the live objects: "
        "records changed, conflicting and foreign fields; requests a re-apply run for what a "
        "re-apply repairs.",
    )
    def kubernetes_drift(
        context: dg.SensorEvaluationContext, platform: PlatformResource
    ) -> dg.SensorResult | dg.SkipReason:
        return evaluate_drift(platform)

    return kubernetes_drift


def kubernetes_drift_sensor_for_tests() -> dg.SensorDefinition:
    """The sensor as the definitions build it for the kubernetes target."""
    from platform_defs.settings import load_settings

    return drift_sensor(load_settings())

"""The cluster domain: checks on MinIO's workload, volumes and Service, the health and drift
sensors, and the re-apply job, side by side.

Cluster checks are defined only on the kubernetes target (on local, a green "not applicable"
check would read like evidence); the sensors and the job are always there, stopped on local,
so the UI shows the same code location on both targets.
"""

from __future__ import annotations

import dagster as dg

from platform_defs.settings import PlatformSettings

from .drift import drift_sensor, reapply_platform_manifests
from .health import kubernetes_health_sensor


def cluster_definitions(settings: PlatformSettings) -> dg.Definitions:
    checks: list[dg.AssetChecksDefinition] = []
    if settings.target == "kubernetes":  # the kubernetes client costs ~0.4 s of every load
        from .checks import CHECKS

        checks = list(CHECKS)
    return dg.Definitions(
        asset_checks=checks,
        jobs=[reapply_platform_manifests],
        sensors=[drift_sensor(settings), kubernetes_health_sensor(settings)],
    )

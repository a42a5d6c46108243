"""Health checks that sensors record every tick and the platform_health job runs on schedule."""

import dagster as dg

from assets.platform import object_store
from platform_defs.resources.platform import PlatformResource
from platform_defs.sensors.store_health import HEALTH_CHECK_NAME, evaluate_store


@dg.asset_check(
    asset=object_store,
    name=HEALTH_CHECK_NAME,
    description="Live health classification (UP, STARTING, NOT_READY, DEGRADED, READ_ONLY, "
    "DOWN) from the store's health endpoints and an S3 canary under the reserved prefix. The "
    "object_store_health sensor records it every tick without a run.",
)
def object_store_health(platform: PlatformResource) -> dg.AssetCheckResult:
    report = evaluate_store(platform)
    return dg.AssetCheckResult(
        passed=report.status.healthy,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{report.status.value}: {report.detail}",
        metadata={k: v for k, v in report.metadata().items() if v is not None},  # type: ignore[misc]
    )

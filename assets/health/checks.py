"""Health checks that sensors record every tick and the platform_health job runs on schedule."""

import dagster as dg

from platform_defs.iceberg.warehouse_health import check_warehouse
from platform_defs.resources.platform import PlatformResource

from ..platform.provision import object_store
from .store_health import HEALTH_CHECK_NAME, evaluate_store


@dg.asset_check(
    asset=object_store,
    name=HEALTH_CHECK_NAME,
    description="Live health classification (UP, STARTING, NOT_READY, DEGRADED, READ_ONLY, "
    "CREDENTIALS_INVALID, DOWN) from the store's health endpoints and an S3 canary under the "
    "reserved prefix. The object_store_health sensor records it every tick without a run.",
)
def object_store_health(platform: PlatformResource) -> dg.AssetCheckResult:
    report = evaluate_store(platform)
    return dg.AssetCheckResult(
        passed=report.status.healthy,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{report.status.value}: {report.detail}",
        metadata={k: v for k, v in report.metadata().items() if v is not None},  # type: ignore[misc]
    )


@dg.asset_check(
    asset="iceberg_warehouse",
    name="warehouse_tables_healthy",
    description="Every table's current snapshot is readable, and snapshot and small-file counts "
    "are under PLATFORM_WAREHOUSE_MAX_SNAPSHOTS / PLATFORM_WAREHOUSE_MAX_SMALL_FILES (over them, "
    "the nightly iceberg_maintenance job is due).",
)
def warehouse_tables_healthy(platform: PlatformResource) -> dg.AssetCheckResult:
    settings = platform.settings()
    if settings.catalog_type == "hadoop":
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description="pyiceberg cannot inspect hadoop-catalog tables",
        )
    health = check_warehouse(settings, platform.endpoint())
    problems = health.problems(settings)
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(problems) or health.detail,
        metadata={
            "tables": dg.MetadataValue.int(len(health.tables)),
            "max_snapshots": dg.MetadataValue.int(
                max((t.snapshots for t in health.tables), default=0)
            ),
            "small_files": dg.MetadataValue.int(sum(t.small_files for t in health.tables)),
            "data_files": dg.MetadataValue.int(sum(t.data_files for t in health.tables)),
            "latency_ms": dg.MetadataValue.float(
                round(sum((t.latency_ms for t in health.tables), 0.0), 2)
            ),
        },
    )

"""Platform assets: the namespace the data components live in, and the object store itself."""

import time
from datetime import UTC, datetime

import dagster as dg

from platform_defs.resources.platform import PlatformResource

OWNERS = ["team:data-platform"]
TAGS = {"domain": "platform"}


@dg.asset(
    deps=["platform_preflight"],  # by key: assets/platform/preflight.py is loaded as its own module
    group_name="platform",
    owners=OWNERS,
    tags=TAGS,
    kinds={"kubernetes"},
    description="The isolation boundary for all data components: the `analytics` Kubernetes "
    "namespace on a cluster, the platform's own state root for that namespace locally.",
)
def analytics_namespace(
    context: dg.AssetExecutionContext, platform: PlatformResource
) -> dg.MaterializeResult[None]:
    info = platform.target().ensure_namespace()
    context.log.info(f"namespace {info.name} ({info.kind}) at {info.location}")
    return dg.MaterializeResult(
        metadata={
            "name": info.name,
            "kind": info.kind,
            "location": dg.MetadataValue.path(info.location)
            if info.kind == "local-state-root"
            else info.location,
            "created": info.created,
            "labels": dg.MetadataValue.json(info.labels),
            **info.details,
        }
    )


@dg.asset(
    deps=[analytics_namespace],
    group_name="platform",
    owners=OWNERS,
    tags=TAGS,
    kinds={"s3"},
    description="The running S3-compatible object store (embedded SeaweedFS/MinIO process "
    "locally, MinIO in the cluster). Starting is idempotent: a healthy server is reused.",
)
def object_store(
    context: dg.AssetExecutionContext, platform: PlatformResource
) -> dg.MaterializeResult[None]:
    info = platform.target().ensure_store()
    ready = platform.object_store(info.endpoint).wait_ready(
        platform.settings().store_start_timeout_seconds
    )
    context.log.info(f"object store {info.action}: {info.endpoint.url} ({info.backend})")
    metadata: dict[str, object] = {
        "endpoint": dg.MetadataValue.url(info.endpoint.url),
        "backend": info.backend,
        "version": info.version,
        "action": info.action,
        "data_dir": dg.MetadataValue.path(info.data_location),
        "provision_seconds": dg.MetadataValue.float(round(info.seconds + ready, 3)),
        **info.details,
    }
    if info.endpoint.console_url:
        metadata["console"] = dg.MetadataValue.url(info.endpoint.console_url)
    return dg.MaterializeResult(metadata=metadata)  # type: ignore[arg-type]


@dg.asset_check(
    asset=object_store,
    blocking=True,
    description="The store answers an authenticated call and a throw-away bucket can be "
    "created, written, read and removed.",
)
def object_store_healthy(
    context: dg.AssetCheckExecutionContext, platform: PlatformResource
) -> dg.AssetCheckResult:
    store = platform.object_store()
    result = store.bucket_canary(run_started=_run_started(context))
    context.log.info(f"check object_store_healthy: {result.detail} in {result.latency_ms:.0f} ms")
    return dg.AssetCheckResult(
        passed=result.ok,
        severity=dg.AssetCheckSeverity.ERROR,
        description=result.detail,
        metadata={
            "canary_latency_ms": dg.MetadataValue.float(round(result.latency_ms, 2)),
            "endpoint": dg.MetadataValue.url(store.endpoint.url),
        },
    )


def _run_started(context: dg.AssetCheckExecutionContext) -> datetime:
    """When this run started: canary buckets older than that belong to runs that died."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    started = record.start_time if record is not None and record.start_time else time.time()
    return datetime.fromtimestamp(started, UTC)

"""Storage assets: the `datalake` bucket everything else writes into."""

import dagster as dg

from platform_defs.resources.platform import PlatformResource

from .provision import OWNERS, object_store

TAGS = {"domain": "storage"}


@dg.asset(
    deps=[object_store],
    group_name="storage",
    owners=OWNERS,
    tags=TAGS,
    kinds={"s3"},
    description="The data-lake bucket, created once and kept versioned so an overwrite or "
    "delete can be undone. Re-materializing changes nothing.",
)
def datalake_bucket(
    context: dg.AssetExecutionContext, platform: PlatformResource
) -> dg.MaterializeResult[None]:
    bucket = platform.settings().bucket
    store = platform.object_store()
    created = store.ensure_bucket(bucket)
    versioning_changed = store.ensure_versioning(bucket)
    stats = store.bucket_stats(bucket)
    context.log.info(
        f"bucket {bucket}: {'created' if created else 'exists'}, "
        f"versioning {'enabled now' if versioning_changed else 'already on'}"
    )
    return dg.MaterializeResult(
        metadata={
            "bucket": bucket,
            "uri": f"s3://{bucket}",
            "endpoint": dg.MetadataValue.url(store.endpoint.url),
            "created": created,
            "versioning": store.versioning_status(bucket),
            "versioning_changed": versioning_changed,
            "object_count": dg.MetadataValue.int(stats.objects),
            "total_bytes": dg.MetadataValue.int(stats.bytes),
            "object_versions": dg.MetadataValue.int(stats.versions),
        }
    )


@dg.asset_check(
    asset=datalake_bucket,
    blocking=True,
    description="The bucket exists, versioning is on, and the platform's credentials can "
    "write, read and delete under the reserved canary prefix.",
)
def datalake_bucket_writable(
    context: dg.AssetCheckExecutionContext, platform: PlatformResource
) -> dg.AssetCheckResult:
    bucket = platform.settings().bucket
    store = platform.object_store()
    if not store.bucket_exists(bucket):
        return dg.AssetCheckResult(passed=False, description=f"bucket {bucket} does not exist")
    versioning = store.versioning_status(bucket)
    canary = store.object_canary(bucket)
    passed = versioning == "Enabled" and canary.ok
    context.log.info(
        f"check datalake_bucket_writable: {'passed' if passed else 'FAILED'}: "
        f"versioning={versioning}; {canary.detail}"
    )
    return dg.AssetCheckResult(
        passed=passed,
        description=f"versioning={versioning}; {canary.detail}",
        metadata={
            "versioning": versioning,
            "canary_latency_ms": dg.MetadataValue.float(round(canary.latency_ms, 2)),
        },
    )

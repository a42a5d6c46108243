"""Object-store metrics sensor: capacity and usage recorded as numeric observation metadata,
so the UI plots them over time on the `object_store` asset."""

from __future__ import annotations

import dagster as dg

from platform_defs.clients.metrics import store_metrics
from platform_defs.errors import PlatformError
from platform_defs.resources.platform import PlatformResource
from platform_defs.settings import PlatformSettings


def build_store_metrics_sensor(settings: PlatformSettings) -> dg.SensorDefinition:
    @dg.sensor(
        name="object_store_metrics",
        minimum_interval_seconds=settings.metrics_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Records capacity, usage, objects and node/drive counts (MinIO metrics) or "
        "bucket objects and bytes (other S3 servers) on object_store.",
    )
    def object_store_metrics(
        context: dg.SensorEvaluationContext, platform: PlatformResource
    ) -> dg.SensorResult | dg.SkipReason:
        try:
            values = store_metrics(platform.endpoint(), platform.settings().bucket)
        except (PlatformError, OSError) as exc:
            return dg.SkipReason(f"metrics unavailable: {str(exc).splitlines()[0]}")
        except Exception as exc:  # e.g. an HTTP error from the metrics endpoint
            return dg.SkipReason(f"metrics unavailable: {type(exc).__name__}: {exc}")
        metadata = {k: dg.MetadataValue.float(v) for k, v in values.items()}
        observation = dg.AssetObservation(
            asset_key=dg.AssetKey("object_store"),
            metadata=metadata,
            tags={"platform/observation": "metrics"},
        )
        return dg.SensorResult(asset_events=[observation])

    return object_store_metrics

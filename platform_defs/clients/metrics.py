"""Object-store capacity and usage as numbers the Dagster UI can plot.

MinIO publishes Prometheus metrics at /minio/v2/metrics/cluster (public when
MINIO_PROMETHEUS_AUTH_TYPE=public, as the manifests set it); the series worth plotting are
picked out below. Other S3 servers get what the S3 API itself can tell: objects, bytes and
versions in the data-lake bucket.
"""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families

from platform_defs.clients.s3 import ObjectStore
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import PlatformError

MINIO_METRICS_PATH = "/minio/v2/metrics/cluster"
# Prometheus series -> metadata key (summed over label sets, e.g. per-server gauges).
MINIO_SERIES = {
    "minio_cluster_capacity_raw_total_bytes": "capacity_raw_total_bytes",
    "minio_cluster_capacity_usable_total_bytes": "capacity_usable_total_bytes",
    "minio_cluster_capacity_usable_free_bytes": "capacity_usable_free_bytes",
    "minio_cluster_usage_total_bytes": "usage_total_bytes",
    "minio_cluster_usage_object_total": "usage_objects",
    "minio_cluster_nodes_online_total": "nodes_online",
    "minio_cluster_nodes_offline_total": "nodes_offline",
    "minio_cluster_drive_online_total": "drives_online",
    "minio_cluster_drive_offline_total": "drives_offline",
}


def parse_prometheus(text: str, *, source: str = "the metrics endpoint") -> dict[str, float]:
    """Sum each series of interest over its label sets; unknown series are ignored. Parsed by
    prometheus_client's own parser, which also reads what a hand-written line match would get
    wrong (escaped quotes in label values, timestamps, counters' `_total` samples)."""
    out: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = MINIO_SERIES.get(sample.name)
                if key is not None:
                    out[key] = out.get(key, 0.0) + float(sample.value)
    except ValueError as exc:
        raise PlatformError(
            f"{source} did not answer with Prometheus text ({str(exc)[:120]}). Point it at "
            "MinIO's metrics with MINIO_PROMETHEUS_AUTH_TYPE=public (the manifests set it), or "
            "disable the object_store_metrics sensor."
        ) from None
    return out


def scrape_minio(endpoint: StoreEndpoint, timeout: float = 3.0) -> dict[str, float]:
    resp = requests.get(endpoint.url + MINIO_METRICS_PATH, timeout=timeout, verify=endpoint.verify)
    resp.raise_for_status()
    return parse_prometheus(resp.text, source=resp.url)


def store_metrics(endpoint: StoreEndpoint, bucket: str, timeout: float = 5.0) -> dict[str, float]:
    """MinIO's cluster series when the backend is MinIO, else the bucket's S3-API totals."""
    if endpoint.backend == "minio":
        return scrape_minio(endpoint, timeout)
    stats = ObjectStore(endpoint, timeout=timeout).bucket_stats(bucket)
    return {
        "bucket_objects": float(stats.objects),
        "bucket_bytes": float(stats.bytes),
        "bucket_object_versions": float(stats.versions),
    }

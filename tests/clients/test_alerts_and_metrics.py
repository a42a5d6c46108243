"""The alert hook and the metrics scrape over real HTTP on 127.0.0.1.

The webhook and the metrics endpoint are `tests/http_stub.py`: stand-ins for a user's webhook
receiver and for MinIO's /minio/v2/metrics/cluster (no MinIO binary runs on
these machines). The bucket-totals path runs against the session's real S3 server.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace

import pytest

from platform_defs.clients.alerts import send_alert
from platform_defs.clients.metrics import MINIO_METRICS_PATH, scrape_minio, store_metrics
from platform_defs.clients.s3 import ObjectStore
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import PlatformError
from tests import http_stub
from tests.http_stub import HttpStub
from tests.s3_servers import free_port

METRICS = """# HELP minio_cluster_usage_total_bytes Total cluster usage in bytes
# TYPE minio_cluster_usage_total_bytes gauge
minio_cluster_usage_total_bytes{server="a"} 100
minio_cluster_usage_total_bytes{server="b"} 23
minio_cluster_nodes_online_total{server="a"} 4
"""


@pytest.fixture
def server() -> Iterator[HttpStub]:
    with http_stub.running() as stub:
        yield stub


def test_an_accepted_alert_carries_event_summary_and_fields(server: HttpStub) -> None:
    assert send_alert(server.url, "store_down", "MinIO is down", attempts=3) is True
    (payload,) = server.received
    assert isinstance(payload, dict)
    assert (payload["event"], payload["summary"], payload["attempts"]) == (
        "store_down",
        "MinIO is down",
        3,
    )


def test_an_undeliverable_alert_is_false_never_an_exception(server: HttpStub) -> None:
    assert send_alert(None, "store_down", "no hook configured") is False
    server.status = 500
    assert send_alert(server.url, "store_down", "hook fails") is False
    assert send_alert(f"http://127.0.0.1:{free_port()}", "store_down", "nobody listens") is False


def test_minio_metrics_are_summed_over_label_sets(
    server: HttpStub, s3_endpoint: StoreEndpoint
) -> None:
    server.body = METRICS.encode()
    minio = replace(s3_endpoint, url=server.url, backend="minio")
    assert scrape_minio(minio) == {"usage_total_bytes": 123.0, "nodes_online": 4.0}
    assert store_metrics(minio, "unused") == scrape_minio(minio)
    assert ("GET", MINIO_METRICS_PATH) in server.received


def test_a_metrics_endpoint_that_is_not_prometheus_says_what_to_do(
    server: HttpStub, s3_endpoint: StoreEndpoint
) -> None:
    server.body = b"<html>login</html>{"
    with pytest.raises(PlatformError, match="MINIO_PROMETHEUS_AUTH_TYPE=public"):
        scrape_minio(replace(s3_endpoint, url=server.url, backend="minio"))


def test_other_stores_report_the_buckets_s3_totals(s3_endpoint: StoreEndpoint) -> None:
    store = ObjectStore(s3_endpoint)
    bucket = f"metrics-{free_port()}"
    store.ensure_bucket(bucket)
    store.client.put_object(bucket, "a/b.txt", io.BytesIO(b"12345"), 5)
    totals = store_metrics(replace(s3_endpoint, backend="seaweedfs"), bucket)
    assert totals["bucket_objects"] == 1.0 and totals["bucket_bytes"] == 5.0

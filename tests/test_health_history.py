"""ops.health_history and the metrics sensor, against the real S3 server and a real catalog."""

from __future__ import annotations

import dagster as dg
import pytest

from platform_defs.clients.metrics import parse_prometheus
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import PlatformError
from platform_defs.iceberg import health_table
from platform_defs.iceberg.catalog import load_catalog
from platform_defs.resources.platform import PlatformResource
from platform_defs.settings import load_settings
from tests.test_bootstrap_graph import SPINE, materialization_metadata, run_bootstrap

# A stand-in for MinIO's /minio/v2/metrics/cluster exposition (no MinIO runs here): the
# series names, label shapes and HELP/TYPE lines are MinIO's.
MINIO_EXPOSITION = """\
# HELP minio_cluster_capacity_raw_total_bytes Total capacity online in the cluster
# TYPE minio_cluster_capacity_raw_total_bytes gauge
minio_cluster_capacity_raw_total_bytes{server="127.0.0.1:9000"} 8.589934592e+09
minio_cluster_capacity_usable_free_bytes{server="127.0.0.1:9000"} 6.0e+09
minio_cluster_usage_total_bytes{server="127.0.0.1:9000"} 1234567
minio_cluster_usage_object_total{server="127.0.0.1:9000"} 42
minio_cluster_nodes_online_total{server="a"} 3
minio_cluster_nodes_online_total{server="b"} 1
minio_cluster_drive_offline_total{server="a"} 0
minio_node_process_uptime_seconds{server="a"} 99
"""


def test_minio_metrics_are_parsed_and_summed() -> None:
    values = parse_prometheus(MINIO_EXPOSITION)
    assert values["capacity_raw_total_bytes"] == 8589934592.0
    assert values["usage_objects"] == 42 and values["usage_total_bytes"] == 1234567
    assert values["nodes_online"] == 4, "summed over label sets"
    assert values["drives_offline"] == 0 and "minio_node_process_uptime_seconds" not in values


def test_metrics_that_are_not_prometheus_text_are_one_clear_error() -> None:
    """An HTML login page or a proxy's error text where the exposition should be: said once,
    with where it came from, instead of silently recording nothing."""
    with pytest.raises(PlatformError) as err:
        parse_prometheus("<html><body>Sign in</body></html>\n", source="http://x/minio/v2")
    message = str(err.value)
    assert "http://x/minio/v2" in message and "Prometheus text" in message
    assert "MINIO_PROMETHEUS_AUTH_TYPE" in message


@pytest.mark.slow
def test_metrics_sensor_records_bucket_totals(external_store_env: dict[str, str]) -> None:
    from platform_defs.definitions import defs

    assert run_bootstrap().success
    sensor = defs.resolve_sensor_def("object_store_metrics")
    ctx = dg.build_sensor_context(resources={"platform": PlatformResource()})
    result = sensor(ctx)
    assert isinstance(result, dg.SensorResult)
    observation = result.asset_events[0]
    assert isinstance(observation, dg.AssetObservation)
    assert observation.metadata["bucket_objects"].value == 0.0
    assert "bucket_bytes" in observation.metadata


@pytest.mark.slow
def test_health_runs_are_recorded_once_each(
    external_store_env: dict[str, str], s3_endpoint: StoreEndpoint
) -> None:
    from platform_defs.definitions import defs

    instance = dg.DagsterInstance.ephemeral()
    assert run_bootstrap(instance, assets=[*SPINE, dg.AssetKey("iceberg_warehouse")]).success
    health = defs.resolve_job_def("platform_health").execute_in_process(
        instance=instance, raise_on_error=False
    )
    evaluations = health.get_asset_check_evaluations()
    assert evaluations, "the health job evaluated checks"

    recorder = defs.resolve_sensor_def("health_history_recorder")
    first = recorder(dg.build_sensor_context(instance=instance))
    assert isinstance(first, dg.SensorResult) and first.run_requests
    assert [r.run_key for r in first.run_requests] == [health.run_id]
    again = recorder(dg.build_sensor_context(instance=instance, cursor=first.cursor))
    assert isinstance(again, dg.SensorResult) and not again.run_requests

    job = defs.resolve_job_def("record_health_history")
    config = first.run_requests[0].run_config
    once = job.execute_in_process(instance=instance, run_config=config)
    twice = job.execute_in_process(instance=instance, run_config=config)
    assert materialization_metadata(once, "health_history")["rows_appended"] == len(evaluations)
    assert materialization_metadata(twice, "health_history")["rows_appended"] == 0
    assert all(e.passed for e in twice.get_asset_check_evaluations())

    table = load_catalog(load_settings(), s3_endpoint).load_table(health_table.TABLE)
    rows = table.scan().to_arrow().to_pylist()
    assert len(rows) == len(evaluations) and {r["run_id"] for r in rows} == {health.run_id}
    store = next(r for r in rows if r["check"] == "object_store_health")
    assert store["status"] == "UP" and store["passed"] and store["latency_ms"] is not None
    assert store["time"].tzinfo is not None

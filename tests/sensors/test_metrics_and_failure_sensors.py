"""The metrics sensor against the session's real S3 server, and the run-failure alert on a
real failed run of an ephemeral Dagster instance, posted to a local webhook stand-in."""

from __future__ import annotations

import dagster as dg
import pytest

from assets.health.store_metrics import build_store_metrics_sensor
from assets.platform.run_failure import platform_run_failure_alert
from platform_defs.resources.platform import PlatformResource
from platform_defs.settings import load_settings
from tests import http_stub
from tests.s3_servers import free_port


def test_metrics_sensor_records_the_buckets_totals(external_store_env: dict[str, str]) -> None:
    platform = PlatformResource()
    platform.object_store().ensure_bucket(platform.settings().bucket)
    sensor = build_store_metrics_sensor(load_settings())
    with dg.build_sensor_context(resources={"platform": PlatformResource()}) as context:
        result = sensor(context)
    assert isinstance(result, dg.SensorResult), result
    (observation,) = result.asset_events
    assert observation.asset_key == dg.AssetKey("object_store")
    assert {"bucket_objects", "bucket_bytes"} <= set(observation.metadata)


def test_metrics_sensor_skips_saying_why_when_the_store_is_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLATFORM_S3_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("PLATFORM_CREDENTIALS_SOURCE", "env")
    monkeypatch.setenv("PLATFORM_S3_ACCESS_KEY", "metrics-test-key")
    monkeypatch.setenv("PLATFORM_S3_SECRET_KEY", "metrics-test-secret-0123")
    sensor = build_store_metrics_sensor(load_settings())
    with dg.build_sensor_context(resources={"platform": PlatformResource()}) as context:
        result = sensor(context)
    assert isinstance(result, dg.SkipReason)
    assert "metrics unavailable" in str(result.skip_message)


@dg.asset
def always_fails() -> None:
    raise RuntimeError("the disk is full")


def test_a_failed_run_is_posted_to_the_webhook(monkeypatch: pytest.MonkeyPatch) -> None:
    with dg.DagsterInstance.ephemeral() as instance, http_stub.running() as hook:
        monkeypatch.setenv("PLATFORM_ALERT_WEBHOOK_URL", hook.url)
        run = dg.materialize([always_fails], instance=instance, raise_on_error=False)
        assert not run.success
        failure = next(e for e in run.all_events if e.event_type_value == "PIPELINE_FAILURE")
        context = dg.build_run_status_sensor_context(
            sensor_name=platform_run_failure_alert.name,
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=run.dagster_run,
        ).for_run_failure()
        platform_run_failure_alert(context)
        (payload,) = hook.received
    assert isinstance(payload, dict)
    assert payload["event"] == "run_failed" and payload["run_id"] == run.run_id
    assert run.run_id in str(payload["summary"])

"""The bootstrap graph and the maintenance job with PLATFORM_SPARK_MODE=connect, in-process
against the real S3 server: their Spark steps go through Dagster Pipes to a child process that
attaches to the platform's Spark Connect server (started by the first step, reused by the next).
`external_store_env` stops the server afterwards, as `make down` would."""

from __future__ import annotations

import dagster as dg
import pytest

from platform_defs.settings import load_settings
from platform_defs.spark_connect.server import SparkConnectServer
from tests import process_guard
from tests.test_bootstrap_graph import check_results, materialization_metadata, run_bootstrap

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def test_bootstrap_and_maintenance_run_their_spark_steps_through_the_server(
    external_store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_SPARK_MODE", "connect")
    instance = dg.DagsterInstance.ephemeral()
    first = run_bootstrap(instance, assets=None)
    server = SparkConnectServer(load_settings())
    state = server.running()
    if state is not None:
        process_guard.register(state.pid, "Spark Connect server (tests/spark_connect graph)")
    assert first.success and all(check_results(first).values())
    assert state is not None, "the lake_inventory step started the Spark Connect server"
    inv = materialization_metadata(first, "lake_inventory")
    assert inv["dagster/row_count"] >= 1 and "spark_seconds" in inv

    from platform_defs.definitions import defs

    maintenance = defs.resolve_job_def("iceberg_maintenance").execute_in_process(instance=instance)
    assert maintenance.success
    assert materialization_metadata(maintenance, "warehouse_maintenance")
    again = server.running()
    assert again is not None and again.pid == state.pid, "maintenance reused the server"

"""The REST catalog server's lifecycle and its access control, against real processes."""

from __future__ import annotations

import os
import signal
import socket

import pyarrow as pa
import pytest
import requests
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import ForbiddenError

from platform_defs import connect
from platform_defs.errors import RestCatalogError
from platform_defs.rest_catalog.server import RestCatalogServer
from tests import process_guard
from tests.rest_catalog.conftest import ROWS, TABLE, Lake, free_port, settings_from

pytestmark = pytest.mark.slow


def test_a_healthy_server_is_reused_and_a_dead_one_restarted(lake: Lake) -> None:
    server = lake.server()
    first = server.running()
    assert first is not None
    again = server.ensure_running(lake.writer)
    assert (again.action, again.state.pid) == ("reused", first.pid)
    os.killpg(first.pid, signal.SIGKILL)  # the server this module started
    restarted = server.ensure_running(lake.writer)
    process_guard.register(restarted.state.pid, "REST catalog server (restarted)")
    assert restarted.action == "restarted" and restarted.state.pid != first.pid
    assert connect.catalog(settings=lake.settings).load_table(TABLE).scan().to_arrow().num_rows


def test_pyiceberg_duckdb_and_polars_read_the_table_through_the_url(lake: Lake) -> None:
    table = connect.catalog(settings=lake.settings).load_table(TABLE)
    assert table.scan().to_arrow().num_rows == ROWS
    con = connect.duckdb(settings=lake.settings)
    assert con.sql(f"SELECT count(*), max(name) FROM lake.{TABLE}").fetchone() == (ROWS, "c")
    frame = connect.polars_scan(TABLE, settings=lake.settings).collect()
    assert sorted(frame["id"].to_list()) == list(range(ROWS))


def test_analyst_can_neither_commit_nor_drop_and_spark_can(lake: Lake) -> None:
    analyst = connect.catalog(settings=lake.settings)
    with pytest.raises(ForbiddenError, match="read-only"):
        analyst.load_table(TABLE).transaction().set_properties(owner="analyst").commit_transaction()
    # Even with keys that may write data files, the analyst's token cannot commit them.
    props = {**connect.catalog_config(write=True, settings=lake.settings)}
    props["token"] = connect.catalog_config(settings=lake.settings)["token"]
    with_writer_keys = RestCatalog("x", **props).load_table(TABLE)
    with pytest.raises(ForbiddenError, match="read-only"):
        with_writer_keys.append(pa.table({"id": pa.array([99], pa.int64()), "name": ["x"]}))
    with pytest.raises(ForbiddenError, match="read-only"):
        analyst.drop_table(TABLE)
    with pytest.raises(ForbiddenError, match="read-only"):
        analyst.create_namespace("analyst_scratch")
    assert analyst.load_table(TABLE).scan().to_arrow().num_rows == ROWS  # nothing changed

    writer = connect.catalog(write=True, settings=lake.settings)
    writer.create_namespace("scratch")
    scratch = writer.create_table("scratch.t", schema=pa.schema([("id", pa.int64())]))
    scratch.append(pa.table({"id": pa.array([1, 2], pa.int64())}))
    assert analyst.load_table("scratch.t").scan().to_arrow().num_rows == 2
    writer.drop_table("scratch.t")
    writer.drop_namespace("scratch")
    assert ("scratch",) not in analyst.list_namespaces()


def test_an_unknown_token_gets_a_clear_401(lake: Lake) -> None:
    url = lake.settings.rest_catalog_url
    resp = requests.get(f"{url}/v1/namespaces", headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401
    assert "Missing or unknown bearer token" in resp.json()["error"]["message"]
    with pytest.raises(Exception, match="unknown bearer token"):
        RestCatalog("x", uri=url, token="not-a-token").list_namespaces()


def test_a_busy_port_is_an_error_naming_the_setting(lake: Lake) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", free_port()))
        holder.listen()
        busy = holder.getsockname()[1]
        env = {**lake.env, "PLATFORM_REST_CATALOG_PORT": str(busy)}
        env["PLATFORM_STATE_DIR"] += "-busy"
        settings = settings_from(env)
        with pytest.raises(RestCatalogError, match=f"Port {busy}.*PLATFORM_REST_CATALOG_PORT"):
            RestCatalogServer(settings).ensure_running(lake.writer)
        assert RestCatalogServer(settings).running() is None


def test_the_asset_reuses_the_server_and_its_check_proves_the_refusal(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    from assets.warehouse.rest_catalog import rest_catalog, rest_catalog_access_control
    from platform_defs.resources.platform import PlatformResource

    for key, value in lake.env.items():
        monkeypatch.setenv(key, value)
    result = dg.materialize(
        [rest_catalog, rest_catalog_access_control], resources={"platform": PlatformResource()}
    )
    assert result.success
    [materialization] = result.asset_materializations_for_node("rest_catalog")
    assert materialization.metadata["action"].value == "reused"
    [check] = result.get_asset_check_evaluations()
    assert check.passed, check.description
    assert check.metadata["write_status"].value == 403


def test_a_table_named_like_a_read_route_is_still_protected(lake: Lake) -> None:
    """`POST .../tables/metrics` commits to a table called metrics; it is not a metrics report."""
    writer = connect.catalog(write=True, settings=lake.settings)
    writer.create_table("ops.metrics", schema=pa.schema([("id", pa.int64())]))
    try:
        analyst = connect.catalog(settings=lake.settings)
        with pytest.raises(ForbiddenError, match="read-only"):
            tx = analyst.load_table("ops.metrics").transaction()
            tx.set_properties(owner="analyst").commit_transaction()
    finally:
        writer.drop_table("ops.metrics")

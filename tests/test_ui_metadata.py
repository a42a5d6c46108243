"""What the UI reads, without starting a process: table metadata in Dagster's standard keys,
catalog tables discovered as assets at load, and the health sensor recording changes (plus a
heartbeat) rather than every tick, with NOT_READY before the first bootstrap."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from assets.health.store_health import (
    HealthCursor,
    build_store_health_sensor,
    record_verdict,
)
from assets.warehouse.tables_sensor import GROUP, discover_table_specs
from platform_defs.iceberg.table_metadata import (
    COLUMN_SCHEMA,
    ROW_COUNT,
    TABLE_NAME,
    URI,
    table_metadata,
)
from platform_defs.resources.platform import PlatformResource
from platform_defs.settings import load_settings


def _sqlite_catalog(tmp_path: Path) -> object:
    """A SQL catalog at the platform's catalog path; data and metadata on the local disk."""
    from pyiceberg.catalog.sql import SqlCatalog

    settings = load_settings()
    settings.catalog_db_path.parent.mkdir(parents=True)
    return SqlCatalog(
        settings.catalog_name,
        uri=f"sqlite:///{settings.catalog_db_path}",
        warehouse=f"file://{tmp_path / 'warehouse'}",
    )


ROWS = pa.table({"event_id": pa.array([1, 2, 3], pa.int64()), "kind": ["a", "b", "c"]})


def test_a_table_reads_in_dagsters_standard_keys(tmp_path: Path) -> None:
    catalog = _sqlite_catalog(tmp_path)
    catalog.create_namespace("raw")  # type: ignore[attr-defined]
    table = catalog.create_table("raw.newcomer_events", schema=ROWS.schema)  # type: ignore[attr-defined]
    empty = table_metadata(table, "lakehouse.raw.newcomer_events")
    assert empty[ROW_COUNT].value == 0 and empty["snapshot_id"].value == "none"
    table.append(ROWS)
    meta = table_metadata(table, "lakehouse.raw.newcomer_events")
    schema = meta[COLUMN_SCHEMA].value
    assert isinstance(schema, dg.TableSchema)
    assert [(c.name, c.type) for c in schema.columns] == [("event_id", "long"), ("kind", "string")]
    assert meta[ROW_COUNT].value == 3 and meta["size_bytes"].value > 0  # type: ignore[operator]
    assert meta[TABLE_NAME].value == "lakehouse.raw.newcomer_events"
    assert str(meta[URI].value).endswith("newcomer_events")
    assert meta["snapshot_id"].value != "none"


def test_tables_in_the_catalog_become_assets_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listed from the catalog database alone, at every code-location load: no table's metadata
    is read (that is an object-store read per table), so the load's cost does not grow with
    the tables' metadata and the store may be down."""
    assert discover_table_specs(load_settings()) == [], "no catalog yet: no specs, no error"
    catalog = _sqlite_catalog(tmp_path)
    for ns in ("raw", "ops"):
        catalog.create_namespace(ns)  # type: ignore[attr-defined]
    catalog.create_table("raw.newcomer_events", schema=ROWS.schema)  # type: ignore[attr-defined]
    catalog.create_table("ops.lake_inventory", schema=ROWS.schema)  # type: ignore[attr-defined]
    from pyiceberg.catalog.sql import SqlCatalog

    def no_metadata_reads(*_: object, **__: object) -> None:
        raise AssertionError("the listing at load read a table's metadata")

    monkeypatch.setattr(SqlCatalog, "load_table", no_metadata_reads)
    specs = discover_table_specs(load_settings(), owners=["team:data-platform"])
    # ops.lake_inventory is the lake_inventory asset already: not listed twice.
    assert [s.key for s in specs] == [dg.AssetKey(["raw", "newcomer_events"])]
    assert specs[0].group_name == GROUP and specs[0].description
    assert specs[0].metadata["dagster/table_name"] == "lakehouse.raw.newcomer_events"


def test_a_broken_catalog_database_gives_no_specs_not_a_failed_load() -> None:
    settings = load_settings()
    settings.catalog_db_path.parent.mkdir(parents=True)
    settings.catalog_db_path.write_bytes(b"this is not a database" * 100)
    assert discover_table_specs(settings) == []


def test_a_verdict_is_recorded_on_change_and_on_the_heartbeat() -> None:
    def tick(previous: HealthCursor, status: str, now: float) -> tuple[HealthCursor, bool, str]:
        cursor = HealthCursor(**{**previous.__dict__, "last_status": status})
        record, why = record_verdict(cursor, previous, now, heartbeat=600)
        return cursor, record, why

    first, record, why = tick(HealthCursor(), "UP", 1000.0)
    assert (record, why) == (True, "first")
    same, record, why = tick(first, "UP", 1030.0)
    assert (record, why) == (False, "no change")
    down, record, why = tick(same, "DOWN", 1060.0)
    assert (record, why) == (True, "changed from UP")
    quiet, record, _ = tick(down, "DOWN", 1600.0)
    assert not record
    _, record, why = tick(quiet, "DOWN", 1660.0)
    assert (record, why) == (True, "heartbeat")


def test_before_the_bootstrap_the_health_sensor_says_not_ready(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLATFORM_HEALTH_DOWN_AFTER", "1")
    settings = load_settings()
    job = dg.define_asset_job("remediate_object_store", selection="object_store")
    sensor = build_store_health_sensor(settings, job)
    instance = dg.DagsterInstance.ephemeral()
    cursor: str | None = None
    results = []
    for _ in range(3):
        context = dg.build_sensor_context(
            cursor=cursor, instance=instance, resources={"platform": PlatformResource()}
        )
        result = sensor(context)
        assert isinstance(result, dg.SensorResult)
        cursor = result.cursor
        results.append(result)
    assert all(not r.run_requests for r in results), "nothing to remediate before a bootstrap"
    messages = [str(r.skip_reason.skip_message) for r in results if r.skip_reason]
    assert len(messages) == 3 and all(m.startswith("NOT_READY (") for m in messages), messages
    assert "bootstrap_platform" in messages[0]
    assert [len(r.asset_events) for r in results] == [2, 0, 0], "recorded once, not every tick"
    assert "(no change;" in messages[1]

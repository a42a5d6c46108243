"""A lost catalog is never silently replaced, and `recover_catalog` brings the tables back.

Against the session's real S3 server and a real SQLite catalog: pyiceberg writes tables in two
namespaces, the catalog file is truncated (to 0 bytes, or to half its size), `iceberg_warehouse`
must fail with one message and leave the file as it was, and the recovery job must register each
table back at its newest metadata file with the exact rows and snapshots it had.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pytest

from platform_defs.clients.s3 import ObjectStore
from platform_defs.definitions import defs
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import CatalogError
from platform_defs.iceberg.catalog import load_catalog
from platform_defs.settings import load_settings
from platform_defs.spark.session import prepare
from tests.test_bootstrap_graph import SPINE, run_bootstrap

pytestmark = pytest.mark.slow
WAREHOUSE = [*SPINE, dg.AssetKey("iceberg_warehouse")]
TABLES = ("raw.events", "raw.devices", "curated.daily")


def _rows(n: int, start: int = 0) -> pa.Table:
    ts = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return pa.table({
        "id": pa.array(range(start, start + n), pa.int64()),
        "name": pa.array([f"row-{i}" for i in range(start, start + n)], pa.string()),
        "ts": pa.array([ts + dt.timedelta(seconds=i) for i in range(n)], pa.timestamp("us", tz="UTC")),
    })  # fmt: skip


def _write_tables(endpoint: StoreEndpoint) -> dict[str, dict[str, Any]]:
    """Three tables in two namespaces; raw.events gets two snapshots. Returns what each holds."""
    catalog = load_catalog(load_settings(), endpoint)
    sizes = {"raw.events": 2500, "raw.devices": 1200, "curated.daily": 800}
    for name, n in sizes.items():
        catalog.create_namespace_if_not_exists(name.split(".")[0])
        catalog.create_table(name, schema=_rows(1).schema).append(_rows(n))
    catalog.load_table("raw.events").append(_rows(1500, start=2500))
    return _state(endpoint)


def _state(endpoint: StoreEndpoint) -> dict[str, dict[str, Any]]:
    catalog = load_catalog(load_settings(), endpoint)
    out = {}
    for name in TABLES:
        table = catalog.load_table(name)
        snapshot = table.current_snapshot()
        assert snapshot is not None
        out[name] = {
            "rows": table.scan().to_arrow().num_rows,
            "snapshot_id": snapshot.snapshot_id,
            "snapshots": [s.snapshot_id for s in table.snapshots()],
            "metadata_location": table.metadata_location,
        }
    return out


def _failure_message(result: dg.ExecuteInProcessResult, step: str) -> str:
    failures = [e for e in result.all_events if e.is_step_failure and e.step_key == step]
    assert len(failures) == 1, [e.event_type_value for e in result.all_events]
    error = failures[0].step_failure_data.error
    assert error is not None
    while error.cause is not None:  # Dagster wraps the asset's own exception
        error = error.cause
    return error.message


def _recover(instance: dg.DagsterInstance, **config: Any) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def("recover_catalog")
    run_config = {"ops": {"recover_catalog_tables": {"config": config}}} if config else None
    return job.execute_in_process(instance=instance, run_config=run_config, raise_on_error=False)


def _recovered(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    out = result.output_for_node("recover_catalog_tables")
    assert isinstance(out, dict)
    return out


def _rewrite_oldest_metadata(endpoint: StoreEndpoint, bucket: str, name: str) -> None:
    """Give a table's FIRST metadata file the newest mtime (as a copy or restore would): the
    recovery must still pick the highest version number."""
    table = load_catalog(load_settings(), endpoint).load_table(name)
    key = table.metadata.metadata_log[0].metadata_file.removeprefix(f"s3://{bucket}/")
    client = ObjectStore(endpoint).client
    body = client.get_object(bucket, key)
    try:
        data = body.read()
    finally:
        body.close()
        body.release_conn()
    client.put_object(bucket, key, io.BytesIO(data), len(data))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_zero_byte_catalog_is_refused_then_recovered_exactly(
    external_store_env: dict[str, str], s3_endpoint: StoreEndpoint
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    assert run_bootstrap(instance, assets=WAREHOUSE).success
    before = _write_tables(s3_endpoint)
    assert before["raw.events"]["rows"] == 4000 and len(before["raw.events"]["snapshots"]) == 2

    settings = load_settings()
    _rewrite_oldest_metadata(s3_endpoint, settings.bucket, "raw.events")
    db = settings.catalog_db_path
    os.truncate(db, 0)
    failed = run_bootstrap(instance, assets=WAREHOUSE, raise_on_error=False)
    assert not failed.success
    message = _failure_message(failed, "iceberg_warehouse")
    for needle in (f"The Iceberg catalog {db} is empty (0 bytes)",
                   f"s3://{settings.bucket}/warehouse/ holds the metadata of 3 tables",
                   "curated.daily, raw.devices, raw.events", "Nothing was changed",
                   'README "Backup and restore"', "recover_catalog", "make recover-catalog"):  # fmt: skip
        assert needle in message, message
    assert db.stat().st_size == 0, "the failed run changed the catalog file"

    recovered = _recovered(_recover(instance))
    assert recovered["registered"] == sorted(TABLES) and recovered["already_registered"] == []
    assert _state(s3_endpoint) == before, "rows, snapshot ids and metadata files are back"

    again = _recovered(_recover(instance))  # idempotent: nothing left to do
    assert again["registered"] == [] and again["already_registered"] == sorted(TABLES)
    assert run_bootstrap(instance, assets=WAREHOUSE).success
    assert _state(s3_endpoint) == before


def test_missing_catalog_file_with_tables_in_the_bucket_is_a_lost_catalog(
    external_store_env: dict[str, str], s3_endpoint: StoreEndpoint
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    assert run_bootstrap(instance, assets=WAREHOUSE).success
    before = _write_tables(s3_endpoint)
    db = load_settings().catalog_db_path
    db.unlink()
    with pytest.raises(CatalogError, match=rf"The Iceberg catalog {db} does not exist, but"):
        load_catalog(load_settings(), s3_endpoint)  # every caller is guarded, not just the asset
    with pytest.raises(CatalogError, match=r"does not exist, but .* holds the metadata of 3"):
        prepare(load_settings(), s3_endpoint)  # Spark's JdbcCatalog would create one too
    assert not db.exists()
    assert not run_bootstrap(instance, assets=WAREHOUSE, raise_on_error=False).success
    assert not db.exists()
    assert _recovered(_recover(instance))["registered"] == sorted(TABLES)
    assert _state(s3_endpoint) == before


def test_half_truncated_catalog_names_the_backup_and_is_kept_by_recovery(
    external_store_env: dict[str, str], s3_endpoint: StoreEndpoint
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    assert run_bootstrap(instance, assets=WAREHOUSE).success
    before = _write_tables(s3_endpoint)
    db = load_settings().catalog_db_path
    os.truncate(db, db.stat().st_size // 2)
    damaged = _sha(db)

    failed = run_bootstrap(instance, assets=WAREHOUSE, raise_on_error=False)
    message = _failure_message(failed, "iceberg_warehouse")
    for needle in (f"The Iceberg catalog {db} cannot be read (", "holds the metadata of 3 tables",
                   'README "Backup and restore"', "recover_catalog", ".corrupt-"):  # fmt: skip
        assert needle in message, message
    assert "Set PLATFORM_CATALOG_URI" not in message, "the fix must fit: restore, not reconfigure"
    assert _sha(db) == damaged, "nothing overwritten"

    recovered = _recovered(_recover(instance))
    kept = Path(recovered["moved_aside"])
    assert kept.parent == db.parent and kept.name.startswith(f"{db.name}.corrupt-")
    assert _sha(kept) == damaged, "the damaged file is kept as it was"
    assert _state(s3_endpoint) == before


def test_recovery_refuses_a_table_registered_elsewhere_and_changes_nothing(
    external_store_env: dict[str, str], s3_endpoint: StoreEndpoint
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    assert run_bootstrap(instance, assets=WAREHOUSE).success
    before = _write_tables(s3_endpoint)
    catalog = load_catalog(load_settings(), s3_endpoint)
    first_metadata = catalog.load_table("raw.events").metadata.metadata_log[0].metadata_file
    for name in ("raw.events", "curated.daily"):
        catalog.drop_table(name)  # the catalog row only; the files stay
    catalog.register_table("raw.events", first_metadata)  # an older version of the table

    refused = _recover(instance)
    assert not refused.success
    message = _failure_message(refused, "recover_catalog_tables")
    for needle in ("raw.events is registered at", first_metadata,
                   before["raw.events"]["metadata_location"], "Nothing was registered"):  # fmt: skip
        assert needle in message, message
    catalog = load_catalog(load_settings(), s3_endpoint)
    assert not catalog.table_exists("curated.daily"), "a refused recovery registers nothing"
    assert catalog.load_table("raw.events").metadata_location == first_metadata

    dry = _recovered(_recover(instance, dry_run=True, skip=["raw.events"]))
    assert dry["registered"] == ["curated.daily"] and not catalog.table_exists("curated.daily")

"""Spark and pyiceberg on one real catalog and one real S3 server (weed), one shared JVM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from pyspark.sql import SparkSession

from assets.spark_jobs import inventory, maintenance
from assets.spark_jobs.context import JobContext
from platform_defs.iceberg.catalog import duckdb_over, load_catalog
from tests.warehouse.conftest import RecordingReporter, Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def _cat(w: Warehouse) -> str:
    return w.settings.catalog_name


def test_spark_writes_pyiceberg_reads_same_rows(spark: SparkSession, warehouse: Warehouse) -> None:
    cat = _cat(warehouse)
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {cat}.interop")
    spark.sql(f"CREATE TABLE {cat}.interop.a (id BIGINT, ts TIMESTAMP) USING iceberg")
    spark.range(50_000).selectExpr("id", "current_timestamp() AS ts").writeTo(
        f"{cat}.interop.a"
    ).append()
    table = load_catalog(warehouse.settings, warehouse.endpoint).load_table("interop.a")
    rows = table.scan().to_arrow()
    assert rows.num_rows == 50_000
    assert sorted(rows.column("id").to_pylist()) == list(range(50_000))
    result = duckdb_over(table, "SELECT count(DISTINCT id) AS n, max(id) AS m FROM t")
    assert result.to_pylist() == [{"n": 50_000, "m": 49_999}]


def test_pyiceberg_appends_spark_sees(spark: SparkSession, warehouse: Warehouse) -> None:
    cat = _cat(warehouse)
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {cat}.interop")
    spark.sql(f"CREATE TABLE {cat}.interop.b (id BIGINT, ts TIMESTAMP) USING iceberg")
    table = load_catalog(warehouse.settings, warehouse.endpoint).load_table("interop.b")
    now = datetime.now(UTC)  # Spark TIMESTAMP is timestamptz: pyiceberg must send tz-aware
    table.append(pa.table({"id": pa.array(range(1000), pa.int64()),
                           "ts": pa.array([now] * 1000, pa.timestamp("us", tz="UTC"))}))  # fmt: skip
    spark.sql(f"REFRESH TABLE {cat}.interop.b")
    row = spark.sql(f"SELECT count(*) AS n, sum(id) AS s FROM {cat}.interop.b").first()
    assert row is not None and (row["n"], row["s"]) == (1000, sum(range(1000)))


def _ctx(w: Warehouse, reporter: RecordingReporter, **params: object) -> JobContext:
    checks = (inventory.DUPLICATE_CHECK,)
    return JobContext(w.settings, w.endpoint, dict(params), checks, reporter)


def test_lake_inventory_twice_same_day_has_no_duplicates(spark: SparkSession, warehouse: Warehouse) -> None:  # fmt: skip
    reporter = RecordingReporter()
    ctx = _ctx(warehouse, reporter)
    yesterday = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    first = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    inventory.run(spark, ctx, now=yesterday)
    inventory.run(spark, ctx, now=first)
    meta = inventory.run(spark, ctx, now=first + timedelta(hours=3))
    name = inventory.table_name(ctx)
    per_day = {r["inventory_date"].isoformat(): (r["n"], r["p"]) for r in spark.sql(
        f"SELECT inventory_date, count(*) AS n, count(DISTINCT prefix) AS p FROM {name} "
        "GROUP BY inventory_date").collect()}  # fmt: skip
    assert set(per_day) == {"2026-03-01", "2026-03-02"}
    assert all(n == p for n, p in per_day.values()), per_day
    times = spark.sql(f"SELECT DISTINCT snapshot_time FROM {name} "
                      "WHERE inventory_date = DATE '2026-03-02'").collect()  # fmt: skip
    assert len(times) == 1  # the second run replaced the first run's rows of that day
    assert "warehouse/interop/" in {
        r["prefix"] for r in spark.sql(f"SELECT prefix FROM {name}").collect()
    }
    assert meta["rows_written"] == per_day["2026-03-02"][0]
    assert meta["dagster/row_count"]["raw_value"] == meta["total_records"]
    assert meta["total_records"] == sum(n for n, _ in per_day.values())
    assert int(meta["snapshot_id"]) > 0 and meta["data_files"] >= 2 and meta["total_bytes"] > 0
    assert [c[:2] for c in reporter.checks] == [(inventory.DUPLICATE_CHECK, True)] * 3


def test_maintenance_reports_what_each_procedure_did(spark: SparkSession, warehouse: Warehouse) -> None:  # fmt: skip
    cat = _cat(warehouse)
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {cat}.maint")
    spark.sql(f"CREATE TABLE {cat}.maint.small (id BIGINT) USING iceberg")
    for i in range(4):  # four appends -> four small files, four snapshots
        spark.range(i * 10, i * 10 + 10).writeTo(f"{cat}.maint.small").append()
    reporter = RecordingReporter()
    small_files = spark.sql(f"SELECT count(*) AS n FROM {cat}.maint.small.files").first()
    assert small_files is not None and small_files["n"] >= 4
    ctx = _ctx(
        warehouse, reporter, expire_older_than_hours=0, retain_last=1, tables=["maint.small"]
    )
    meta = maintenance.run(spark, ctx)
    assert list(meta["per_table"]["raw_value"]) == ["maint.small"]
    result = meta["per_table"]["raw_value"]["maint.small"]
    assert result["rewrite_data_files"]["rewritten_data_files_count"] == small_files["n"]
    assert result["rewrite_data_files"]["added_data_files_count"] == 1
    assert "rewritten_manifests_count" in result["rewrite_manifests"]
    assert result["expire_snapshots"]["deleted_data_files_count"] == small_files["n"]
    assert result["remove_orphan_files"] == {"orphan_files_removed": 0}
    assert meta["failed_tables"]["raw_value"] == []
    row = spark.sql(f"SELECT count(*) AS n, sum(id) AS s FROM {cat}.maint.small").first()
    assert row is not None and (row["n"], row["s"]) == (40, sum(range(40)))


def test_concurrent_writers_lose_and_duplicate_nothing(spark: SparkSession, warehouse: Warehouse) -> None:  # fmt: skip
    writers, appends, rows = 4, 8, 500
    cat = _cat(warehouse)
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {cat}.conc")
    spark.sql(
        f"CREATE TABLE {cat}.conc.events (id BIGINT, writer INT) USING iceberg "
        "TBLPROPERTIES ('commit.retry.num-retries'='30', 'commit.retry.min-wait-ms'='50')"
    )
    settings_json = warehouse.settings.model_dump_json(
        include={"state_dir", "bucket", "catalog_name", "s3_endpoint", "credentials_source",
                 "s3_access_key", "s3_secret_key"})  # fmt: skip
    env = {**os.environ, "WRITER_SETTINGS": settings_json, "WRITER_URL": warehouse.endpoint.url,
           "PLATFORM_S3_ACCESS_KEY": warehouse.endpoint.credentials.access_key,
           "PLATFORM_S3_SECRET_KEY": warehouse.endpoint.credentials.secret_key}  # fmt: skip
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.warehouse.writer", str(w), str(appends), str(rows)],
            env=env,
            stderr=subprocess.PIPE,
        )
        for w in range(writers)
    ]
    spark_writer = 9  # Spark's JdbcCatalog commits concurrently with the pyiceberg processes
    for i in range(appends):
        base = spark_writer * 1_000_000 + i * rows
        spark.range(base, base + rows).selectExpr("id", f"{spark_writer} AS writer").writeTo(
            f"{cat}.conc.events"
        ).append()
    errors = [p.communicate(timeout=300)[1].decode()[-2000:] for p in procs]
    assert [p.returncode for p in procs] == [0] * writers, errors
    spark.sql(f"REFRESH TABLE {cat}.conc.events")
    row = spark.sql(f"SELECT count(*) AS n, count(DISTINCT id) AS d FROM {cat}.conc.events").first()
    assert row is not None and (row["n"], row["d"]) == ((writers + 1) * appends * rows,) * 2
    table = load_catalog(warehouse.settings, warehouse.endpoint).load_table("conc.events")
    appends_seen = [
        s for s in table.snapshots() if s.summary and s.summary.operation.value == "append"
    ]
    assert len(appends_seen) == (writers + 1) * appends  # every commit landed exactly once
    assert json.loads(settings_json)["catalog_name"] == cat

"""`lake_inventory`: what is in the data-lake bucket, one row per prefix per day, in Iceberg.

Grouping is by the first TWO key levels (`warehouse/ops/`, `raw/events/`): the top level alone
collapses every table into one `warehouse/` row, while two levels still give one row per Iceberg
namespace (and per source under `raw/`) and keep the table small. Objects at the bucket root are
counted under the prefix `/`. The warehouse prefix is included: the lake's own metadata and data
files are part of what it costs to keep.

Idempotent per day: the table is partitioned by `inventory_date` and written with a dynamic
partition overwrite, so re-running on the same day replaces that day's rows.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from platform_defs.clients.s3 import ObjectStore
from platform_defs.endpoint import StoreEndpoint

from .context import JobContext

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

NAMESPACE = "ops"
TABLE = "lake_inventory"
DEPTH = 2
COLUMNS = (
    "inventory_date DATE, snapshot_time TIMESTAMP, prefix STRING, object_count BIGINT, "
    "total_bytes BIGINT, newest_modified TIMESTAMP"
)
DUPLICATE_CHECK = "lake_inventory_no_duplicate_prefixes"
# Snapshot summary properties that let a later run see the inventory is current without Spark.
FINGERPRINT_PROPERTY = "platform.bucket-fingerprint"
DATE_PROPERTY = "platform.inventory-date"


@dataclass
class PrefixStats:
    object_count: int = 0
    total_bytes: int = 0
    newest_modified: datetime | None = None

    def add(self, size: int, modified: datetime | None) -> None:
        self.object_count += 1
        self.total_bytes += size
        if modified and (self.newest_modified is None or modified > self.newest_modified):
            self.newest_modified = modified


def prefix_of(key: str, depth: int = DEPTH) -> str:
    """`a/b/c/file` -> `a/b/`; `a/file` -> `a/`; `file` -> `/`."""
    dirs = key.split("/")[:-1][:depth]
    return "/".join(dirs) + "/" if dirs else "/"


def summarize(
    objects: Iterable[tuple[str, int, datetime | None]], depth: int = DEPTH
) -> dict[str, PrefixStats]:
    stats: dict[str, PrefixStats] = {}
    for key, size, modified in objects:
        stats.setdefault(prefix_of(key, depth), PrefixStats()).add(size, modified)
    return stats


def own_prefix() -> str:
    """Where this table's files live: its own writes must not make the bucket look changed."""
    return f"warehouse/{NAMESPACE}/{TABLE}/"


def fingerprint(objects: Iterable[tuple[str, int, datetime | None]]) -> str:
    """A digest of the bucket's listing (key, size, modification), the inventory's own files
    excluded: equal digests on the same day mean a new inventory would write the same rows."""
    digest = hashlib.sha256()
    skip = own_prefix()
    for key, size, modified in sorted(objects, key=lambda o: o[0]):
        if not key.startswith(skip):
            digest.update(f"{key}\0{size}\0{modified.isoformat() if modified else ''}\n".encode())
    return digest.hexdigest()[:32]


def list_objects(endpoint: StoreEndpoint, bucket: str) -> list[tuple[str, int, datetime | None]]:
    """Every object of the bucket; the SDK follows ListObjectsV2 continuation tokens (1000/page)."""
    client = ObjectStore(endpoint, timeout=10.0, read_timeout=60.0).client
    listing = client.list_objects(bucket, recursive=True)
    return [(o.object_name or "", o.size or 0, o.last_modified) for o in listing]


def list_bucket(ctx: JobContext) -> tuple[dict[str, PrefixStats], str]:
    objects = list_objects(ctx.endpoint, ctx.settings.bucket)
    return summarize(objects), fingerprint(objects)


def table_name(ctx: JobContext) -> str:
    return f"{ctx.settings.catalog_name}.{NAMESPACE}.{TABLE}"


def ensure_table(spark: SparkSession, ctx: JobContext) -> str:
    name = table_name(ctx)
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {ctx.settings.catalog_name}.{NAMESPACE}")
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {name} ({COLUMNS}) USING iceberg "
        "PARTITIONED BY (inventory_date) TBLPROPERTIES ('format-version'='2')"
    )
    return name


def build_rows(stats: dict[str, PrefixStats], now: datetime) -> list[tuple[Any, ...]]:
    day: date = now.date()
    return [
        (day, now, prefix, s.object_count, s.total_bytes, s.newest_modified)
        for prefix, s in sorted(stats.items())
    ]


def snapshot_facts(spark: SparkSession, name: str) -> dict[str, Any]:
    """Snapshot id and totals from the table's latest snapshot summary."""
    row = spark.sql(
        f"SELECT snapshot_id, summary FROM {name}.snapshots ORDER BY committed_at DESC LIMIT 1"
    ).first()
    if row is None:
        return {}
    summary: dict[str, str] = row["summary"]
    return {
        "snapshot_id": str(row["snapshot_id"]),
        "data_files": int(summary.get("total-data-files", 0)),
        "total_bytes": int(summary.get("total-files-size", 0)),
        "total_records": int(summary.get("total-records", 0)),
    }


def duplicate_prefixes(spark: SparkSession, name: str, day: date) -> int:
    row = spark.sql(
        f"SELECT count(*) - count(DISTINCT prefix) AS d FROM {name} "
        f"WHERE inventory_date = DATE '{day.isoformat()}'"
    ).first()
    return int(row["d"]) if row else 0


def run(spark: SparkSession, ctx: JobContext, now: datetime | None = None) -> dict[str, Any]:
    """Inventory the bucket into `<catalog>.ops.lake_inventory`; returns the reported metadata."""
    started = time.monotonic()
    now = now or datetime.now(UTC)
    name = ensure_table(spark, ctx)
    stats, digest = list_bucket(ctx)
    rows = build_rows(stats, now)
    ctx.reporter.log.info(
        f"{sum(s.object_count for s in stats.values())} objects in {len(rows)} prefixes"
    )
    (
        spark.createDataFrame(rows, schema=COLUMNS)
        .writeTo(name)
        .option(f"snapshot-property.{FINGERPRINT_PROPERTY}", digest)
        .option(f"snapshot-property.{DATE_PROPERTY}", now.date().isoformat())
        .overwritePartitions()
    )
    facts = snapshot_facts(spark, name)
    # Dagster's standard keys: the UI shows a column table and the row count (of the whole
    # table, as Iceberg's snapshot summary counts it); rows_written is this run's day.
    columns = [
        {"name": f.name, "type": f.dataType.simpleString(), "constraints": {"nullable": f.nullable}}
        for f in spark.table(name).schema
    ]
    metadata = {
        "dagster/table_name": name,
        "dagster/row_count": {"raw_value": facts.get("total_records", len(rows)), "type": "int"},
        "dagster/column_schema": {"raw_value": {"columns": columns}, "type": "table_schema"},
        "rows_written": len(rows),
        **facts,
        "spark_seconds": round(time.monotonic() - started, 2),
    }
    ctx.reporter.report_asset_materialization(metadata)
    if DUPLICATE_CHECK in ctx.checks:
        dupes = duplicate_prefixes(spark, name, now.date())
        ctx.reporter.report_asset_check(DUPLICATE_CHECK, dupes == 0, {"duplicates": dupes})
    return metadata

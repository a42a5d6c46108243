"""`maintenance`: keep every Iceberg table of the catalog small and cheap to read.

Per table, in this order (each step's counts come from the procedure's own output row):

1. `rewrite_data_files`: compacts small files (appends from many writers leave many of them);
2. `rewrite_manifests`: rewrites manifests so planning reads few of them;
3. `expire_snapshots`: drops snapshots older than `expire_older_than_hours` but always keeps the
   last `retain_last` (at least 1), deleting the files only they referenced — running it after
   compaction lets it free the files compaction replaced, once they are old enough;
4. `remove_orphan_files`: deletes files no snapshot references (failed or interrupted writes),
   only if older than `orphan_older_than_hours`, never less than Iceberg's 24 h safety cutoff: a
   younger file may belong to a commit in flight, and deleting it would corrupt that table.

pyiceberg 0.12 has only `expire_snapshots` (and it deletes no files), hence Spark.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from platform_defs.errors import SettingsError

from .context import JobContext

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ORPHAN_SAFETY_HOURS = 24.0


@dataclass(frozen=True)
class MaintenanceParams:
    expire_older_than_hours: float = 7 * 24.0
    retain_last: int = 5
    orphan_older_than_hours: float = 72.0
    rewrite_data_files: bool = True
    tables: tuple[str, ...] = ()  # `namespace.table`; empty = every table of the catalog

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> MaintenanceParams:
        p = cls(
            expire_older_than_hours=float(
                params.get("expire_older_than_hours", cls.expire_older_than_hours)
            ),
            retain_last=int(params.get("retain_last", cls.retain_last)),
            orphan_older_than_hours=float(
                params.get("orphan_older_than_hours", cls.orphan_older_than_hours)
            ),
            rewrite_data_files=bool(params.get("rewrite_data_files", cls.rewrite_data_files)),
            tables=tuple(params.get("tables") or ()),
        )
        if p.retain_last < 1:
            raise SettingsError(
                f"maintenance retain_last={p.retain_last}: keep at least 1 snapshot."
            )
        if p.orphan_older_than_hours < ORPHAN_SAFETY_HOURS:
            raise SettingsError(
                f"maintenance orphan_older_than_hours={p.orphan_older_than_hours} is below Iceberg's "
                f"{ORPHAN_SAFETY_HOURS:.0f} h safety cutoff: files of commits in flight could be "
                "deleted. Use 24 or more."
            )
        return p


def list_tables(spark: SparkSession, catalog: str) -> list[str]:
    """`namespace.table` for every table in every (nested) namespace of `catalog`."""
    tables: list[str] = []
    pending = [r["namespace"] for r in spark.sql(f"SHOW NAMESPACES IN {catalog}").collect()]
    while pending:
        ns = pending.pop()
        pending += [
            r["namespace"] for r in spark.sql(f"SHOW NAMESPACES IN {catalog}.{ns}").collect()
        ]
        tables += [
            f"{ns}.{r['tableName']}" for r in spark.sql(f"SHOW TABLES IN {catalog}.{ns}").collect()
        ]
    return sorted(set(tables))


def _ts(moment: datetime) -> str:
    return f"TIMESTAMP '{moment.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')}'"


def _call(spark: SparkSession, catalog: str, procedure: str, args: str) -> list[dict[str, Any]]:
    rows = spark.sql(f"CALL {catalog}.system.{procedure}({args})").collect()
    return [r.asDict() for r in rows]


def maintain_table(
    spark: SparkSession, catalog: str, table: str, p: MaintenanceParams, now: datetime
) -> dict[str, Any]:
    ref = f"table => '{catalog}.{table}'"
    result: dict[str, Any] = {}
    if p.rewrite_data_files:
        result["rewrite_data_files"] = _call(spark, catalog, "rewrite_data_files", ref)[0]
    result["rewrite_manifests"] = _call(spark, catalog, "rewrite_manifests", ref)[0]
    expire_before = now - timedelta(hours=p.expire_older_than_hours)
    result["expire_snapshots"] = _call(
        spark,
        catalog,
        "expire_snapshots",
        f"{ref}, older_than => {_ts(expire_before)}, retain_last => {p.retain_last}",
    )[0]
    orphan_before = now - timedelta(hours=max(p.orphan_older_than_hours, ORPHAN_SAFETY_HOURS))
    orphans = _call(
        spark,
        catalog,
        "remove_orphan_files",
        # prefix listing goes through S3FileIO; the default lists with Hadoop (no s3:// there)
        f"{ref}, older_than => {_ts(orphan_before)}, prefix_listing => true",
    )
    result["remove_orphan_files"] = {"orphan_files_removed": len(orphans)}
    return result


def run(spark: SparkSession, ctx: JobContext, now: datetime | None = None) -> dict[str, Any]:
    """Maintain every table; one failing table is reported and does not stop the others."""
    started = time.monotonic()
    params = MaintenanceParams.from_params(ctx.params)
    now = now or datetime.now(UTC)
    catalog = ctx.settings.catalog_name
    per_table: dict[str, Any] = {}
    failed: list[str] = []
    for table in params.tables or list_tables(spark, catalog):
        ctx.reporter.log.info(f"maintaining {catalog}.{table}")
        try:
            per_table[table] = maintain_table(spark, catalog, table, params, now)
        except Exception as exc:  # one broken table must not block the rest
            per_table[table] = {"error": str(exc).splitlines()[0][:300]}
            failed.append(table)
            ctx.reporter.log.error(f"maintenance of {table} failed: {per_table[table]['error']}")
    metadata = {
        "tables": len(per_table),
        "failed_tables": {"raw_value": failed, "type": "json"},
        "per_table": {"raw_value": per_table, "type": "json"},
        "spark_seconds": round(time.monotonic() - started, 2),
    }
    ctx.reporter.report_asset_materialization(metadata)
    return metadata

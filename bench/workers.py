"""Measured work that must run in a process of its own: `python -m bench.workers <what>`.

A Spark session is one per process and its JVM's memory is only attributable when nothing else
runs in that process, so the bare Spark start and each ingest engine run here. Settings come from
PLATFORM_* variables (the benchmark sets them for a throwaway store). Each prints one JSON line
with the seconds of the measured part; the parent measures wall time and peak RSS around it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from assets.spark_jobs.context import endpoint_from
from platform_defs.settings import load_settings

TABLE_SQL = (
    "(id BIGINT, ts TIMESTAMP, key BIGINT, v0 DOUBLE, v1 DOUBLE, v2 DOUBLE, v3 DOUBLE, "
    "v4 DOUBLE) USING iceberg"
)


def session() -> dict[str, float]:
    """The bootstrap baseline: start_session + stop, nothing else."""
    from platform_defs.spark.session import start_session

    settings = load_settings()
    started = time.perf_counter()
    spark = start_session(settings, endpoint_from(settings, None), app_name="bench-session")
    up = time.perf_counter() - started
    spark.stop()
    return {"start_seconds": up, "seconds": time.perf_counter() - started}


def spark_ingest(staged: Path) -> dict[str, float]:
    """Staged Parquet -> an Iceberg table through Spark (table created before the clock)."""
    from platform_defs.spark.session import start_session

    settings = load_settings()
    spark = start_session(settings, endpoint_from(settings, None), app_name="bench-ingest")
    try:
        name = f"{settings.catalog_name}.bench.spark_ingest"
        spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {settings.catalog_name}.bench")
        spark.sql(f"DROP TABLE IF EXISTS {name} PURGE")
        spark.sql(f"CREATE TABLE {name} {TABLE_SQL}")
        started = time.perf_counter()
        spark.read.parquet(str(staged)).writeTo(name).append()
        seconds = time.perf_counter() - started
        spark.sql(f"DROP TABLE IF EXISTS {name} PURGE")  # frees the store's disk for the next
    finally:
        spark.stop()
    return {"seconds": seconds}


def pyiceberg_ingest(staged: Path) -> dict[str, float]:
    """Staged Parquet -> an Iceberg table through pyiceberg: read into Arrow, append."""
    import pyarrow.parquet as pq

    from platform_defs.iceberg.catalog import load_catalog

    settings = load_settings()
    catalog = load_catalog(settings, endpoint_from(settings, None))
    catalog.create_namespace_if_not_exists("bench")
    if catalog.table_exists("bench.pyiceberg_ingest"):
        catalog.purge_table("bench.pyiceberg_ingest")
    schema = pq.read_schema(next(staged.glob("*.parquet")))
    table = catalog.create_table("bench.pyiceberg_ingest", schema=schema)
    started = time.perf_counter()
    table.append(pq.read_table(staged))
    seconds = time.perf_counter() - started
    catalog.purge_table("bench.pyiceberg_ingest")
    return {"seconds": seconds}


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.workers")
    p.add_argument("what", choices=("session", "spark-ingest", "pyiceberg-ingest"))
    p.add_argument("--staged", type=Path)
    args = p.parse_args()
    if args.what == "session":
        result = session()
    elif args.what == "spark-ingest":
        result = spark_ingest(args.staged)
    else:
        result = pyiceberg_ingest(args.staged)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

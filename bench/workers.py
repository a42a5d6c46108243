"""Measured work that must run in a process of its own: `python -m bench.workers <what>`.

A Spark session is one per process and its JVM's memory is only attributable when nothing else
runs in that process, so the bare Spark start and each ingest engine run here. Settings come from
PLATFORM_* variables (the benchmark sets them for a throwaway store). Each prints one JSON line
with the seconds of the measured part; the parent measures wall time and peak RSS around it.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterator
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


def spark_ingest(staged: Path, variant: dict[str, dict[str, str]]) -> dict[str, float | str]:
    """Staged Parquet -> an Iceberg table through Spark (table created before the clock).

    `variant` is a benchmark knob set (bench.ingest.SPARK_VARIANTS): `conf` is set on the running
    session before the catalog's first use (SQL conf and catalog options are read then, so this is
    in time; `{catalog}` in a key is the catalog's name), `tblprops` go on the CREATE TABLE; with
    `warm` set the same append runs a second time in the same JVM (what a long-lived server pays);
    with `sink.noop` the rows are read and dropped (Spark's noop sink): the cost before any write.
    Launch-time settings (master, driver memory) come from PLATFORM_* in the environment.
    With `connect` set the append goes through the platform's Spark Connect server (the local
    default for Spark steps), started here before the clock like the table, on a free port,
    and stopped at the end: its JVM is this process's child, so its peak RSS is measured.
    """
    from platform_defs.spark_connect.client import close_spark, open_spark
    from platform_defs.spark_connect.server import SparkConnectServer

    connect = bool(variant.get("connect"))
    if connect:
        from tools.local_servers import free_port

        os.environ["PLATFORM_SPARK_MODE"] = "connect"
        os.environ["PLATFORM_SPARK_CONNECT_PORT"] = str(free_port())
    else:
        os.environ["PLATFORM_SPARK_MODE"] = "session"
    settings = load_settings()
    spark = open_spark(settings, endpoint_from(settings, None), app_name="bench-ingest")
    try:
        for key, value in variant.get("conf", {}).items():
            spark.conf.set(key.format(catalog=settings.catalog_name), value)
        props = variant.get("tblprops", {})
        tblprops = (
            " TBLPROPERTIES (" + ", ".join(f"'{k}'='{v}'" for k, v in props.items()) + ")"
            if props
            else ""
        )
        name = f"{settings.catalog_name}.bench.spark_ingest"
        spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {settings.catalog_name}.bench")
        spark.sql(f"DROP TABLE IF EXISTS {name} PURGE")
        spark.sql(f"CREATE TABLE {name} {TABLE_SQL}{tblprops}")

        def write() -> float:
            started = time.perf_counter()
            frame = spark.read.parquet(str(staged))
            if variant.get("sink", {}).get("noop"):  # read and decode only: Spark's floor
                frame.write.format("noop").mode("overwrite").save()
            else:
                frame.writeTo(name).append()
            return time.perf_counter() - started

        result: dict[str, float | str] = {"seconds": write()}
        if variant.get("warm"):  # the same write again in this (now warm) JVM
            result["warm_seconds"] = write()
        files = spark.sql(f"SELECT count(*) AS n FROM {name}.files").collect()[0]["n"]
        # what the table was created with (the platform's table defaults show here)
        props = {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES {name}").collect()}
        result["codec"] = props.get("write.parquet.compression-codec", "(iceberg default)")
        spark.sql(f"DROP TABLE IF EXISTS {name} PURGE")  # frees the store's disk for the next
    finally:
        close_spark(spark)
        if connect:
            SparkConnectServer(settings).stop()
    return {**result, "files": float(files)}


def pyiceberg_ingest(staged: Path, mode: str) -> dict[str, float]:
    """Staged Parquet -> an Iceberg table through pyiceberg, one of three ways (`mode`):

    - `table`: read everything into one Arrow table and append it (memory ~1.4-1.9x the data);
    - `reader`: hand pyiceberg a RecordBatchReader (its documented streaming path; measured to
      see whether it bounds memory: its writer submits every file task to a thread pool at once);
    - `stream`: the platform's `append_batches`, bounded chunks appended in one transaction.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from platform_defs.iceberg.append import append_batches
    from platform_defs.iceberg.catalog import load_catalog

    settings = load_settings()
    catalog = load_catalog(settings, endpoint_from(settings, None))
    catalog.create_namespace_if_not_exists("bench")
    if catalog.table_exists("bench.pyiceberg_ingest"):
        catalog.purge_table("bench.pyiceberg_ingest")
    files = sorted(staged.glob("*.parquet"))
    schema = pq.read_schema(files[0])
    table = catalog.create_table("bench.pyiceberg_ingest", schema=schema)

    def batches() -> Iterator[pa.RecordBatch]:
        for f in files:
            yield from pq.ParquetFile(f).iter_batches(batch_size=1 << 16)

    started = time.perf_counter()
    if mode == "table":
        table.append(pq.read_table(staged))
    elif mode == "reader":
        table.append(pa.RecordBatchReader.from_batches(schema, batches()))
    else:
        append_batches(table, batches())
    seconds = time.perf_counter() - started
    table.refresh()
    snapshot = table.current_snapshot()
    summary = snapshot.summary if snapshot else None
    added = int(str(summary["total-data-files"])) if summary else 0
    catalog.purge_table("bench.pyiceberg_ingest")
    return {"seconds": seconds, "files": float(added)}


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.workers")
    p.add_argument("what", choices=("session", "spark-ingest", "pyiceberg-ingest"))
    p.add_argument("--staged", type=Path)
    p.add_argument("--variant-json", default="{}", help="spark-ingest: conf/tblprops to set")
    p.add_argument("--mode", choices=("table", "reader", "stream"), default="stream")
    args = p.parse_args()
    result: dict[str, float | str]
    if args.what == "session":
        result = dict(session())
    elif args.what == "spark-ingest":
        result = spark_ingest(args.staged, json.loads(args.variant_json))
    else:
        result = dict(pyiceberg_ingest(args.staged, args.mode))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

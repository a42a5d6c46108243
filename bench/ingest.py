"""Ingest benchmark: raw S3 PUT vs Spark->Iceberg vs pyiceberg ingest of one generated dataset.

    PYTHONPATH=. python -m bench.ingest --local-weed            # a throwaway weed store
    PYTHONPATH=. python -m bench.ingest --size-gib 0.25         # the store from PLATFORM_* env

The dataset is generated with pyarrow from a fixed seed (random numbers, so Parquet cannot shrink
it much and MB/s mean bytes moved) and staged as local Parquet before any clock starts; both
ingests read that staging and write an Iceberg table, so they do the same work. MB/s are dataset
MB (Arrow in-memory size) per wall-clock second. Prints figures; asserts nothing.
Goals: Spark >= 0.6 and pyiceberg >= 0.8 of raw PUT.
"""

from __future__ import annotations

import argparse
import io
import random
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from assets.spark_jobs.context import endpoint_from
from platform_defs.endpoint import StoreEndpoint
from platform_defs.iceberg.catalog import load_catalog
from platform_defs.resources.s3 import ObjectStore
from platform_defs.settings import PlatformSettings, load_settings
from platform_defs.spark.session import start_session

MB = 1_000_000
ROWS_PER_BATCH = 1 << 20
SEED = 20261127


def batches(total_bytes: int) -> Iterator[pa.RecordBatch]:
    """Deterministic rows of 64 bytes: id, ts, key and five random doubles."""
    start = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1e6)
    rows, done, batch_no = total_bytes // 64, 0, 0

    def uniform(column: int, scale: float) -> pa.Array:
        seed = SEED + batch_no * 16 + column  # fixed per (batch, column): same data every run
        scaled = pc.floor(pc.multiply(pc.random(n, initializer=seed), scale))
        return pc.cast(scaled, pa.int64())

    while done < rows:
        n = min(ROWS_PER_BATCH, rows - done)
        cols = {
            "id": pa.array(range(done, done + n), pa.int64()),
            "ts": pc.cast(pc.add(uniform(0, 86_400e6), start), pa.timestamp("us", "UTC")),
            "key": uniform(1, float(1 << 62)),
        }
        cols |= {f"v{i}": pc.random(n, initializer=SEED + batch_no * 16 + 2 + i) for i in range(5)}
        yield pa.RecordBatch.from_pydict(cols)
        done, batch_no = done + n, batch_no + 1


def stage(total_bytes: int, out: Path) -> tuple[Path, int]:
    out.mkdir(parents=True, exist_ok=True)
    size = 0
    for i, batch in enumerate(batches(total_bytes)):
        size += batch.nbytes
        pq.write_table(pa.Table.from_batches([batch]), out / f"part-{i:04d}.parquet")
    return out, size


@contextmanager
def timed(label: str, nbytes: int, results: dict[str, float]) -> Iterator[None]:
    started = time.perf_counter()
    yield
    seconds = time.perf_counter() - started
    results[label] = nbytes / MB / seconds
    print(f"{label:<22} {nbytes / MB:9.0f} MB in {seconds:7.2f} s = {results[label]:7.1f} MB/s")


def raw_put(
    endpoint: StoreEndpoint, bucket: str, object_size: int, count: int, threads: int
) -> None:
    """`count` large objects of random bytes, `threads` uploads at a time (multipart, 64 MiB)."""
    client = ObjectStore(endpoint, timeout=10.0, read_timeout=120.0, pool_size=16).client
    blob = random.Random(SEED).randbytes(object_size)

    def put(i: int) -> None:
        client.put_object(
            bucket, f"bench/raw/{i:05d}", io.BytesIO(blob), len(blob), part_size=64 * 1024 * 1024
        )

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(put, range(count)))


def spark_ingest(
    settings: PlatformSettings,
    endpoint: StoreEndpoint,
    staged: Path,
    size: int,
    results: dict[str, float],
) -> None:
    spark = start_session(settings, endpoint, app_name="bench-ingest")
    try:
        name = f"{settings.catalog_name}.bench.spark_ingest"
        spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {settings.catalog_name}.bench")
        spark.sql(f"DROP TABLE IF EXISTS {name} PURGE")
        spark.sql(
            f"CREATE TABLE {name} (id BIGINT, ts TIMESTAMP, key BIGINT, v0 DOUBLE, "
            "v1 DOUBLE, v2 DOUBLE, v3 DOUBLE, v4 DOUBLE) USING iceberg"
        )
        with timed("spark -> iceberg", size, results):
            spark.read.parquet(str(staged)).writeTo(name).append()
    finally:
        spark.stop()


def pyiceberg_ingest(
    settings: PlatformSettings,
    endpoint: StoreEndpoint,
    staged: Path,
    size: int,
    results: dict[str, float],
) -> None:
    catalog = load_catalog(settings, endpoint)
    catalog.create_namespace_if_not_exists("bench")
    if catalog.table_exists("bench.pyiceberg_ingest"):
        catalog.purge_table("bench.pyiceberg_ingest")
    schema = pq.read_schema(next(staged.glob("*.parquet")))
    table = catalog.create_table("bench.pyiceberg_ingest", schema=schema)
    with timed("pyiceberg -> iceberg", size, results):
        table.append(pq.read_table(staged))


def run(settings: PlatformSettings, endpoint: StoreEndpoint, size_gib: float, threads: int) -> None:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        staged, size = stage(int(size_gib * (1 << 30)), Path(tmp) / "staged")
        print(
            f"dataset: {size / MB:.0f} MB Arrow, {sum(f.stat().st_size for f in staged.iterdir()) / MB:.0f} MB Parquet staged"
        )
        object_size = min(128 * MB, size // threads)
        count = -(-size // object_size)
        with timed(f"raw PUT ({threads} threads)", object_size * count, results):
            raw_put(endpoint, settings.bucket, object_size, count, threads)
        spark_ingest(settings, endpoint, staged, size, results)
        pyiceberg_ingest(settings, endpoint, staged, size, results)
    raw = results[f"raw PUT ({threads} threads)"]
    print(f"spark / raw PUT     = {results['spark -> iceberg'] / raw:.2f}  (goal >= 0.6)")
    print(f"pyiceberg / raw PUT = {results['pyiceberg -> iceberg'] / raw:.2f}  (goal >= 0.8)")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest")
    parser.add_argument("--size-gib", type=float, default=1.0)
    parser.add_argument("--put-threads", type=int, default=4)
    parser.add_argument("--local-weed", action="store_true", help="start a throwaway weed store")
    args = parser.parse_args()
    if not args.local_weed:
        settings = load_settings()
        run(settings, endpoint_from(settings, None), args.size_gib, args.put_threads)
        return
    from tests.s3_servers import local_store_server
    from tests.warehouse.conftest import make_bucket, make_settings

    with (
        tempfile.TemporaryDirectory() as tmp,
        local_store_server(Path(tmp) / "store", "seaweedfs") as server,
    ):
        settings = make_settings(
            Path(tmp) / "state", make_bucket(server.endpoint, "bench"), spark_driver_memory="4g"
        )
        run(settings, server.endpoint, args.size_gib, args.put_threads)


if __name__ == "__main__":
    main()

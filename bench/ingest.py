"""Ingest benchmark: Spark->Iceberg and pyiceberg->Iceberg against raw S3 PUT, at several sizes.

    python -m bench.ingest --sizes-gib 1 4 16 --repeat 1

One throwaway SeaweedFS (tests/s3_servers.local_store_server: the platform's own LocalStore on
free ports), never the developer's store. The dataset is generated with pyarrow from a fixed
seed (random numbers, so Parquet cannot shrink it much and MB/s mean bytes moved) and staged as
local Parquet before any clock starts; both engines read that staging and append to an Iceberg
table, so they do the same work. MB/s are dataset MB (Arrow size) per second of the write alone.
Each engine runs in its own process (bench.workers) so its peak memory is its own: the Spark
driver JVM's and the pyiceberg process's VmHWM. Goals: Spark >= 0.6x and pyiceberg >= 0.8x the
raw PUT throughput. A size that does not fit the free disk or memory is skipped and said so.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.common import (
    MIB,
    Result,
    bench_env,
    json_lines,
    median,
    python,
    repeats,
    run_measured,
    scratch,
    standalone,
)

if TYPE_CHECKING:
    from platform_defs.endpoint import StoreEndpoint

MB = 1_000_000
GIB = 1 << 30
ROWS_PER_BATCH = 1 << 20
SEED = 20261127
PUT_THREADS = 4
BUCKET = "bench"


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


def stage(total_bytes: int, out: Path) -> int:
    """Write the dataset as Parquet files under `out`; returns its Arrow size in bytes."""
    out.mkdir(parents=True, exist_ok=True)
    size = 0
    for i, batch in enumerate(batches(total_bytes)):
        size += batch.nbytes
        pq.write_table(pa.Table.from_batches([batch]), out / f"part-{i:04d}.parquet")
    return size


def raw_put(endpoint: StoreEndpoint, size: int) -> tuple[float, int]:
    """The baseline: `size` bytes as large random objects, PUT_THREADS uploads at a time
    (multipart, 64 MiB parts). Returns (seconds, bytes); the objects are removed afterwards."""
    from minio.deleteobjects import DeleteObject

    from platform_defs.clients.s3 import ObjectStore

    client = ObjectStore(endpoint, timeout=10.0, read_timeout=120.0, pool_size=16).client
    object_size = min(128 * MB, size // PUT_THREADS)
    count = -(-size // object_size)
    blob = random.Random(SEED).randbytes(object_size)
    names = [f"raw/{i:05d}" for i in range(count)]

    def put(name: str) -> None:
        client.put_object(BUCKET, name, io.BytesIO(blob), len(blob), part_size=64 * 1024 * 1024)

    started = time.perf_counter()
    with ThreadPoolExecutor(PUT_THREADS) as pool:
        list(pool.map(put, names))
    seconds = time.perf_counter() - started
    for error in client.remove_objects(BUCKET, [DeleteObject(n) for n in names]):
        raise RuntimeError(f"could not remove {error.name}: {error.message}")
    return seconds, object_size * count


def mem_available() -> int:
    for ln in Path("/proc/meminfo").read_text().splitlines():
        if ln.startswith("MemAvailable:"):
            return int(ln.split()[1]) * 1024
    return 0


def one_size(
    size_gib: float, n: int, tmp: Path, endpoint: StoreEndpoint, env: dict[str, str]
) -> list[Result]:
    staged = tmp / f"staged-{size_gib:g}"
    size = stage(int(size_gib * GIB), staged)
    on_disk = sum(f.stat().st_size for f in staged.iterdir())
    print(f"ingest {size_gib:g} GiB: {size / MB:.0f} MB Arrow, {on_disk / MB:.0f} MB Parquet")
    put_mbs: list[float] = []
    engines: dict[str, tuple[list[float], list[float]]] = {"spark": ([], []), "pyiceberg": ([], [])}
    # pyiceberg appends one Arrow table held whole in memory; leave room for the store and OS.
    py_fits = size * 2.5 < mem_available()
    try:
        for i in range(n):
            seconds, nbytes = raw_put(endpoint, size)
            put_mbs.append(nbytes / MB / seconds)
            for engine in engines:
                if engine == "pyiceberg" and not py_fits:
                    continue
                cmd = [python(), "-m", "bench.workers", f"{engine}-ingest", "--staged", str(staged)]
                m = run_measured(cmd, env).check(f"{engine} ingest of {size_gib:g} GiB")
                engines[engine][0].append(size / MB / json_lines(m.stdout)[-1]["seconds"])
                engines[engine][1].append(
                    (m.jvm_peak_rss if engine == "spark" else m.peak_rss) / MIB
                )
            print(f"  repeat {i + 1}/{n}: raw PUT {put_mbs[-1]:.0f} MB/s, " + ", ".join(
                f"{e} {v[0][-1]:.0f} MB/s {v[1][-1]:.0f} MiB" for e, v in engines.items() if v[0]
            ), flush=True)  # fmt: skip
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    if not py_fits:
        print(f"  pyiceberg at {size_gib:g} GiB not run: needs ~2.5x the dataset in free memory")
    results = []
    goals = {"spark": 0.6, "pyiceberg": 0.8}
    who = {"spark": "Spark driver JVM", "pyiceberg": "pyiceberg process"}
    for engine, (mbs, rss) in engines.items():
        if not mbs:
            continue
        scale = {"scale": size_gib, "scale_unit": "dataset GiB", "series": engine}
        speed = Result(
            "ingest", f"{engine} -> iceberg, {size_gib:g} GiB (throughput)", median(mbs), "MB/s",
            f"raw PUT, {PUT_THREADS} threads", median(put_mbs), f">= {goals[engine]}x raw PUT",
            samples=mbs, baseline_samples=put_mbs,
            extra={**scale, "seconds": [size / MB / v for v in mbs]},
        )  # fmt: skip
        speed.met = speed.ratio >= goals[engine]
        memory = Result(
            "ingest", f"{who[engine]} peak RSS, {size_gib:g} GiB", median(rss), "MiB",
            "dataset size (Arrow)", size / MIB, "", samples=rss, baseline_samples=[size / MIB],
            extra=scale,
        )  # fmt: skip
        results += [speed, memory]
    return results


def run(args: argparse.Namespace) -> list[Result]:
    from tools.local_servers import local_store_server, make_bucket

    n = repeats(args, 3)
    sizes = [0.25] if args.quick else list(args.sizes_gib)
    results: list[Result] = []
    with scratch("ingest") as tmp, local_store_server(tmp / "store", "seaweedfs") as server:
        make_bucket(server.endpoint, BUCKET)
        creds = server.endpoint.credentials
        env = bench_env(
            PLATFORM_STATE_DIR=str(tmp / "state"),
            PLATFORM_S3_ENDPOINT=server.endpoint.url,
            PLATFORM_CREDENTIALS_SOURCE="env",
            PLATFORM_S3_ACCESS_KEY=creds.access_key,
            PLATFORM_S3_SECRET_KEY=creds.secret_key,
            PLATFORM_BUCKET=BUCKET,
            PLATFORM_SPARK_DRIVER_MEMORY="4g",
        )
        for size_gib in sizes:
            # staging + one table copy in the store at a time, plus a margin
            need = size_gib * GIB * 2.5
            free = shutil.disk_usage(tmp).free
            if need > free:
                print(f"ingest {size_gib:g} GiB skipped: needs ~{need / GIB:.0f} GiB free disk, "
                      f"{free / GIB:.0f} GiB free")  # fmt: skip
                continue
            results += one_size(size_gib, n, tmp, server.endpoint, env)
    return results


if __name__ == "__main__":
    standalone("python -m bench.ingest", run)

"""Ingest benchmark: Spark->Iceberg and pyiceberg->Iceberg against raw S3 PUT, at several sizes.

    python -m bench.ingest --sizes-gib 1 4 16 --repeat 1

One throwaway SeaweedFS (tests/s3_servers.local_store_server: the platform's own LocalStore on
free ports), never the developer's store. The dataset is generated with pyarrow from a fixed
seed (random numbers, so Parquet cannot shrink it much and MB/s mean bytes moved) and staged as
local Parquet before any clock starts; both engines read that staging and append to an Iceberg
table, so they do the same work. MB/s are dataset MB (Arrow size) per second of the write alone.
Each engine runs in its own process (bench.workers) so its peak memory is its own: the Spark
driver JVM's and the pyiceberg process's VmHWM. Goals (issue 16): Spark >= 0.7x raw PUT at 1 GiB
and >= 0.8x from 4 GiB; pyiceberg >= 0.8x with peak RSS <= 0.5x the dataset. A size that does not
fit the free disk or memory is skipped and said so.

Tuning (issue 16): `--spark-variants` runs several Spark knob sets in the same repeat, against
the same raw PUT, so their ratios compare; `main` is main's configuration spelled out, `platform`
is whatever platform_defs.spark.conf sets now. `--pyiceberg-modes` does the same for pyiceberg's
three append paths (bench.workers.pyiceberg_ingest).
"""

from __future__ import annotations

import argparse
import io
import json
import os
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
CAT = "spark.sql.catalog.{catalog}"

# Main's Spark ingest configuration before issue 16, spelled out so it stays measurable after the
# platform's defaults change: Iceberg's own defaults (zstd at parquet-mr's level 3, no write
# distribution for an unpartitioned table, 512 MiB files, 32 MiB S3 parts, one upload thread per
# core), local[*] and the 4g driver this benchmark always gave Spark.
MAIN: dict[str, dict[str, str]] = {
    "env": {"PLATFORM_SPARK_MASTER": "local[*]", "PLATFORM_SPARK_DRIVER_MEMORY": "4g"},
    "conf": {
        "spark.sql.iceberg.compression-codec": "zstd",
        "spark.sql.iceberg.compression-level": "3",
        "spark.sql.iceberg.distribution-mode": "none",
        "spark.sql.files.maxPartitionBytes": str(128 * MIB),
        f"{CAT}.s3.multipart.part-size-bytes": str(32 * MIB),
        f"{CAT}.s3.multipart.num-threads": "2",
    },
    # the session conf above wins over a table property at write time; the table says so too
    "tblprops": {
        "write.target-file-size-bytes": str(512 * MIB),
        "write.parquet.compression-codec": "zstd",
    },
}


def _on_main(**parts: dict[str, str]) -> dict[str, dict[str, str]]:
    """Main's configuration with one knob changed (each variant moves one thing)."""
    return {k: {**MAIN[k], **parts.get(k, {})} for k in ("env", "conf", "tblprops")}


SPARK_VARIANTS: dict[str, dict[str, dict[str, str]]] = {
    "main": MAIN,
    # the product's conf as it is, its default driver memory (2g) included
    "platform": {},
    "snappy": _on_main(conf={"spark.sql.iceberg.compression-codec": "snappy"}),
    "zstd-1": _on_main(conf={"spark.sql.iceberg.compression-level": "1"}),
    "uncompressed": _on_main(conf={"spark.sql.iceberg.compression-codec": "uncompressed"}),
    "hash": _on_main(
        conf={"spark.sql.iceberg.distribution-mode": "hash", "spark.sql.shuffle.partitions": "2"}
    ),
    "local-4": _on_main(env={"PLATFORM_SPARK_MASTER": "local[4]"}),
    "parts-8m": _on_main(
        conf={
            f"{CAT}.s3.multipart.part-size-bytes": str(8 * MIB),
            f"{CAT}.s3.multipart.num-threads": "8",
        }
    ),
    "splits-512m": _on_main(conf={"spark.sql.files.maxPartitionBytes": str(512 * MIB)}),
    "files-128m": _on_main(tblprops={"write.target-file-size-bytes": str(128 * MIB)}),
    "driver-2g": _on_main(env={"PLATFORM_SPARK_DRIVER_MEMORY": "2g"}),
    # main's conf, the append done twice in one JVM: the second is what a warm server pays
    "main-warm": {**MAIN, "warm": {"on": "1"}},
    "platform-warm": {"warm": {"on": "1"}},
    # the product's conf through its Spark Connect server (what a Spark step uses locally):
    # the server starts before the clock, the 2nd append is what a server in use pays
    "connect": {"connect": {"on": "1"}, "warm": {"on": "1"}},
    # read the staging and drop the rows (twice, one JVM): what Spark spends before writing
    "read-only": {"sink": {"noop": "1"}},
    "read-only-warm": {"warm": {"on": "1"}, "sink": {"noop": "1"}},
}
PYICEBERG_MODES = ("table", "reader", "stream")


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

    # urllib3 keeps the connect timeout while sending a body: on a loaded shared machine the store
    # stalled a 64 MiB part past 10 s (issue 16's runs), so both bounds are generous here
    client = ObjectStore(endpoint, timeout=60.0, read_timeout=180.0, pool_size=16).client
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
    size_gib: float,
    n: int,
    tmp: Path,
    endpoint: StoreEndpoint,
    env: dict[str, str],
    spark_variants: list[str],
    pyiceberg_modes: list[str],
) -> list[Result]:
    staged = tmp / f"staged-{size_gib:g}"
    size = stage(int(size_gib * GIB), staged)
    on_disk = sum(f.stat().st_size for f in staged.iterdir())
    print(f"ingest {size_gib:g} GiB: {size / MB:.0f} MB Arrow, {on_disk / MB:.0f} MB Parquet")
    put_mbs: list[float] = []
    put_load: list[float] = []
    # (series, label) -> (MB/s samples, peak RSS MiB samples, load average at its start)
    runs: dict[str, tuple[list[float], list[float], list[float]]] = {}
    plan: list[tuple[str, list[str], dict[str, str]]] = []
    for v in spark_variants:
        variant = SPARK_VARIANTS[v]
        label = "spark" if v == "platform" else f"spark[{v}]"
        argv = ["spark-ingest", "--variant-json", json.dumps(variant)]
        plan.append((label, argv, {**env, **variant.get("env", {})}))
    skipped: list[str] = []
    for mode in pyiceberg_modes:
        # a whole Arrow table (and the reader path, which drains its input) holds the dataset
        # in memory; the streaming append holds a few 256 MiB chunks
        if mode != "stream" and size * 2.5 > mem_available():
            skipped.append(mode)
            continue
        label = "pyiceberg" if mode == "stream" else f"pyiceberg[{mode}]"
        plan.append((label, ["pyiceberg-ingest", "--mode", mode], env))
    try:
        for i in range(n):
            # the baseline brackets the repeat (before and after every engine, mean of the two):
            # on a shared machine the load moves within a repeat, and one PUT at its start
            # made engines that ran later look faster than the wire (issue 16's knob run)
            put_load.append(os.getloadavg()[0])
            before_s, nbytes = raw_put(endpoint, size)
            for label, argv, run_env in plan:
                load = os.getloadavg()[0]
                cmd = [python(), "-m", "bench.workers", *argv, "--staged", str(staged)]
                m = run_measured(cmd, run_env).check(f"{label} ingest of {size_gib:g} GiB")
                out = json_lines(m.stdout)[-1]
                peak = (m.jvm_peak_rss if label.startswith("spark") else m.peak_rss) / MIB
                timings = [(label, out["seconds"])]
                if "warm_seconds" in out:
                    timings.append((f"{label} 2nd append", out["warm_seconds"]))
                for name, secs in timings:
                    mbs, rss, loads = runs.setdefault(name, ([], [], []))
                    mbs.append(size / MB / secs)
                    rss.append(peak)
                    loads.append(load)
                    codec = f", table codec {out['codec']}" if "codec" in out else ""
                    print(f"  {name}: {mbs[-1]:.0f} MB/s "
                          f"({mbs[-1] / (nbytes / MB / before_s):.2f}x the PUT before), "
                          f"{rss[-1]:.0f} MiB, {out.get('files', 0):.0f} files, load {load:.1f}"
                          f"{codec}", flush=True)  # fmt: skip
            after_s, _ = raw_put(endpoint, size)
            put_mbs.append(nbytes / MB / ((before_s + after_s) / 2))
            print(f"  repeat {i + 1}/{n}: raw PUT {put_mbs[-1]:.0f} MB/s (before "
                  f"{nbytes / MB / before_s:.0f}, after {nbytes / MB / after_s:.0f})",
                  flush=True)  # fmt: skip
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    for mode in skipped:
        print(f"  pyiceberg {mode} at {size_gib:g} GiB not run: needs ~2.5x the dataset in memory")
    results = []
    scale = {"scale": size_gib, "scale_unit": "dataset GiB"}
    for label, (mbs, rss, loads) in runs.items():
        spark = label.startswith("spark")
        goal = (0.7 if size_gib < 4 else 0.8) if spark else 0.8
        speed = Result(
            "ingest", f"{label} -> iceberg, {size_gib:g} GiB (throughput)", median(mbs), "MB/s",
            f"raw PUT, {PUT_THREADS} threads", median(put_mbs), f">= {goal}x raw PUT",
            samples=mbs, baseline_samples=put_mbs,
            extra={**scale, "series": label, "seconds": [size / MB / v for v in mbs],
                   "load_average_1m": loads, "baseline_load_average_1m": put_load},
        )  # fmt: skip
        speed.met = speed.ratio >= goal
        who = "Spark driver JVM" if spark else "pyiceberg process"
        memory = Result(
            "ingest", f"{label} {who} peak RSS, {size_gib:g} GiB", median(rss), "MiB",
            "dataset size (Arrow)", size / MIB, "" if spark else "<= 0.5x dataset",
            samples=rss, baseline_samples=[size / MIB], extra={**scale, "series": label},
        )  # fmt: skip
        if not spark:
            memory.met = memory.ratio <= 0.5
        results += [speed, memory]
    return results


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags only this benchmark takes (`python -m bench` runs the defaults)."""
    p.add_argument(
        "--spark-variants", nargs="+", choices=sorted(SPARK_VARIANTS), default=None,
        help="Spark knob sets to run in each repeat (default: platform)",
    )  # fmt: skip
    p.add_argument(
        "--pyiceberg-modes", nargs="*", choices=PYICEBERG_MODES, default=None,
        help="pyiceberg append paths to run (default: stream; none: give the flag no value)",
    )  # fmt: skip


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
        )
        for size_gib in sizes:
            # staging + one table copy in the store at a time, plus a margin
            need = size_gib * GIB * 2.5
            free = shutil.disk_usage(tmp).free
            if need > free:
                print(f"ingest {size_gib:g} GiB skipped: needs ~{need / GIB:.0f} GiB free disk, "
                      f"{free / GIB:.0f} GiB free")  # fmt: skip
                continue
            results += one_size(
                size_gib, n, tmp, server.endpoint, env,
                getattr(args, "spark_variants", None) or ["platform", "connect"],
                getattr(args, "pyiceberg_modes", None) or ["stream"],
            )  # fmt: skip
    return results


if __name__ == "__main__":
    standalone("python -m bench.ingest", run, add_arguments)

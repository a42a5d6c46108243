"""Health-sensor benchmark: tick latency against a bare HTTP request, and outage detection.

One embedded store in a temporary state directory. Prints p50/p95 of (a) a bare GET /healthz,
the baseline, and (b) a full sensor tick (probe + S3 canary + events), their ratio, and the time
from stopping the store to the first tick that reports DOWN (goal: within one tick, and a healthy
tick p95 <= 100 ms). It prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dagster as dg

from tests.s3_servers import free_port


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ticks", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(
            PLATFORM_STATE_DIR=tmp,
            PLATFORM_S3_PORT=str(free_port()),
            PLATFORM_CONSOLE_PORT=str(free_port()),
        )
        from platform_defs.definitions import defs
        from platform_defs.resources.platform import PlatformResource

        platform = PlatformResource()
        spine = [dg.AssetKey(k) for k in ("analytics_namespace", "object_store", "datalake_bucket")]
        job = defs.resolve_job_def("bootstrap_platform")
        assert job.execute_in_process(asset_selection=spine).success
        sensor = defs.resolve_sensor_def("object_store_health")
        instance = dg.DagsterInstance.ephemeral()
        url = platform.endpoint().url + "/healthz"
        try:
            bare, ticks = [], []
            cursor = None
            for _ in range(args.ticks):
                t0 = time.perf_counter()
                requests.get(url, timeout=1)
                bare.append((time.perf_counter() - t0) * 1000)
                ctx = dg.build_sensor_context(
                    cursor=cursor, instance=instance, resources={"platform": platform}
                )
                t0 = time.perf_counter()
                result = sensor(ctx)
                ticks.append((time.perf_counter() - t0) * 1000)
                cursor = result.cursor  # type: ignore[union-attr]
            platform.target().stop_store()
            t0 = time.perf_counter()
            ctx = dg.build_sensor_context(
                cursor=cursor, instance=instance, resources={"platform": platform}
            )
            result = sensor(ctx)
            detect = (time.perf_counter() - t0) * 1000
            status = result.asset_events[0].metadata["status"].value  # type: ignore[union-attr]
        finally:
            platform.target().stop_store()
    print(f"sensor benchmark ({args.ticks} healthy ticks)")
    print(
        f"bare GET /healthz      p50 {statistics.median(bare):7.2f} ms  p95 {pct(bare, 0.95):7.2f} ms  (baseline)"
    )
    print(
        f"sensor tick (healthy)  p50 {statistics.median(ticks):7.2f} ms  p95 {pct(ticks, 0.95):7.2f} ms"
        f"  ratio p50 {statistics.median(ticks) / statistics.median(bare):5.1f}x  goal p95 <= 100 ms"
    )
    print(
        f"outage detection: first tick after stop reported {status} in {detect:.1f} ms (goal: 1 tick)"
    )


if __name__ == "__main__":
    main()

"""Health-sensor benchmark: a tick against a bare HTTP request, and how fast an outage shows.

One embedded store in a temporary state directory; the sensor is evaluated in this process with
`build_sensor_context` (what the daemon does, without the daemon's own scheduling noise).

  - healthy tick (probe + S3 canary + observation) vs a bare GET /healthz, p50 and p95;
  - outage: the store is stopped and the next tick is timed; its baseline is one probe timeout
    (PLATFORM_HEALTH_PROBE_TIMEOUT_SECONDS), because the README promises a DOWN verdict costs at
    most one timeout. Repeated: the store is started again between outages.

PLATFORM_* variables are set in this process's environment for the in-process Dagster code, which
is why the suite runs each benchmark in its own process.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from typing import Any

from bench.common import Result, median, pct, repeats, scratch, standalone

# What the sensor probes: the store, the bucket and the canary identity it writes with.
SPINE = ("analytics_namespace", "object_store", "datalake_bucket", "service_identities")


def status_of(result: Any) -> str:
    """The tick's verdict (UP, DOWN, NOT_READY, ...), from its cursor: a tick records events on
    `object_store` only when the verdict changes or a heartbeat is due, so most ticks have
    none, while every tick's cursor carries the verdict."""
    from assets.health.store_health import HealthCursor

    return HealthCursor.parse(result.cursor).last_status


def run(args: argparse.Namespace) -> list[Result]:
    import dagster as dg
    import requests

    from tools.local_servers import free_port

    ticks_n = 20 if args.quick else 100
    outages_n = repeats(args, 3)
    with scratch("sensor") as tmp:
        for key in [k for k in os.environ if k.startswith("PLATFORM_")]:
            del os.environ[key]
        os.environ.update(
            PLATFORM_STATE_DIR=str(tmp),
            PLATFORM_S3_PORT=str(free_port()),
            PLATFORM_CONSOLE_PORT=str(free_port()),
        )
        from platform_defs.definitions import defs
        from platform_defs.resources.platform import PlatformResource

        platform = PlatformResource()
        logging.getLogger("dagster").setLevel(logging.WARNING)  # one INFO line per tick
        spine = [dg.AssetKey(k) for k in SPINE]
        job = defs.resolve_job_def("bootstrap_platform")
        if not job.execute_in_process(asset_selection=spine).success:
            raise RuntimeError("bootstrap spine failed")
        sensor = defs.resolve_sensor_def("object_store_health")
        instance = dg.DagsterInstance.ephemeral()
        url = platform.endpoint().url + "/healthz"
        timeout = platform.settings().health_probe_timeout_seconds
        cursor: str | None = None

        def tick() -> tuple[float, Any]:
            nonlocal cursor
            ctx = dg.build_sensor_context(
                cursor=cursor, instance=instance, resources={"platform": platform}
            )
            started = time.perf_counter()
            result: Any = sensor(ctx)
            seconds = time.perf_counter() - started
            cursor = result.cursor
            return seconds * 1000, result

        bare: list[float] = []
        ticks: list[float] = []
        detect: list[float] = []
        statuses: list[str] = []
        healthy_statuses: set[str] = set()
        try:
            for _ in range(ticks_n):
                started = time.perf_counter()
                requests.get(url, timeout=1)
                bare.append((time.perf_counter() - started) * 1000)
                ms, result = tick()
                ticks.append(ms)
                healthy_statuses.add(status_of(result))
            for _ in range(outages_n):
                platform.target().stop_store()
                ms, result = tick()
                detect.append(ms)
                statuses.append(status_of(result))
                platform.target().ensure_store()
                tick()  # back to UP, so the next outage starts from a healthy cursor
        finally:
            platform.target().stop_store()
    p95 = pct(ticks, 0.95)
    healthy = Result(
        "sensor", "healthy tick (p50)", median(ticks), "ms", "bare GET /healthz (p50)",
        median(bare), "p95 <= 100 ms", samples=ticks, baseline_samples=bare,
        extra={"p5": pct(ticks, 0.05), "p95": p95, "baseline_p95": pct(bare, 0.95),
               "statuses": sorted(healthy_statuses)},
    )  # fmt: skip
    # a tick that is not UP skipped the canary: it would measure less than the goal means
    healthy.met = p95 <= 100.0 and healthy_statuses == {"UP"}
    outage = Result(
        "sensor", "first tick after the store stops", median(detect), "ms",
        "one probe timeout", timeout * 1000, "reports DOWN on that tick, <= 1 timeout",
        samples=detect, baseline_samples=[timeout * 1000], extra={"statuses": statuses},
    )  # fmt: skip
    outage.met = all(s == "DOWN" for s in statuses) and max(detect) <= timeout * 1000
    return [healthy, outage]


if __name__ == "__main__":
    standalone("python -m bench.sensor", run)

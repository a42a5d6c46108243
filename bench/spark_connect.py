"""Spark Connect benchmark: what the long-lived server costs once and saves on every step.

    python -m bench.spark_connect [--repeat N]

One throwaway SeaweedFS, bucket (a few hundred small objects under `raw/`) and state directory.
Per repeat, in this order:

1. server start: `SparkConnectServer.ensure_running` from nothing until the server answers an
   authenticated gRPC call, against one bare Spark session (`start_session` + `stop` in a
   process of its own, the JVM every step used to pay);
2. first query: a fresh client process's first `SELECT count(*)` on an Iceberg table through
   the just-started server, against the same query in a fresh process with its own JVM;
3. one Spark step: `python -m assets.spark_jobs lake_inventory` as the local launcher runs it,
   PLATFORM_SPARK_MODE=connect (the server running) against PLATFORM_SPARK_MODE=session (a
   fresh JVM), wall time of the whole process each.

Every figure is the wall time of whole processes on the same machine in the same run, so both
sides pay the same interpreter and import costs. The issue sets no number for these; the goal
printed is the direction (lower is better: under 1x the server saves time).
"""

from __future__ import annotations

import argparse
import io
import json
import textwrap
import time

from bench.common import (
    Result,
    bench_env,
    median,
    python,
    repeats,
    run_measured,
    scratch,
    standalone,
)

BUCKET = "sparkconnect"
OBJECTS = 300
# Timed inside the worker from just before the session to the first result (imports excluded).
_QUERY = textwrap.dedent(
    """
    import json, sys, time
    from platform_defs.settings import load_settings
    from platform_defs.spark_connect.client import close_spark, open_spark
    from assets.spark_jobs.context import endpoint_from
    settings = load_settings()
    endpoint = endpoint_from(settings, None)
    started = time.perf_counter()
    spark = open_spark(settings, endpoint, app_name="bench-first-query")
    n = spark.sql(f"SELECT count(*) AS n FROM {settings.catalog_name}.ops.lake_inventory")
    rows = n.collect()[0]["n"]
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows}))
    close_spark(spark)
    """
)
_BARE = textwrap.dedent(
    """
    import json, time
    from platform_defs.settings import load_settings
    from platform_defs.spark.session import start_session
    from assets.spark_jobs.context import endpoint_from
    settings = load_settings()
    started = time.perf_counter()
    start_session(settings, endpoint_from(settings, None), app_name="bench-bare").stop()
    print(json.dumps({"seconds": time.perf_counter() - started}))
    """
)


def _inner_seconds(stdout: str) -> float:
    line = next(ln for ln in stdout.splitlines() if ln.startswith('{"seconds"'))
    return float(json.loads(line)["seconds"])


def run(args: argparse.Namespace) -> list[Result]:
    from platform_defs.settings import load_settings
    from platform_defs.spark_connect.server import SparkConnectServer
    from tools.local_servers import free_port, local_store_server, make_bucket

    n = repeats(args, 3)
    raw: dict[str, list[float]] = {
        k: [] for k in ("start", "bare", "q_connect", "q_session", "step_connect", "step_session")
    }
    with scratch("spark-connect") as tmp, local_store_server(tmp / "store", "seaweedfs") as server:
        make_bucket(server.endpoint, BUCKET)
        client = server.endpoint
        from platform_defs.clients.s3 import ObjectStore

        minio = ObjectStore(client, timeout=10.0).client
        for i in range(OBJECTS):
            minio.put_object(BUCKET, f"raw/source-{i % 10}/{i:05d}.json", io.BytesIO(b"{}"), 2)
        creds = server.endpoint.credentials
        base = {
            "PLATFORM_STATE_DIR": str(tmp / "state"),
            "PLATFORM_S3_ENDPOINT": server.endpoint.url,
            "PLATFORM_CREDENTIALS_SOURCE": "env",
            "PLATFORM_S3_ACCESS_KEY": creds.access_key,
            "PLATFORM_S3_SECRET_KEY": creds.secret_key,
            "PLATFORM_BUCKET": BUCKET,
            "PLATFORM_SPARK_CONNECT_PORT": str(free_port()),
            "PLATFORM_REST_CATALOG_PORT": str(free_port()),
        }
        connect_env = bench_env(**base, PLATFORM_SPARK_MODE="connect")
        session_env = bench_env(**base, PLATFORM_SPARK_MODE="session")
        fields = {k.removeprefix("PLATFORM_").lower(): v for k, v in base.items()}
        settings = load_settings(**fields, spark_mode="connect", _env_file=None)
        sc = SparkConnectServer(settings)
        step = [python(), "-m", "assets.spark_jobs", "lake_inventory"]
        # the table the first-query figure reads, written once by a fresh JVM (not measured)
        run_measured(step, session_env).check("lake_inventory (setup)")
        try:
            for i in range(n):
                sc.stop()
                m = run_measured([python(), "-c", _BARE], session_env).check("bare session")
                raw["bare"].append(_inner_seconds(m.stdout))
                t0 = time.perf_counter()
                ensured = sc.ensure_running(server.endpoint)
                raw["start"].append(time.perf_counter() - t0)
                assert ensured.action in ("started", "restarted"), ensured.action
                m = run_measured([python(), "-c", _QUERY], connect_env).check("first query")
                raw["q_connect"].append(_inner_seconds(m.stdout))
                m = run_measured([python(), "-c", _QUERY], session_env).check("query, own JVM")
                raw["q_session"].append(_inner_seconds(m.stdout))
                m = run_measured(step, connect_env).check("lake_inventory through the server")
                raw["step_connect"].append(m.seconds)
                m = run_measured(step, session_env).check("lake_inventory, own JVM")
                raw["step_session"].append(m.seconds)
                print(
                    f"spark_connect {i + 1}/{n}: server start {raw['start'][-1]:.1f} s "
                    f"(bare session {raw['bare'][-1]:.1f} s), first query "
                    f"{raw['q_connect'][-1]:.2f} s vs {raw['q_session'][-1]:.1f} s, step "
                    f"{raw['step_connect'][-1]:.1f} s vs {raw['step_session'][-1]:.1f} s",
                    flush=True,
                )
        finally:
            sc.stop()
    return results(raw)


def results(raw: dict[str, list[float]]) -> list[Result]:
    out: list[Result] = []
    specs: list[tuple[str, str, str, str, str, bool]] = [
        ("start", "Spark Connect server start", "bare", "bare Spark session (own process)",
         "", False),
        ("q_connect", "first query through the new server", "q_session",
         "first query, fresh JVM (own process)", "< 1x (lower is better)", True),
        ("step_connect", "lake_inventory step through the server", "step_session",
         "lake_inventory step, fresh JVM", "< 1x (lower is better)", True),
    ]  # fmt: skip
    for key, name, base_key, base_name, goal, has_goal in specs:
        value, baseline = median(raw[key]), median(raw[base_key])
        out.append(
            Result(
                "spark_connect",
                name,
                value,
                "s",
                base_name,
                baseline,
                goal,
                met=value < baseline if has_goal else None,
                samples=raw[key],
                baseline_samples=raw[base_key],
            )
        )
    return out


if __name__ == "__main__":
    standalone("python -m bench.spark_connect", run)

"""Bootstrap benchmark: what `make run` costs against the parts it cannot avoid.

Per repeat, one fresh state directory with its own store on free ports and its own Dagster
instance (DAGSTER_HOME), so nothing of the developer's platform is touched:

  - cold, first run: `dagster job execute -j bootstrap_platform` with nothing there yet;
  - cold, store stopped: the same after `LocalStore.stop()`, data kept;
  - warm: again at once, nothing to change; and once more through Dagster's own `dagster`
    script instead of `make run`'s `python -m platform_defs.dagster_cli` (the exit's heap
    teardown, the before of that change, in the same repeat);
  - baselines, measured in the same repeat: the store's own start (`LocalStore.ensure_running`
    from stopped), the Spark Connect server's start (`SparkConnectServer.ensure_running` from
    stopped: the Spark the local steps use), one bare Spark session (start_session + stop in a
    process of its own: PLATFORM_SPARK_MODE=session's cost), and the Dagster floor (a one-op job,
    bench/floor_job.py, through the same CLI on the same instance).

Whether a run started Spark is read back from the instance: `lake_inventory`'s materialization
metadata carries `spark_skipped` when the inventory was current, else the Spark job's own
`spark_seconds` (its time after the session was up: the data it wrote). A cold run's irreducible
parts are store start + (when Spark ran) the Spark Connect server's start + that writing time
(issue 16: within 1.3x of them).
Also: `import platform_defs.definitions` in a fresh interpreter vs a bare interpreter start.
"""

from __future__ import annotations

import argparse
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    Result,
    bench_env,
    json_lines,
    median,
    python,
    repeats,
    run_measured,
    scratch,
    standalone,
    timed,
)

JOB = "bootstrap_platform"
COLD_GOAL = 1.3


@dataclass
class Samples:
    """One list per measured quantity, one entry per repeat."""

    values: dict[str, list[float]] = field(default_factory=dict)
    skipped: dict[str, list[bool]] = field(default_factory=dict)

    def add(self, key: str, value: float) -> None:
        self.values.setdefault(key, []).append(value)


def inventory_metadata(home: Path) -> dict[str, Any]:
    """`lake_inventory`'s materialization metadata from the newest bootstrap run in `home`."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(home))
    try:
        run = instance.get_runs(filters=dg.RunsFilter(job_name=JOB), limit=1)[0]
        for record in instance.get_records_for_run(run.run_id).records:
            event = record.event_log_entry.dagster_event
            if (
                event is not None
                and event.event_type_value == "ASSET_MATERIALIZATION"
                and event.asset_key == dg.AssetKey("lake_inventory")
            ):
                return {k: v.value for k, v in event.materialization.metadata.items()}
    finally:
        instance.dispose()
    raise RuntimeError(f"the run in {home} recorded no lake_inventory materialization")


def dagster_cli(plain: bool = False) -> list[str]:
    """`make run`'s Dagster CLI (platform_defs/dagster_cli.py: no heap teardown at exit), or
    with `plain` Dagster's own `dagster` script, the before of that change."""
    if plain:
        return [str(Path(python()).parent / "dagster")]
    return [python(), "-m", "platform_defs.dagster_cli"]


def run_job(env: dict[str, str], plain: bool = False) -> float:
    cmd = [
        *dagster_cli(plain),
        *("job", "execute", "-m", "platform_defs.definitions", "-j", JOB),
        *("-c", str(ROOT / "config" / "bootstrap.yaml")),
    ]
    measured = run_measured(cmd, env).check(f"dagster job execute -j {JOB}")
    return measured.seconds


def run_floor(env: dict[str, str]) -> float:
    cmd = [
        *dagster_cli(),
        *("job", "execute", "-f", str(ROOT / "bench" / "floor_job.py"), "-j", "floor"),
    ]
    return run_measured(cmd, env).check("dagster job execute -j floor").seconds


def one_repeat(samples: Samples) -> None:
    from platform_defs import cli, identities, targets
    from platform_defs.clients.local_store import LocalStore
    from platform_defs.settings import load_settings
    from platform_defs.spark_connect.server import SparkConnectServer
    from tools.local_servers import free_port

    with scratch("bootstrap") as tmp:
        # Free ports for every server a bootstrap starts: never the developer's platform.
        names = ("s3_port", "console_port", "rest_catalog_port", "spark_connect_port")
        ports = {name: free_port() for name in names}
        home = tmp / "dagster"
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        env = bench_env(
            PLATFORM_STATE_DIR=str(tmp),
            DAGSTER_HOME=str(home),
            **{f"PLATFORM_{name.upper()}": str(port) for name, port in ports.items()},
        )
        settings = load_settings(_env_file=None, state_dir=tmp, **ports)
        store = LocalStore(settings)
        try:
            for key in ("first", "restart", "warm"):
                if key == "restart":
                    store.stop()
                samples.add(key, run_job(env))
                meta = inventory_metadata(home)
                skipped = meta.get("spark_skipped") is True
                samples.skipped.setdefault(key, []).append(skipped)
                samples.add(f"{key}_write", 0.0 if skipped else float(meta["spark_seconds"]))
            samples.add("warm_plain", run_job(env, plain=True))
            samples.add("floor", run_floor(env))
            cli.down(settings)  # the store, the REST catalog and the Spark Connect server
            samples.add("store_start", timed(store.ensure_running))
            spark_endpoint = replace(
                targets.select(settings).endpoint(),
                credentials=identities.load(settings, identities.SPARK),
            )
            connect = SparkConnectServer(settings)
            samples.add("connect_start", timed(lambda: connect.ensure_running(spark_endpoint)))
            connect.stop()
            session = run_measured([python(), "-m", "bench.workers", "session"], env)
            samples.add("spark_session", session.check("bare Spark session").seconds)
            samples.add("spark_session_inner", json_lines(session.stdout)[-1]["seconds"])
        finally:
            cli.down(settings)


def import_samples(n: int) -> tuple[list[float], list[float]]:
    """Fresh interpreters: the code location's import vs the interpreter alone."""
    env = bench_env()

    def fresh(code: str) -> float:
        return timed(lambda: subprocess.run([python(), "-c", code], env=env, check=True))

    fresh("import platform_defs.definitions")  # compiles .pyc once; not measured
    bare = [fresh("pass") for _ in range(n)]
    loaded = [fresh("import platform_defs.definitions") for _ in range(n)]
    return loaded, bare


def cold_result(s: Samples, key: str, name: str) -> Result:
    """A cold run against the sum of its parts, repeat by repeat."""
    v = s.values
    spark = [not skipped for skipped in s.skipped[key]]
    parts = [
        start + (server + write if ran else 0.0)
        for start, server, write, ran in zip(
            v["store_start"], v["connect_start"], v[f"{key}_write"], spark, strict=True
        )
    ]
    label = (
        "store start + Spark Connect server start + write"
        if any(spark)
        else "store start (Spark skipped)"
    )
    result = Result(
        "bootstrap", name, median(v[key]), "s", label, median(parts),
        f"<= {COLD_GOAL}x its parts", samples=v[key], baseline_samples=parts,
        extra={"spark_started": spark, "write_seconds": v[f"{key}_write"]},
    )  # fmt: skip
    result.met = result.ratio <= COLD_GOAL
    return result


def run(args: argparse.Namespace) -> list[Result]:
    n = repeats(args, 3)
    s = Samples()
    for i in range(n):
        print(f"bootstrap: repeat {i + 1}/{n}", flush=True)
        one_repeat(s)
    v = s.values
    warm_skipped = all(s.skipped["warm"])
    warm = Result(
        "bootstrap", "warm (nothing to change)", median(v["warm"]), "s",
        "Dagster floor (one-op job, same CLI and instance)", median(v["floor"]),
        "< 3 s, Spark not started", samples=v["warm"], baseline_samples=v["floor"],
        extra={"spark_skipped": s.skipped["warm"]},
    )  # fmt: skip
    warm.met = warm.value < 3.0 and warm_skipped
    plain = Result(
        "bootstrap", "warm through Dagster's own `dagster` script", median(v["warm_plain"]), "s",
        "warm through make run's CLI (no heap teardown at exit)", median(v["warm"]), "",
        samples=v["warm_plain"], baseline_samples=v["warm"],
    )  # fmt: skip
    loaded, bare = import_samples(max(n, 5))
    imports = Result(
        "bootstrap", "import platform_defs.definitions", median(loaded), "s",
        "bare interpreter start", median(bare), "< 2 s", samples=loaded, baseline_samples=bare,
    )  # fmt: skip
    imports.met = imports.value < 2.0
    session = Result(
        "bootstrap", "bare Spark session (start + stop)", median(v["spark_session"]), "s",
        "store start alone", median(v["store_start"]), "",
        samples=v["spark_session"], baseline_samples=v["store_start"],
        extra={"in_process_seconds": v["spark_session_inner"]},
    )  # fmt: skip
    server = Result(
        "bootstrap", "Spark Connect server start", median(v["connect_start"]), "s",
        "bare Spark session (start + stop)", median(v["spark_session"]), "",
        samples=v["connect_start"], baseline_samples=v["spark_session"],
    )  # fmt: skip
    return [
        cold_result(s, "first", "cold, first run (nothing exists)"),
        cold_result(s, "restart", "cold, store stopped (data kept)"),
        warm,
        plain,
        imports,
        session,
        server,
    ]


if __name__ == "__main__":
    standalone("python -m bench.bootstrap", run)

"""UI benchmark: a materialization of the warm graph launched the way the Dagster UI launches it.

    python -m bench.ui [--repeat N]

One throwaway state directory, store and Dagster instance on free ports, never the developer's.
A cold `dagster job execute -j bootstrap_platform` (not measured) leaves the graph warm. Then
`dagster dev` serves the platform's code location and bench/floor_job.py's one-op job on that
instance, and each repeat launches through the webserver's GraphQL API (the mutation the UI
sends) `bootstrap_platform` (its Launch button), the same assets as Materialize on them sends
(the implicit asset job), then the floor job, each timed from the launch to the run's SUCCESS
as the instance records it. The floor is what any run pays on that path:
the run queue, the daemon's dequeue, the run launcher's fresh process and its imports.

Two instance configurations run in the same sitting: Dagster's defaults (the daemon looks at
the queue every 5 s) and `run_queue.dequeue_interval_seconds: 1`, what `make ui`'s instance
sets (platform_defs.cli.dagster_home). Goal (issue 16): the warm graph under 1.5 s.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import yaml

from bench.common import ROOT, Result, bench_env, median, python, repeats, scratch, standalone

GOAL_SECONDS = 1.5
LOCATION = "lakehouse_platform"  # workspace.yaml's name for the platform's code location
FLOOR = ROOT / "bench" / "floor_job.py"
FLOOR_LOCATION = "floor"
# instance configurations: None is the platform's own (platform_defs.cli.INSTANCE_YAML)
VARIANTS = {
    "dagster default (dequeue every 5 s)": "telemetry:\n  enabled: false\n",
    "platform (dequeue every 1 s)": None,
}


@contextmanager
def dagster_dev(env: dict[str, str], port: int, tmp: Path) -> Iterator[str]:
    """`dagster dev` on workspace.yaml's code location plus the floor job's; yields its URL
    once both are loaded."""
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    workspace["load_from"].append(
        {"python_file": {"relative_path": str(FLOOR), "location_name": FLOOR_LOCATION}}
    )
    (tmp / "workspace.yaml").write_text(yaml.safe_dump(workspace))
    log = tmp / "dagster-dev.log"
    cmd = [
        str(Path(python()).parent / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port),
        "-w", str(tmp / "workspace.yaml"),
    ]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_loaded(url, proc, log)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_loaded(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 600) -> None:
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dagster dev exited {proc.returncode}; see {log}")
        try:
            data = requests.post(f"{url}/graphql", json={"query": query}, timeout=10).json()
            entries = data["data"]["workspaceOrError"]["locationEntries"]
            if len(entries) == 2 and all(e["loadStatus"] == "LOADED" for e in entries):
                return
        except (requests.RequestException, KeyError, TypeError, ValueError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"dagster dev did not load both code locations in {seconds:.0f} s")


PHASES = {  # (from, to) run events: where a UI launch's seconds go
    "queued": ("RUN_ENQUEUED", "RUN_DEQUEUED"),
    "launch": ("RUN_DEQUEUED", "RUN_START"),
    "execute": ("RUN_START", "RUN_SUCCESS"),
}


def phases(instance: Any, run_id: str) -> dict[str, float]:
    """Seconds between the run's own events: waiting in the queue for the daemon, the run
    launcher's fresh process up to its first event, then the steps."""
    import dagster as dg

    at: dict[str, float] = {}
    for record in instance.get_records_for_run(run_id).records:
        event = record.event_log_entry.dagster_event
        if event is not None:  # the enum's names, not its values (PIPELINE_START, ...)
            name = dg.DagsterEventType(event.event_type_value).name
            at.setdefault(name, record.event_log_entry.timestamp)
    return {name: at[b] - at[a] for name, (a, b) in PHASES.items() if a in at and b in at}


BOOTSTRAP_GROUPS = ("platform", "storage", "warehouse")  # bootstrap_platform's selection


def bootstrap_asset_keys(url: str) -> list[list[str]]:
    """The bootstrap's assets as the UI lists them: what Materialize on them launches."""
    query = "{ assetNodes { assetKey { path } groupName isMaterializable } }"
    nodes = requests.post(f"{url}/graphql", json={"query": query}, timeout=60).json()
    return [
        node["assetKey"]["path"]
        for node in nodes["data"]["assetNodes"]
        if node["groupName"] in BOOTSTRAP_GROUPS and node["isMaterializable"]
    ]


def launch_and_wait(
    url: str,
    home: Path,
    job: str,
    location: str,
    run_config: dict[str, Any],
    assets: list[list[str]] | None = None,
) -> tuple[float, dict[str, float]]:
    """Seconds from the launch mutation to SUCCESS in the instance's run storage, and the
    run's phases."""
    import dagster as dg
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=int(url.rsplit(":", 1)[1]))
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        started = time.perf_counter()
        run_id = client.submit_job_execution(
            job, repository_location_name=location, run_config=run_config, asset_selection=assets
        )
        deadline = started + 600
        while time.perf_counter() < deadline:
            run = instance.get_run_by_id(run_id)
            if run is not None and run.is_finished:
                if run.status != dg.DagsterRunStatus.SUCCESS:
                    raise RuntimeError(f"{job} ended {run.status.value}; run {run_id} in {home}")
                return time.perf_counter() - started, phases(instance, run_id)
            time.sleep(0.02)
        raise RuntimeError(f"{job} did not finish in 600 s; run {run_id} in {home}")
    finally:
        instance.dispose()


Samples = dict[str, list[float]]


def one_variant(instance_yaml: str | None, n: int) -> tuple[Samples, Samples, Samples]:
    from platform_defs import cli
    from platform_defs.settings import load_settings
    from tools.local_servers import free_port

    names = ("s3_port", "console_port", "rest_catalog_port", "spark_connect_port")
    with scratch("ui") as tmp:
        ports = {name: free_port() for name in names}
        home = tmp / "dagster"
        home.mkdir()
        (home / "dagster.yaml").write_text(instance_yaml or cli.INSTANCE_YAML)
        env = bench_env(
            PLATFORM_STATE_DIR=str(tmp),
            DAGSTER_HOME=str(home),
            **{f"PLATFORM_{name.upper()}": str(port) for name, port in ports.items()},
        )
        settings = load_settings(_env_file=None, state_dir=tmp, **ports)
        bootstrap = yaml.safe_load((ROOT / "config" / "bootstrap.yaml").read_text())
        try:
            subprocess.run(
                [str(Path(python()).parent / "dagster"), "job", "execute", "-m",
                 "platform_defs.definitions", "-j", "bootstrap_platform",
                 "-c", str(ROOT / "config" / "bootstrap.yaml")],
                cwd=ROOT, env=env, check=True, capture_output=True,
            )  # fmt: skip
            warm: Samples = {}
            materialize: Samples = {}
            floor: Samples = {}
            with dagster_dev(env, free_port(), tmp) as url:
                keys = bootstrap_asset_keys(url)
                launch_and_wait(url, home, "bootstrap_platform", LOCATION, bootstrap)  # warm-up
                for _ in range(n):
                    for into, job, location, conf, assets in (
                        (warm, "bootstrap_platform", LOCATION, bootstrap, None),
                        (materialize, "__ASSET_JOB", LOCATION, {}, keys),
                        (floor, "floor", FLOOR_LOCATION, {}, None),
                    ):
                        seconds, parts = launch_and_wait(url, home, job, location, conf, assets)
                        for key, value in {"total": seconds, **parts}.items():
                            into.setdefault(key, []).append(value)
            return warm, materialize, floor
        finally:
            cli.down(settings)


def run(args: argparse.Namespace) -> list[Result]:
    n = repeats(args, 3)
    results = []
    for name, instance_yaml in VARIANTS.items():
        print(f"ui: {name}, {n} repeats", flush=True)
        warm, materialize, floor = one_variant(instance_yaml, n)
        floor_phases = {k: round(median(v), 2) for k, v in floor.items() if k != "total"}
        for what, samples in (
            ("Launch bootstrap_platform", warm),
            ("Materialize its assets", materialize),
        ):
            result = Result(
                "ui", f"warm: {what}, {name}", median(samples["total"]), "s",
                "one-op job from the UI (same path)", median(floor["total"]),
                f"< {GOAL_SECONDS} s", samples=samples["total"],
                baseline_samples=floor["total"],
                extra={
                    "phases_seconds": {
                        k: round(median(v), 2) for k, v in samples.items() if k != "total"
                    },
                    "floor_phases_seconds": floor_phases,
                },
            )  # fmt: skip
            print(f"  {what}: phases (median s) {result.extra['phases_seconds']}, "
                  f"floor {floor_phases}", flush=True)  # fmt: skip
            result.met = result.value < GOAL_SECONDS
            results.append(result)
    return results


if __name__ == "__main__":
    standalone("python -m bench.ui", run)

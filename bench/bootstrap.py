"""Bootstrap benchmark: how much of `make run` is the store starting, and how much is Dagster.

Measures, in one run and against one fresh state directory:
  - store start alone (LocalStore.ensure_running from stopped), the irreducible part;
  - the bootstrap job cold (store stopped) and warm (store running, nothing to change), each as
    `dagster job execute` in a subprocess, exactly as `make run` runs it;
and prints medians, spread and the ratios cold/store-start and warm/store-start.
It prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from platform_defs.resources.local_store import LocalStore  # noqa: E402
from platform_defs.settings import load_settings  # noqa: E402
from tests.s3_servers import free_port  # noqa: E402


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run_job(env: dict[str, str]) -> None:
    cmd = [
        str(Path(sys.executable).parent / "dagster"),
        *("job", "execute", "-m", "platform_defs.definitions", "-j", "bootstrap_platform"),
        *("-c", str(ROOT / "config" / "bootstrap.yaml")),
    ]
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"bootstrap job failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def summary(name: str, samples: list[float], baseline: float | None) -> str:
    med = statistics.median(samples)
    spread = f"{min(samples):.2f}-{max(samples):.2f}"
    ratio = f"{med / baseline:5.2f}x" if baseline else "  1.00x (baseline)"
    return f"{name:<34} median {med:6.2f} s  range {spread:>11} s  {ratio}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PLATFORM_STATE_DIR": tmp,
            "PLATFORM_S3_PORT": str(free_port()),
            "PLATFORM_CONSOLE_PORT": str(free_port()),
            "DAGSTER_HOME": str(Path(tmp) / "dagster"),
        }
        Path(env["DAGSTER_HOME"]).mkdir()
        (Path(env["DAGSTER_HOME"]) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        settings = load_settings(
            _env_file=None,
            state_dir=Path(tmp),
            s3_port=int(env["PLATFORM_S3_PORT"]),
            console_port=int(env["PLATFORM_CONSOLE_PORT"]),
        )
        store = LocalStore(settings)
        run_job(env)  # first-ever run: credentials, bucket; not measured
        store.stop()
        start, cold, warm = [], [], []
        for _ in range(args.repeat):
            start.append(timed(store.ensure_running))
            store.stop()
            cold.append(timed(lambda: run_job(env)))
            warm.append(timed(lambda: run_job(env)))
            store.stop()
        base = statistics.median(start)
        print(f"bootstrap benchmark ({args.repeat} repeats, backend {store.read_state()})")
        print(summary("store start alone", start, None))
        print(summary("bootstrap job, cold (store stopped)", cold, base))
        print(summary("bootstrap job, warm (nothing to do)", warm, base))
        print(f"orchestration overhead cold: {statistics.median(cold) - base:.2f} s")


if __name__ == "__main__":
    main()

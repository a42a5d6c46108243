"""What every benchmark shares: the Result record, statistics, shared flags, measured subprocesses.

Every figure is a ratio against a baseline measured in the same run on the same machine, so a
slower or busier machine moves both and the ratio stays comparable; absolute seconds alone would
not be. Benchmarks print and record figures and never assert a goal: whether a goal is met is
data for the report, not a pass/fail.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "bench" / "out"
MIB = 1 << 20


@dataclass
class Result:
    """One reported figure: its median over `samples`, its baseline's median and their ratio."""

    bench: str  # the module that produced it: bootstrap, sensor, ingest, inventory
    name: str
    value: float
    unit: str
    baseline_name: str
    baseline_value: float
    goal: str  # what "good" means, as text; "" when the issue sets none (a scale figure)
    met: bool | None = None  # the benchmark's reading of the goal; None when it has none
    samples: list[float] = field(default_factory=list)
    baseline_samples: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # size, peak RSS, spark_skipped, ...

    @property
    def ratio(self) -> float:
        return self.value / self.baseline_value if self.baseline_value else float("nan")

    @property
    def spread(self) -> tuple[float, float]:
        """min-max of the samples (few repeats: percentiles would just be min and max)."""
        return (min(self.samples), max(self.samples)) if self.samples else (self.value, self.value)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = self.ratio
        data["spread"] = list(self.spread)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        fields = {k: v for k, v in data.items() if k not in ("ratio", "spread")}
        return cls(**fields)

    def line(self) -> str:
        lo, hi = self.spread
        verdict = {True: "meets", False: "MISSES", None: "-"}[self.met]
        return (
            f"{self.bench:<10} {self.name:<44} {self.value:10.2f} {self.unit:<5} "
            f"[{lo:.2f}-{hi:.2f}]  {self.ratio:7.2f}x {self.baseline_name:<34} "
            f"goal: {self.goal or '(none set)'}  {verdict}"
        )


def median(samples: Sequence[float]) -> float:
    return float(statistics.median(samples))


def pct(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, enough for tens of samples."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def parser(prog: str, description: str | None = None) -> argparse.ArgumentParser:
    """The flags every benchmark accepts, so `python -m bench` can pass them all to each one."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument(
        "--quick",
        action="store_true",
        help="1 repeat, 0.25 GiB ingest, 1k objects, 20 ticks: checks the suite runs",
    )
    p.add_argument("--repeat", type=int, default=None, help="override the repeat count")
    p.add_argument("--sizes-gib", type=float, nargs="+", default=[1.0], help="ingest dataset sizes")
    p.add_argument(
        "--objects", type=int, nargs="+", default=[10_000], help="inventory bucket sizes"
    )
    p.add_argument("--json-out", type=Path, default=None, help="write the results here")
    return p


def repeats(args: argparse.Namespace, default: int, quick: int = 1) -> int:
    if args.repeat:
        return int(args.repeat)
    return quick if args.quick else default


def write_results(results: list[Result], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([r.to_json() for r in results], indent=2), encoding="utf-8")


def read_results(path: Path) -> list[Result]:
    return [Result.from_json(d) for d in json.loads(path.read_text(encoding="utf-8"))]


def standalone(
    prog: str,
    run: Callable[[argparse.Namespace], list[Result]],
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> None:
    """`python -m bench.<name>`: run one benchmark, print its figures, optionally save them.
    `add_arguments` adds flags only that benchmark takes (run alone, not by `python -m bench`)."""
    p = parser(prog)
    if add_arguments:
        add_arguments(p)
    args = p.parse_args()
    results = run(args)
    for result in results:
        print(result.line())
    if args.json_out:
        write_results(results, args.json_out)


def python() -> str:
    """The interpreter of this venv (the one with the project installed)."""
    return sys.executable


def bench_env(**overrides: str) -> dict[str, str]:
    """The current environment without any PLATFORM_* setting of the developer's own platform,
    so a benchmark never touches the store `make run` started; plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_")}
    env.update(PYTHONWARNINGS="ignore", PYTHONPATH=str(ROOT))
    env.update(overrides)
    return env


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{prefix}-") as tmp:
        yield Path(tmp)


# --- measured subprocesses -------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _status(pid: int) -> tuple[str, int]:
    """(name, VmHWM in bytes) of a process; VmHWM is the kernel's own peak-RSS mark."""
    name, hwm = "", 0
    try:
        for ln in Path(f"/proc/{pid}/status").read_text().splitlines():
            if ln.startswith("Name:"):
                name = ln.split()[1]
            elif ln.startswith("VmHWM:"):
                hwm = int(ln.split()[1]) * 1024
    except OSError:
        pass
    return name, hwm


@dataclass
class Measured:
    seconds: float
    returncode: int
    stdout: str
    stderr: str
    peak_rss: int  # the launched process itself (bytes)
    jvm_peak_rss: int  # the largest `java` descendant (the Spark driver), 0 if none

    def check(self, what: str) -> Measured:
        if self.returncode != 0:
            raise RuntimeError(f"{what} failed ({self.returncode}):\n{self.stderr[-3000:]}")
        return self


def run_measured(cmd: Sequence[str], env: dict[str, str], interval: float = 0.1) -> Measured:
    """Run `cmd`, timing it and sampling the VmHWM of it and its descendants until it exits.

    psutil is not a dependency here; /proc gives the same numbers. Sampling the high-water mark
    (not the current RSS) means a peak between two samples is still seen, unless the process
    exits in between: the sampler runs every `interval` seconds and a JVM lives for seconds.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), env=env, cwd=ROOT, stdout=out, stderr=err)
        peaks = {"self": 0, "java": 0}
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                tree, todo = _children(), [proc.pid]
                while todo:
                    pid = todo.pop()
                    todo.extend(tree.get(pid, []))
                    name, hwm = _status(pid)
                    key = "self" if pid == proc.pid else "java" if name == "java" else ""
                    if key:
                        peaks[key] = max(peaks[key], hwm)
                done.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # wait4's ru_maxrss may be a waited-for child's (the JVM's): only a fallback.
        self_peak = peaks["self"] or usage.ru_maxrss * 1024
        return Measured(seconds, proc.returncode, out.read(), err.read(), self_peak, peaks["java"])


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects a worker printed one per line (other output is ignored)."""
    found = []
    for ln in text.splitlines():
        if ln.startswith("{"):
            try:
                found.append(json.loads(ln))
            except ValueError:
                continue
    return found

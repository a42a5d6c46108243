"""`python -m bench [--quick] [--only NAME ...]`: run the suite, write bench/out/, print ratios.

Each benchmark runs as its own `python -m bench.<name>` process: Spark allows one session per
process and the sensor benchmark sets PLATFORM_* variables for its in-process Dagster code, so a
process per benchmark keeps them from measuring each other's leftovers. A benchmark that fails is
reported and the others still run; the exit status is 1 then. Goals are printed, never asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from bench.common import OUT_DIR, Result, bench_env, parser, python, read_results
from bench.report import machine, write_report

BENCHES = ("bootstrap", "ui", "sensor", "ingest", "inventory", "spark_connect")


def forwarded(args: argparse.Namespace) -> list[str]:
    """The shared flags, passed on to each benchmark process."""
    argv = ["--sizes-gib", *map(str, args.sizes_gib), "--objects", *map(str, args.objects)]
    if args.quick:
        argv.append("--quick")
    if args.repeat:
        argv += ["--repeat", str(args.repeat)]
    return argv


def main() -> int:
    p = parser("python -m bench", __doc__)
    p.add_argument("--only", action="append", choices=BENCHES, help="run only these (repeatable)")
    p.add_argument("--out", default=str(OUT_DIR), help="output directory (default bench/out)")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    failures: dict[str, str] = {}
    for name in args.only or BENCHES:
        part = out / f"{name}.json"
        part.unlink(missing_ok=True)
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        cmd = [python(), "-m", f"bench.{name}", *forwarded(args), "--json-out", str(part)]
        rc = subprocess.run(cmd, env=bench_env()).returncode
        print(f"== {name}: {time.perf_counter() - started:.0f} s, exit {rc}", flush=True)
        if rc != 0 or not part.exists():
            failures[name] = f"exit status {rc} (its output is above)"
            continue
        results += read_results(part)
        part.unlink()  # results.json is the one record of the run
    report = write_report(results, out, machine(), failures)
    print("\nEvery ratio with its goal (figure / baseline, median [min-max]):")
    for result in results:
        print(result.line())
    for name, why in failures.items():
        print(f"{name}: FAILED, {why}")
    print(f"\nreport: {report}\nresults: {out / 'results.json'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

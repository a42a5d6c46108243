"""Entry point: `python -m assets.spark_jobs {lake_inventory|maintenance} [--param k=v ...]`.

One SparkSession per process (its own JVM, or a client of the Spark Connect server). A failure is logged through Pipes (or stderr) as the platform
error that explains it, and the process exits 1, so the Dagster step fails with that message.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from platform_defs.errors import PlatformError
from platform_defs.spark.session import explain_failure
from platform_defs.spark_connect.client import spark_session, uses_connect

from . import inventory, maintenance
from .context import JobContext, job_context

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

JOBS: dict[str, Callable[[SparkSession, JobContext], dict[str, Any]]] = {
    "lake_inventory": inventory.run,
    "maintenance": maintenance.run,
}


def _parse(argv: Sequence[str] | None) -> tuple[str, dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m assets.spark_jobs")
    parser.add_argument("job", choices=sorted(JOBS))
    parser.add_argument("--param", action="append", default=[], metavar="KEY=JSON")
    args = parser.parse_args(argv)
    params: dict[str, Any] = {}
    for item in args.param:
        key, _, raw = item.partition("=")
        try:
            params[key] = json.loads(raw)
        except ValueError:
            params[key] = raw
    return str(args.job), params


def _open_pipes(stack: ExitStack) -> Any | None:
    """The PipesContext when Dagster launched us, else None (standalone debugging run)."""
    from dagster_pipes import DAGSTER_PIPES_CONTEXT_ENV_VAR, open_dagster_pipes

    if DAGSTER_PIPES_CONTEXT_ENV_VAR not in os.environ:
        return None
    return stack.enter_context(open_dagster_pipes())


def run_job(job: str, ctx: JobContext) -> dict[str, Any]:
    """PLATFORM_SPARK_MODE picks the session: a JVM of this process's own (`session`) or a
    client of the platform's Spark Connect server (`connect`, started if it is not running)."""
    with spark_session(ctx.settings, ctx.endpoint, app_name=f"lakehouse-{job}") as spark:
        mode = "through Spark Connect" if uses_connect(ctx.settings) else "in-process"
        ctx.reporter.log.info(f"spark {spark.version} up ({mode}); running {job}")
        try:
            return JOBS[job](spark, ctx)
        except PlatformError:
            raise
        except Exception as exc:
            raise explain_failure(exc, ctx.settings, ctx.endpoint) from exc


def main(argv: Sequence[str] | None = None) -> int:
    job, cli_params = _parse(argv)
    with ExitStack() as stack:
        pipes = _open_pipes(stack)
        try:
            ctx = job_context(pipes, cli_params)
            run_job(job, ctx)
        except PlatformError as exc:
            if pipes is not None:
                pipes.log.error(str(exc))
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

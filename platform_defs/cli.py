"""`python -m platform_defs.cli {status,down,reset,dagster-home,run-summary}`: what `make run`
prints and `make down` does.

Errors from the platform are printed as their message alone (exit 2): they are written for the
reader, and a traceback would only bury them.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import yaml

from platform_defs.clients.local_store import LocalStore
from platform_defs.credentials import write_private_text
from platform_defs.errors import PlatformError
from platform_defs.private import private_dir, private_tree, restrict_umask
from platform_defs.rest_catalog import config as rest_config
from platform_defs.rest_catalog.server import RestCatalogServer
from platform_defs.settings import PlatformSettings, load_settings
from platform_defs.spark_connect.client import uses_connect
from platform_defs.spark_connect.server import SparkConnectServer
from platform_defs.state_dir import require_writable


def status(settings: PlatformSettings) -> int:
    print(f"Platform target : {settings.target}")
    print(f"State directory : {settings.state_dir}")
    print(f"Namespace       : {settings.namespace} ({settings.namespace_dir})")
    if not settings.embedded_store:
        print(f"Object store    : external endpoint {settings.s3_endpoint}")
        print(f"Bucket          : s3://{settings.bucket}")
        return 0
    store = LocalStore(settings)
    state = store.running()
    if state is None:
        print("Object store    : not running (start it with `make run`)")
        return 1
    print(f"Object store    : {state.url}  ({state.backend} {state.version}, pid {state.pid})")
    if state.console_url:
        login = "the console login" if state.backend == "seaweedfs" else "the credentials"
        print(f"Console         : {state.console_url}  (log in with {login} below)")
    print(f"Bucket          : s3://{settings.bucket}")
    print(f"Data            : {store.data_dir}")
    print(f"Server log      : {store.log_file}")
    if settings.credentials_source == "generated":
        print(f"Credentials     : {settings.generated_credentials_file}  (0600, never in git)")
    if state.backend == "seaweedfs":
        print(f"Console login   : {store.console_credentials_file}  (0600; not root's keys)")
    _rest_status(settings)
    _spark_connect_status(settings)
    print(
        "Stop            : make down   (store, REST catalog, Spark Connect; data is kept; "
        "`make reset` deletes it)"
    )
    if settings.catalog_type == "jdbc":
        print(connect_help())
    return 0


def _rest_status(settings: PlatformSettings) -> None:
    server = RestCatalogServer(settings)
    state = server.running()
    if state is None:
        print("REST catalog    : not running (`make run` starts it)")
        return
    print(f"REST catalog    : {state.url}  (Iceberg REST, pid {state.pid}; log {server.log_file})")
    print(
        f"Catalog tokens  : {rest_config.token_file(settings, 'analyst').parent}  (0600; analyst reads only)"
    )


def _spark_connect_status(settings: PlatformSettings) -> None:
    server = SparkConnectServer(settings)
    state = server.running()
    if state is None:
        started = (
            "the default; a Spark step, `make run` or `make pyspark` starts it; "
            "PLATFORM_SPARK_MODE=session for a JVM per process instead"
            if uses_connect(settings)
            else "PLATFORM_SPARK_MODE=session: each Spark step starts its own JVM"
        )
        print(f"Spark Connect   : not running ({started})")
        return
    print(
        f"Spark Connect   : sc://{state.address}  (pid {state.pid}; token {server.token_file}, "
        f"0600; log {server.log_file}; PLATFORM_SPARK_MODE=session to run without it)"
    )


def connect_help() -> str:
    """How to reach the lake; works from any directory (keys come from the state directory)."""
    return f"""
Connect (README "Connect"): make sql | make spark-sql | make pyspark | eval "$(make -s env)"
From Python ({sys.executable}, any directory; identity analyst, read-only):
  from platform_defs.connect import catalog, duckdb, polars_scan
  catalog().load_table("ops.lake_inventory").scan().to_arrow()
  con = duckdb(); con.sql("SELECT * FROM lake.ops.lake_inventory").show()
  polars_scan("ops.lake_inventory").collect()"""


def down(settings: PlatformSettings) -> int:
    if SparkConnectServer(settings).stop():
        print("Spark Connect server stopped.")
    if RestCatalogServer(settings).stop():
        print("REST catalog stopped.")
    stopped = settings.embedded_store and LocalStore(settings).stop()
    print("Embedded object store stopped; data kept." if stopped else "No embedded store running.")
    return 0


def reset(settings: PlatformSettings) -> int:
    down(settings)
    if settings.namespace_dir.exists():
        shutil.rmtree(settings.namespace_dir)
        print(f"Deleted {settings.namespace_dir} (store data, catalog, generated credentials).")
    return 0


INSTANCE_YAML = """\
telemetry:
  enabled: false
run_queue:
  dequeue_interval_seconds: 1
"""


def dagster_home(settings: PlatformSettings) -> int:
    """Print (and create) the persistent Dagster instance directory under the state dir.

    Run history, event logs and compute logs (what every step printed) live there: the tree
    is made owner-only here, history an older platform left included. New files are private
    because the Makefile and the definitions module lower the umask for Dagster's processes.
    """
    require_writable(require_writable(settings.state_dir) / "dagster")
    home = private_dir(settings.state_dir / "dagster", root=settings.state_dir)
    private_tree(home)
    config = home / "dagster.yaml"
    if not config.exists():
        # A persistent local instance that does not phone home, and whose daemon looks at the
        # run queue every second: Dagster's 5 s default kept a run launched from the UI waiting
        # up to 5 s (bench/ui.py: the warm graph 11.1 s with it, 8.6 s with 1 s).
        write_private_text(config, INSTANCE_YAML)
    if _uses_sqlite(config) and not (home / "history" / "runs.db").exists():
        _create_instance_databases(home)
    print(home)
    return 0


def run_summary(job: str, invocation: str) -> int:
    """The one line `make run` ends a failed run with (read from $DAGSTER_HOME's instance)."""
    import dagster as dg

    from platform_defs.run_summary import summarize

    try:
        with dg.DagsterInstance.get() as instance:
            line = summarize(instance, job, invocation)
    except Exception as exc:  # the summary must never replace the failure with a traceback
        line = f"{job} failed; its run could not be read from DAGSTER_HOME: {exc}"
    print(line, file=sys.stderr)
    return 0


def _uses_sqlite(config: Path) -> bool:
    keys = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    return not {"storage", "run_storage", "event_log_storage", "schedule_storage"} & set(keys)


def _create_instance_databases(home: Path) -> None:
    """Dagster creates its SQLite databases (runs, run index, schedules) when a process first
    opens the instance, before it loads any code, so the definitions module's umask comes too
    late for them: open the instance here, under this command's umask 077, once."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)):
        pass


COMMANDS = {"status": status, "down": down, "reset": reset, "dagster-home": dagster_home}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="platform_defs.cli")
    parser.add_argument("command", choices=[*sorted(COMMANDS), "run-summary"])
    parser.add_argument("job", nargs="?", help="run-summary: the job `make run` executed")
    parser.add_argument("invocation", nargs="?", help="run-summary: its platform/invocation tag")
    args = parser.parse_args(argv)
    if args.command == "run-summary":  # before the settings: they may be why the run failed
        if not (args.job and args.invocation):
            parser.error("run-summary needs JOB and INVOCATION")
        return run_summary(args.job, args.invocation)
    restrict_umask()  # whatever this command creates in the state directory is the owner's
    try:
        settings = load_settings()
        return COMMANDS[args.command](settings)
    except PlatformError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""`python -m platform_defs.cli {status,down,reset}`: what `make run` prints and `make down` does.

Errors from the platform are printed as their message alone (exit 2): they are written for the
reader, and a traceback would only bury them.
"""

from __future__ import annotations

import argparse
import shutil
import sys

from platform_defs.errors import PlatformError
from platform_defs.resources.local_store import LocalStore
from platform_defs.settings import PlatformSettings, load_settings


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
        print(f"Console         : {state.console_url}  (log in with the credentials below)")
    print(f"Bucket          : s3://{settings.bucket}")
    print(f"Data            : {store.data_dir}")
    print(f"Server log      : {store.log_file}")
    if settings.credentials_source == "generated":
        print(f"Credentials     : {settings.generated_credentials_file}  (0600, never in git)")
    print("Stop the store  : make down   (data is kept; `make reset` deletes it)")
    return 0


def down(settings: PlatformSettings) -> int:
    stopped = settings.embedded_store and LocalStore(settings).stop()
    print("Embedded object store stopped; data kept." if stopped else "No embedded store running.")
    return 0


def reset(settings: PlatformSettings) -> int:
    down(settings)
    if settings.namespace_dir.exists():
        shutil.rmtree(settings.namespace_dir)
        print(f"Deleted {settings.namespace_dir} (store data, catalog, generated credentials).")
    return 0


def dagster_home(settings: PlatformSettings) -> int:
    """Print (and create) the persistent Dagster instance directory under the state dir."""
    home = settings.state_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():  # a persistent local instance that does not phone home
        config.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    print(home)
    return 0


COMMANDS = {"status": status, "down": down, "reset": reset, "dagster-home": dagster_home}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="platform_defs.cli")
    parser.add_argument("command", choices=sorted(COMMANDS))
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        return COMMANDS[args.command](settings)
    except PlatformError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

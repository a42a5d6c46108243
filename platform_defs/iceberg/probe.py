"""Read an Iceberg table from a separate process, with pyiceberg only (no Spark, no Dagster).

This is how an analyst's notebook sees the warehouse, so it is what the `lake_inventory` checks
exercise. The parent sends settings, endpoint and credentials as JSON on stdin (never argv, which
`ps` shows to everyone) and gets one JSON line back: rows, snapshot id, files, or an error.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from platform_defs.credentials import Credentials
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import PlatformError
from platform_defs.settings import PlatformSettings, load_settings


def request(settings: PlatformSettings, endpoint: StoreEndpoint, table: str) -> dict[str, Any]:
    return {
        "settings": settings.model_dump(mode="json"),
        "endpoint": {
            **endpoint.public(),
            "access_key": endpoint.credentials.access_key,
            "secret_key": endpoint.credentials.secret_key,
        },
        "table": table,
    }


def read_in_subprocess(
    settings: PlatformSettings, endpoint: StoreEndpoint, table: str, timeout: float = 120.0
) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "platform_defs.iceberg.probe"],
        input=json.dumps(request(settings, endpoint, table)),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"ok": False, "error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _read(payload: dict[str, Any]) -> dict[str, Any]:
    from platform_defs.iceberg.catalog import load_catalog

    ep = payload["endpoint"]
    settings = load_settings(_env_file=None, **payload["settings"])
    endpoint = StoreEndpoint.from_public(ep, Credentials(ep["access_key"], ep["secret_key"]))
    t0 = time.monotonic()
    table = load_catalog(settings, endpoint).load_table(payload["table"])
    snapshot = table.current_snapshot()
    rows = table.scan().to_arrow().num_rows
    return {
        "ok": True,
        "rows": rows,
        "snapshot_id": str(snapshot.snapshot_id) if snapshot else None,
        "read_seconds": round(time.monotonic() - t0, 3),
    }


def main() -> int:
    try:
        print(json.dumps(_read(json.loads(sys.stdin.read()))))
    except PlatformError as exc:
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
    except Exception as exc:  # the parent reports it as a failed check, not a crash
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

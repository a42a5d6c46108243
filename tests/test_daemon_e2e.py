"""End to end with a real Dagster daemon: the health sensor ticks on its own and its
observations land in the persistent instance, where the UI reads them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from tests import process_guard, reaper
from tests.s3_servers import free_port

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


def health_observations(instance: dg.DagsterInstance) -> list[dg.EventLogRecord]:
    """The health sensor's observations (the metrics sensor observes object_store too)."""
    records = instance.fetch_observations(dg.AssetKey("object_store"), limit=20).records
    return [r for r in records if r.asset_observation and "status" in r.asset_observation.metadata]


def test_daemon_ticks_health_sensor_and_records_observations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PLATFORM_STATE_DIR": str(tmp_path / "state"),
        "PLATFORM_S3_PORT": str(free_port()),
        "PLATFORM_CONSOLE_PORT": str(free_port()),
        # Nothing here starts the REST catalog or Spark Connect; ports of their own all the same.
        "PLATFORM_REST_CATALOG_PORT": str(free_port()),
        "PLATFORM_SPARK_CONNECT_PORT": str(free_port()),
        "PLATFORM_HEALTH_INTERVAL_SECONDS": "5",
        # An unchanged verdict is recorded once per heartbeat: here every tick.
        "PLATFORM_HEALTH_HEARTBEAT_SECONDS": "5",
    }
    for key in ("DAGSTER_HOME", "PLATFORM_S3_PORT", "PLATFORM_CONSOLE_PORT"):
        monkeypatch.setenv(key, env[key])
    bin_dir = Path(sys.executable).parent
    daemon: subprocess.Popen[bytes] | None = None
    try:
        # What the health sensor looks at: the store, its bucket and the canary identity (the
        # warehouse's Spark steps are the bootstrap tests' business, not the daemon's). The
        # timeout only guards against a hang; it is no performance limit.
        boot = subprocess.run(
            [str(bin_dir / "dagster"), "asset", "materialize", "-m", "platform_defs.definitions",
             "--select", "*service_identities"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert boot.returncode == 0, boot.stdout[-2000:] + boot.stderr[-2000:]
        with (tmp_path / "daemon.log").open("wb") as log:  # a file: a full pipe would block it
            daemon = process_guard.spawn(
                [str(bin_dir / "dagster-daemon"), "run", "-w", str(REPO / "workspace.yaml")],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        instance = dg.DagsterInstance.from_config(str(home))
        deadline = time.monotonic() + 120
        records: list[dg.EventLogRecord] = []
        while time.monotonic() < deadline and len(records) < 2:
            time.sleep(2)
            records = health_observations(instance)
        assert len(records) >= 2, "the daemon recorded fewer than two health ticks in 120 s"
        statuses = {
            r.asset_observation.metadata["status"].value
            for r in records
            if r.asset_observation and "status" in r.asset_observation.metadata
        }
        assert statuses == {"UP"}
    finally:  # the bootstrap's store too, also when the boot itself timed out
        if daemon is not None:
            process_guard.stop(daemon.pid, grace=30)
        subprocess.run(
            [sys.executable, "-m", "platform_defs.cli", "down"],
            cwd=REPO, env=env, timeout=60, check=False,
        )  # fmt: skip
        process_guard.stop_mentioning(tmp_path)
    assert daemon is not None
    daemon.wait(timeout=30)  # reap the leader; pgrep would list its zombie and init's
    leftovers = [f"{pid} {reaper.command(pid)}" for pid in reaper.group_members(daemon.pid)]
    assert not leftovers, f"daemon left processes behind: {leftovers}"

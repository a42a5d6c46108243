"""The state directory is private whatever the umask: run history, event logs, compute logs,
store data and keys are the owner's alone (every directory 0700, every file 0600).

The platform is run the way `make run` runs it (`cli dagster-home`, then `dagster job execute`),
from a shell whose umask is the common 022, with a small real job that starts the store.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from platform_defs.clients.local_store import LocalStore
from platform_defs.settings import load_settings
from tests.s3_servers import free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"


def not_private(root: Path) -> dict[str, str]:
    """Every directory not 0700 and every file not 0600 under `root` (symlinks not followed)."""
    found = {}
    for dirpath, dirs, files in os.walk(root):
        for name in [*dirs, *files, "."] if dirpath == str(root) else [*dirs, *files]:
            path = Path(dirpath, name)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                continue
            want = 0o700 if stat.S_ISDIR(mode) else 0o600
            if stat.S_IMODE(mode) != want:
                found[str(path.relative_to(root))] = f"{stat.S_IMODE(mode):o}"
    return found


def test_state_tree_is_private_after_a_dagster_run_under_umask_022(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PLATFORM_", "DAGSTER_"))},
        "PLATFORM_STATE_DIR": str(state),
        "PLATFORM_S3_PORT": str(free_port()),
        "PLATFORM_CONSOLE_PORT": str(free_port()),
        "PYTHONPATH": str(REPO),
        "PYTHONWARNINGS": "ignore::FutureWarning",
    }
    # What `make run` does, without make (whose recipe may set its own umask).
    script = (
        "umask 022\n"
        f'export DAGSTER_HOME="$({BIN}/python -m platform_defs.cli dagster-home)"\n'
        f"{BIN}/dagster job execute -m platform_defs.definitions -j remediate_object_store\n"
    )
    try:
        run = subprocess.run(
            ["bash", "-ec", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        history = state / "dagster"
        assert list(history.glob("storage/*/compute_logs/*")), "no compute logs were written"
        assert list(history.glob("history/runs/*.db")), "no event log database was written"
        assert (state / "analytics" / "object-store" / "data").is_dir()
        assert not_private(state) == {}
    finally:
        store_json = state / "analytics" / "object-store" / "store.json"
        if store_json.exists():
            ports = json.loads(store_json.read_text())
            settings = load_settings(
                _env_file=None,
                state_dir=state,
                s3_port=ports["s3_port"],
                console_port=ports["console_port"],
            )
            LocalStore(settings).stop()


def test_store_started_from_python_with_umask_022_is_private(tmp_path: Path) -> None:
    """Code that uses LocalStore directly (tests, notebooks) gets the same private tree, TLS
    material included: the modes are the platform's doing, not the caller's umask."""
    settings = load_settings(
        _env_file=None,
        state_dir=tmp_path / "state",
        s3_port=free_port(),
        console_port=free_port(),
        store_tls=True,
    )
    store = LocalStore(settings)
    previous = os.umask(0o022)
    try:
        store.ensure_running()
        assert not_private(settings.state_dir) == {}
    finally:
        os.umask(previous)
        store.stop()

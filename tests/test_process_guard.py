"""The test suite stops what it starts (issue 12, finding 10): on a timeout of either
pytest-timeout method, and a server that ignores SIGTERM is killed after a bounded wait.

The timeout tests run an inner pytest session in a subprocess with this repository's own
conftest (`-p tests.conftest`), so the S3 fixture is the real one: SeaweedFS started by the
platform's LocalStore. The inner session's base temporary directory is below this test's
tmp_path, which is how the outer test finds anything the inner one left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from platform_defs.clients.local_store import LocalStore
from platform_defs.settings import load_settings
from tests import process_guard, reaper
from tests.s3_servers import free_port

REPO = Path(__file__).resolve().parents[1]
INNER_TIMEOUT = """
import time

import pytest


def test_server_up(s3_server, tmp_path_factory):
    pid = s3_server.store.read_state().pid
    (tmp_path_factory.getbasetemp() / "server.pid").write_text(str(pid))


@pytest.mark.timeout(2)
def test_hangs_with_the_server_running(s3_server):
    time.sleep(300)
"""
INNER_START_HANGS = '''
import time

import pytest

from platform_defs.clients.local_store import process
from tests import s3_servers


@pytest.mark.timeout(3)
def test_times_out_while_the_server_starts(tmp_path, tmp_path_factory, monkeypatch):
    """As on a loaded machine: the server process is up, store.json not yet written."""
    spawn = process.LocalStore._spawn

    def spawn_and_note(self, launch):
        proc = spawn(self, launch)
        (tmp_path_factory.getbasetemp() / "server.pid").write_text(str(proc.pid))
        return proc

    monkeypatch.setattr(process.LocalStore, "_spawn", spawn_and_note)
    monkeypatch.setattr(process.LocalStore, "_wait_started", lambda *a: time.sleep(300))
    with s3_servers.local_store_server(tmp_path / "s3", "seaweedfs"):
        pass
'''
INNER_LEAK = """
import subprocess
import sys

from tests import process_guard

SLEEP = [sys.executable, "-c", "import time; time.sleep(600)"]


def test_forgets_its_processes(tmp_path):
    subprocess.Popen(SLEEP, cwd=tmp_path)  # unregistered, found by its directory
    process_guard.spawn(SLEEP)  # registered
"""
IGNORES_TERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(600)"
)


# Starts Python with SIGINT ignored, as a suite started with `... &` from a script is.
IGNORING_SIGINT = [
    sys.executable, "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])",
]  # fmt: skip


def inner_pytest(tmp_path: Path, source: str, *args: str, ignoring_sigint: bool = False) -> tuple[subprocess.CompletedProcess[str], Path]:  # fmt: skip
    """Run `source` as a test file in its own pytest session; returns (result, its basetemp).
    `subprocess.run` returns only once every holder of its output pipes is gone, the inner
    session's watchdog included, so whatever it reaps is reaped by then."""
    work = tmp_path / "inner"
    work.mkdir()
    (work / "test_inner.py").write_text(source)
    base = tmp_path / "inner-basetemp"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PLATFORM_TEST_S3_BACKEND": "seaweedfs",
    }
    proc = subprocess.run(
        [*(IGNORING_SIGINT if ignoring_sigint else [sys.executable]), "-m", "pytest",
         "-p", "tests.conftest", "-p", "no:cacheprovider",
         f"--basetemp={base}", "--timeout=300", "-q", *args, "test_inner.py"],
        cwd=work, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return proc, base


def _server_pid(base: Path, proc: subprocess.CompletedProcess[str]) -> int:
    pid_file = base / "server.pid"
    assert pid_file.exists(), "the inner session never had its server up:\n" + proc.stdout[-3000:]
    return int(pid_file.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("method", ["signal", "thread"])
def test_a_timed_out_test_leaves_no_server_running(tmp_path: Path, method: str) -> None:
    """signal: the timeout raises in the test and the fixture stops the server. thread: the
    inner pytest os._exit()s mid-test with no teardown, and its watchdog kills the server."""
    proc, base = inner_pytest(tmp_path, INNER_TIMEOUT, "-o", f"timeout_method={method}")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-3000:]
    assert "Timeout" in output, output[-3000:]
    pid = _server_pid(base, proc)
    assert not reaper.alive(pid), f"the inner session's server {pid} survived it"
    assert reaper.mentioning(str(base)) == [], "a process of the inner session survived it"
    if method == "thread":  # no teardown ran: only the watchdog can have stopped it
        assert "process guard: the test session left these running" in proc.stderr
        assert f"pid {pid} (seaweedfs server of " in proc.stderr
    else:
        assert "process guard" not in output, "the fixture itself must have stopped it"


@pytest.mark.slow
def test_a_timeout_while_the_server_starts_leaves_no_server_running(tmp_path: Path) -> None:
    """The timeout interrupts LocalStore.ensure_running after the spawn, before the pid is
    recorded anywhere the fixture could stop it by: the fixture finds it by its directory."""
    proc, base = inner_pytest(tmp_path, INNER_START_HANGS)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Timeout" in output, output[-3000:]
    pid = _server_pid(base, proc)
    assert not reaper.alive(pid), f"the half-started server {pid} survived the session"
    assert "process guard" not in output, "the fixture itself must have stopped it"


@pytest.mark.slow
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_a_process_that_outlives_the_fixtures_fails_the_session(
    tmp_path: Path, workers: list[str]
) -> None:
    """With xdist (as `make pytest` runs) the leak is found by the worker that ran the test,
    and the controller, whose exit status is the run's, reports it and fails."""
    proc, base = inner_pytest(tmp_path, INNER_LEAK, *workers)
    output = proc.stdout + proc.stderr
    assert "1 passed" in output, output[-3000:]
    assert proc.returncode == 1, "a leak must fail a session whose tests all passed"
    assert "process guard: 2 process(es) started by this session were still running" in output
    # At the end, where a CI log's tail shows it: the summary line says "1 passed" and only
    # this says why the exit status is 1.
    assert "process guard" in "\n".join(proc.stdout.splitlines()[-8:]), proc.stdout[-3000:]
    assert reaper.mentioning(str(base)) == []


AFTER_AN_IN_PROCESS_RUN = """
import signal, subprocess, sys
import dagster as dg

def test_a_process_started_after_a_dagster_run_dies_of_sigterm():
    @dg.asset
    def one() -> int:
        return 1

    assert dg.materialize([one]).success
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    child.terminate()
    try:
        assert child.wait(timeout=60) == -signal.SIGTERM
    finally:
        child.kill()
"""


@pytest.mark.slow
def test_a_suite_started_with_sigint_ignored_still_stops_its_processes(tmp_path: Path) -> None:
    """Dagster maps SIGTERM to SIGINT's disposition around every run (dagster._utils.interrupts),
    so in a session that inherited SIGINT ignored, one in-process run left SIGTERM ignored and
    every process started afterwards ignored `stop`'s SIGTERM through exec (issue 16's loaded
    run: two stop tests killed their sleepers after the grace)."""
    proc, _ = inner_pytest(tmp_path, AFTER_AN_IN_PROCESS_RUN, ignoring_sigint=True)
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout[-3000:]


@pytest.mark.slow
def test_stop_kills_a_process_that_ignores_sigterm_after_the_grace() -> None:
    proc = process_guard.spawn(
        [sys.executable, "-c", IGNORES_TERM], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    t0 = time.monotonic()
    assert process_guard.stop(proc.pid, grace=1.0) == "killed"
    assert time.monotonic() - t0 >= 1.0
    assert proc.wait(timeout=10) == -signal.SIGKILL


@pytest.mark.slow
def test_stop_terminates_a_well_behaved_process_without_kill() -> None:
    proc = process_guard.spawn([sys.executable, "-c", "import time; time.sleep(600)"])
    t0 = time.monotonic()
    how = process_guard.stop(proc.pid, grace=30.0)
    # Both in one comparison, so a failure shows how it ended, its exit status and the time.
    assert (how, proc.wait(timeout=10)) == ("terminated", -signal.SIGTERM), (
        f"after {time.monotonic() - t0:.1f} s"
    )


@pytest.mark.slow
def test_local_store_stop_kills_a_server_that_does_not_react_to_sigterm(tmp_path: Path) -> None:
    """A SIGSTOPped weed keeps SIGTERM pending forever: `make down` must still end it."""
    settings = load_settings(
        state_dir=tmp_path / "state", s3_port=free_port(), console_port=free_port()
    )
    store = LocalStore(settings)
    try:
        pid = store.ensure_running().state.pid
        process_guard.register(pid, "weed of test_local_store_stop")
        os.kill(pid, signal.SIGSTOP)
        t0 = time.monotonic()
        assert store.stop(timeout=2.0) is True
        assert time.monotonic() - t0 >= 2.0, "it waited the bounded time before SIGKILL"
        assert not reaper.alive(pid)
    finally:
        store.stop(timeout=2.0)

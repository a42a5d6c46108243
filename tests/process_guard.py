"""A pytest plugin: every process the test session starts is stopped, even on a timeout, and a
process that outlives the session's fixtures fails the session.

Loaded by tests/conftest.py. Three layers, because a timeout can end a test in two ways
(pytest-timeout: `signal` raises inside the test so finalizers run; `thread` calls `os._exit`,
so nothing in-process runs):

1. Fixtures start servers with `spawn` (own session, registered) and stop them with `stop`
   (SIGTERM to the group, a bounded wait, SIGKILL). Servers the platform's own code starts
   (the embedded store) are registered by the fixture that asked for them.
2. `pytest_sessionfinish` (after every fixture's teardown) looks for survivors, registered or
   found by the session's base temporary directory (see tests/reaper.py), stops them, and fails
   the session naming each: a survivor is a fixture that does not clean up.
3. A watchdog process started at configure time reaps after pytest is gone, however it went
   (`os._exit`, SIGKILL); an atexit handler covers exits that skip the session hooks.

PYTEST_DONT_REWRITE (imported by tests/s3_servers.py before pytest registers it as a plugin)
"""

from __future__ import annotations

import atexit
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import reaper

_GRACE = 10.0  # seconds between SIGTERM and SIGKILL
_REPORT = ".process-guard-report"  # a worker's survivors, for the controller (xdist)


@dataclass
class _Guard:
    registry: reaper.Registry
    root: str
    watchdog: subprocess.Popen[bytes] | None
    report: str = ""


_GUARD: _Guard | None = None


def register(pid: int, label: str) -> None:
    """Record a process this session started (a no-op outside a pytest session)."""
    if _GUARD is not None:
        _GUARD.registry.add(pid, label)


def spawn(argv: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """Popen in a session of its own (so its whole group can be stopped), registered."""
    proc: subprocess.Popen[Any] = subprocess.Popen(argv, start_new_session=True, **kwargs)
    register(proc.pid, " ".join(argv)[:200])
    return proc


def stop(pid: int, grace: float = _GRACE) -> str:
    """SIGTERM its group, wait up to `grace`, then SIGKILL: gone / terminated / killed."""
    return reaper.stop_all([pid], grace)[pid]


def stop_mentioning(path: Path, grace: float = _GRACE) -> list[str]:
    """Stop every process that runs in or points at `path` (a fixture's own directory): the
    backstop for servers whose start was interrupted before anyone learned their pid."""
    found = reaper.mentioning(str(path), exclude=_excluded())
    outcome = reaper.stop_all(found, grace)
    return [f"pid {pid}: {how}" for pid, how in outcome.items() if how != "gone"]


def _excluded() -> set[int]:
    """The watchdogs: ours, and the xdist workers' (each ends with its worker, and may still be
    sweeping when the controller looks; its command line names the base temporary directory)."""
    own = {_GUARD.watchdog.pid} if _GUARD and _GUARD.watchdog else set()
    return own | set(reaper.processes_running(reaper.__file__))


def _start_watchdog(config: pytest.Config, registry: reaper.Registry, root: str) -> Any:
    capman = config.pluginmanager.getplugin("capturemanager")
    argv = [sys.executable, reaper.__file__, str(registry.path), root]
    kwargs: dict[str, Any] = {"stdin": subprocess.PIPE, "stdout": subprocess.DEVNULL}
    # Its own session: a Ctrl-C to pytest's process group must not kill it before it reaps.
    kwargs["start_new_session"] = True
    if capman is None:
        return subprocess.Popen(argv, **kwargs)
    with capman.global_and_fixture_disabled():  # inherit the real stderr, not a capture file
        return subprocess.Popen(argv, **kwargs)


def _worker_id(config: pytest.Config) -> str | None:
    """pytest-xdist's worker name ("gw0"), None in the controller or a run without xdist."""
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else None


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """One guard per process that runs tests: under pytest-xdist each worker guards its own base
    temporary directory (`<basetemp>/popen-gwN`) with its own registry and watchdog, and
    hands what it found to the controller in a file (a worker's exit status is not the
    run's); the controller guards the whole base temporary directory once the workers end."""
    global _GUARD
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is None or _GUARD is not None:
        return
    root = factory.getbasetemp()
    registry = reaper.Registry(root / ".process-guard")
    _GUARD = _Guard(registry, str(root), None)
    _GUARD.watchdog = _start_watchdog(config, registry, str(root))
    atexit.register(_at_exit)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _GUARD is None:
        return
    left = reaper.reap(_GUARD.registry, _GUARD.root, exclude=_excluded(), grace=_GRACE)
    worker = _worker_id(session.config)
    reports = Path(_GUARD.root).parent if worker else Path(_GUARD.root)
    if worker is None:  # the controller (or a run without xdist): what the workers found
        for found in sorted(reports.glob(f"{_REPORT}-*")):
            left += found.read_text(encoding="utf-8").splitlines()
    if not left:
        return
    if worker is not None:
        (reports / f"{_REPORT}-{worker}").write_text("\n".join(left), encoding="utf-8")
        return
    _GUARD.report = (
        f"process guard: {len(left)} process(es) started by this session were still running "
        "after every fixture's teardown (a fixture or test that does not stop what it "
        "starts, or one a timeout interrupted while it started something); "
        "stopped them:\n  " + "\n  ".join(left)
    )
    if session.config.pluginmanager.getplugin("terminalreporter") is None:
        print(_GUARD.report, file=sys.stderr)
    if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Runs after `pytest_sessionfinish`: the report lands next to the short test summary, at
    the end of the output where a CI log's tail shows it (a run whose every test passed but
    whose exit status is 1 must say why there)."""
    if _GUARD is not None and _GUARD.report:
        terminalreporter.write_sep("=", "process guard", red=True)
        terminalreporter.write_line(_GUARD.report, red=True)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Let the watchdog do its last sweep now, while pytest still waits for it."""
    global _GUARD
    guard, _GUARD = _GUARD, None
    if guard is None or guard.watchdog is None:
        return
    if guard.watchdog.stdin is not None:
        guard.watchdog.stdin.close()
    try:
        guard.watchdog.wait(timeout=4 * _GRACE)
    except subprocess.TimeoutExpired:
        guard.watchdog.kill()


def _at_exit() -> None:
    """Exits that skip the session hooks (sys.exit in a plugin): stop what was registered."""
    if _GUARD is not None:
        reaper.stop_all(_GUARD.registry.alive(), grace=_GRACE)


def signal_set(pid: int, field: str) -> int:
    """A process's signal set from /proc (`SigIgn`, `SigCgt`, `SigBlk`), as a bit mask."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1], 16)
    raise AssertionError(f"no {field} in /proc/{pid}/status")

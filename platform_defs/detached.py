"""Helpers for the detached servers the platform starts and finds again (the embedded object
store, the REST catalog, the Spark Connect server): each runs in a session of its own, outlives the run that started it,
and is stopped as a whole process group. One copy here, so both stop and lock the same way."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from platform_defs.private import open_private, private_dir

T = TypeVar("T")


def read_state(state_file: Path, state_type: Callable[..., T]) -> T | None:
    """A server's recorded state, or None when it was never written or no longer parses (a
    state file from an older version is the same as none: the server is started afresh)."""
    try:
        fields: dict[str, Any] = json.loads(state_file.read_text(encoding="utf-8"))
        return state_type(**fields)
    except (FileNotFoundError, ValueError, TypeError):
        return None


def live_cmdline(pid: int) -> list[bytes] | None:
    """The arguments of a live process, None when it is gone or a zombie: what each server
    compares with what it started, so a reused pid running something else never counts."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    return None if is_zombie(pid) else cmdline


def is_zombie(pid: int) -> bool:
    """True for a finished process not yet reaped, and for one that does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def group_running(pgid: int) -> bool:
    """True while any process of the server's group is alive (children hold ports too)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pgid, os.WNOHANG)  # reap if it is our child
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    members = [
        p for p in Path("/proc").iterdir() if p.name.isdigit() and _pgid(int(p.name)) == pgid
    ]
    return any(not is_zombie(int(p.name)) for p in members)


def terminate_group(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM the group led by `pid`, wait up to `timeout`, then SIGKILL and wait briefly."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not group_running(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    while group_running(pid) and time.monotonic() < end + 5:
        time.sleep(0.05)


@contextlib.contextmanager
def exclusive_lock(directory: Path, state_dir: Path) -> Iterator[None]:
    """An flock on `<directory>/.lock`: starts and stops of one server never overlap."""
    private_dir(directory, root=state_dir)
    with os.fdopen(open_private(directory / ".lock", os.O_WRONLY), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def spawn(
    argv: list[str], log_file: Path, cwd: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start a server in a session of its own (it survives the run that started it), its output
    appended to `log_file`, owner-only files (umask 077). OSError when it cannot be executed."""
    with os.fdopen(open_private(log_file, os.O_WRONLY | os.O_APPEND), "ab") as log:
        log.write(f"\n=== {time.ctime()} starting {argv}\n".encode())
        log.flush()
        return subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=env,
            start_new_session=True,
            umask=0o077,
        )


def log_tail(log_file: Path, lines: int = 25) -> str:
    try:
        text = log_file.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log yet)"
    return "\n".join(text.splitlines()[-lines:])


def wait_until(check: Callable[[], bool], seconds: float, interval: float = 0.2) -> bool:
    """Poll `check` until it is true or `seconds` have passed (the servers have no ready event)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(interval)
    return False


def wait_started(
    proc: subprocess.Popen[bytes],
    healthy: Callable[[], bool],
    seconds: float,
    *,
    exited: Callable[[int], Exception],
    timed_out: Callable[[], Exception],
    interval: float = 0.1,
) -> None:
    """Wait for a server just spawned to answer, raising `exited(code)` the moment it dies
    (no point waiting out the deadline for a process that is gone) or `timed_out()` after
    stopping its group: a server that never answered must not be left running."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            raise exited(code)
        if healthy():
            return
        time.sleep(interval)
    terminate_group(proc.pid)
    raise timed_out()

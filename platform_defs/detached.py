"""The detached servers the platform starts and finds again (the embedded object store, the REST
catalog, the Spark Connect server): each runs in a session of its own, outlives the run that
started it, and is stopped as a whole process group. `DetachedServer` holds their one lifecycle
(reuse a healthy server started with this configuration, else restart or start it, under a
lock; stop); each server says only what is its own: how it starts, what makes it alive,
healthy and still matching its configuration."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from platform_defs.credentials import write_private_text
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


# Signals an exec keeps ignored or blocked, reset as a shell started from a terminal has them:
# a `make run &` from a script ignores SIGINT, Dagster maps SIGTERM to SIGINT's disposition
# around every run, Python ignores SIGPIPE and SIGXFSZ; a JVM never installs its shutdown
# handler for a signal it inherited ignored, so a server started inside such a step would
# outlive `make down`'s SIGTERM until its SIGKILL. SIGHUP is left as given (nohup's choice).
_RESET_SIGNALS = ("SIGINT", "SIGQUIT", "SIGTERM", "SIGPIPE", "SIGXFSZ")
_EXEC_WITH_DEFAULT_SIGNALS = (
    "import os, signal, sys\n"
    f"for name in {_RESET_SIGNALS!r}:\n"
    "    signal.signal(getattr(signal, name), signal.SIG_DFL)\n"
    "signal.pthread_sigmask(signal.SIG_SETMASK, ())\n"
    "os.execv(sys.argv[1], sys.argv[2:])\n"
)


def _executable(argv0: str, cwd: Path, env: dict[str, str]) -> str:
    """The file exec would run for `argv0`, resolved here so that a server that cannot be
    executed stays an OSError in the caller (the exec itself happens in the child)."""
    if "/" in argv0:
        path = str(cwd / argv0)
    else:
        path = shutil.which(argv0, mode=os.F_OK, path=env.get("PATH", os.defpath)) or ""
    if not os.path.isfile(path):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), argv0)
    if not os.access(path, os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    return path


def with_default_signals(argv: list[str], cwd: Path, env: dict[str, str]) -> list[str]:
    """`argv` run through an exec that first resets `_RESET_SIGNALS` to their defaults and
    empties the signal mask; the pid and, after the exec, the argv are the program's own.
    OSError here when `argv[0]` cannot be executed."""
    executable = _executable(argv[0], cwd, env)
    return [sys.executable, "-I", "-S", "-c", _EXEC_WITH_DEFAULT_SIGNALS, executable, *argv]


def spawn(
    argv: list[str], log_file: Path, cwd: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start a server in a session of its own (it survives the run that started it), its output
    appended to `log_file`, owner-only files (umask 077), with default signal dispositions and
    an empty signal mask whatever this process has (see `_RESET_SIGNALS`); the pid is the
    server's own, through an exec. OSError when it cannot be executed."""
    command = with_default_signals(argv, cwd, env)
    with os.fdopen(open_private(log_file, os.O_WRONLY | os.O_APPEND), "ab") as log:
        log.write(f"\n=== {time.ctime()} starting {argv}\n".encode())
        log.flush()
        return subprocess.Popen(
            command,
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


class ServerState(Protocol):
    """What every server records in its state file: a dataclass with the pid it started."""

    __dataclass_fields__: ClassVar[dict[str, Any]]
    pid: int


S = TypeVar("S", bound=ServerState)


class DetachedServer(Generic[S]):
    """One server's state file, lock, log and lifecycle. Subclasses set `state_type`, the
    paths (in `__init__`) and `is_alive`/`is_healthy`; `ensure_running` of each calls
    `_reuse_or_start` holding `_lock()`."""

    state_type: type[S]
    probe_timeout = 1.0  # each health probe while waiting for a server to answer
    root: Path
    state_dir: Path
    state_file: Path
    log_file: Path

    def read_state(self) -> S | None:
        return read_state(self.state_file, self.state_type)

    def is_alive(self, state: S) -> bool:
        """The recorded pid is alive and still runs this server (not a reused pid)."""
        raise NotImplementedError

    def is_healthy(self, state: S, timeout: float = 2.0) -> bool:
        """The server answers as its clients need it to."""
        raise NotImplementedError

    def running(self) -> S | None:
        state = self.read_state()
        return state if state and self.is_alive(state) else None

    def log_tail(self, lines: int = 25) -> str:
        return log_tail(self.log_file, lines)

    def stop(self, timeout: float = 15.0) -> bool:
        """Stop the server, keeping its data. False when nothing of ours was running."""
        with self._lock():
            state = self.read_state()
            if not state or not self.is_alive(state):
                return False
            self._terminate(state.pid, timeout)
            return True

    def _reuse_or_start(
        self,
        matches: Callable[[S], bool],
        start: Callable[[S | None], S],
        healthy_within: float = 5.0,
    ) -> tuple[S, str]:
        """Holding the lock: the live server when it `matches` this configuration and turns
        healthy within `healthy_within` s ("reused"), else a new one from `start(previous)`
        ("restarted" when there was a previous one, dead or stopped here; else "started")."""
        state = self.read_state()
        if state and self.is_alive(state):
            live = state
            if matches(live) and self._wait_healthy(live, healthy_within):
                return live, "reused"
            self._terminate(live.pid)
        return start(state), "restarted" if state else "started"

    def _wait_healthy(self, state: S, seconds: float) -> bool:
        return wait_until(lambda: self.is_healthy(state, timeout=self.probe_timeout), seconds)

    def _write_state(self, state: S) -> None:
        write_private_text(self.state_file, json.dumps(asdict(state), indent=2))

    def _terminate(self, pid: int, timeout: float = 15.0) -> None:
        terminate_group(pid, timeout)

    def _lock(self) -> contextlib.AbstractContextManager[None]:
        return exclusive_lock(self.root, self.state_dir)

"""One bootstrap at a time per state directory.

Two `make run` (or `dagster job execute -j bootstrap_platform`) on one state directory used to
both do all the work: two Spark sessions, one Iceberg commit conflict retried, and no word that
the other was running. The lock is an `flock` on a file in the state directory, so the kernel
releases it when its holder exits, however it exits: a crashed or killed run never leaves a stale
lock behind. The holder writes who it is into the file, so the second run can say which process
to wait for.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from platform_defs.errors import AlreadyRunningError, StateDirError
from platform_defs.state_dir import require_writable

LOCK_FILE = "bootstrap.lock"
_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class LockHolder:
    pid: int
    job: str
    started_at: float

    def describe(self) -> str:
        started = datetime.fromtimestamp(self.started_at).astimezone().isoformat(timespec="seconds")
        return f"pid {self.pid}, started at {started}"


class RunLock:
    """Exclusive per state directory; `acquire` waits at most `wait_seconds` for the holder."""

    def __init__(self, state_dir: Path, job: str) -> None:
        self.state_dir = state_dir
        self.path = state_dir / LOCK_FILE
        self.job = job
        self._fh: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._fh is not None

    def acquire(self, wait_seconds: float = 0.0) -> None:
        if self._fh is not None:
            return  # re-entrant within one run
        require_writable(self.state_dir)
        try:  # O_CREAT without O_TRUNC: opening must not erase the current holder's note
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StateDirError(
                f"Cannot open the run lock {self.path}: {exc.strerror}. Fix its permissions "
                "(it must be readable and writable by the user running the platform)."
            ) from None
        fh = os.fdopen(fd, "r+", encoding="utf-8")
        deadline = time.monotonic() + max(wait_seconds, 0.0)
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fh)
                    fh.close()
                    raise AlreadyRunningError(self._message(holder, wait_seconds)) from None
                time.sleep(_POLL_SECONDS)
        fh.seek(0)
        fh.truncate()
        note = {"pid": os.getpid(), "job": self.job, "started_at": time.time()}
        fh.write(json.dumps(note) + "\n")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is None:
            return
        with contextlib.suppress(OSError):
            fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()
        self._fh = None

    def _message(self, holder: LockHolder | None, waited: float) -> str:
        who = holder.describe() if holder else "pid unknown: it has not written its note yet"
        job = holder.job if holder else self.job
        after = f" (waited {waited:.0f} s)" if waited > 0 else ""
        return (
            f"{job} is already running ({who}) on state directory {self.state_dir}{after}. "
            "Wait for it to finish (a second run now would only repeat its work), or set "
            "PLATFORM_RUN_LOCK_WAIT_SECONDS=<seconds> to have this run wait for it."
        )


def _read_holder(fh: IO[str]) -> LockHolder | None:
    """The holder's note; it writes it right after taking the lock, so retry briefly."""
    for _ in range(10):
        fh.seek(0)
        try:
            note = json.loads(fh.read() or "null")
        except ValueError:
            note = None
        if isinstance(note, dict):
            with contextlib.suppress(KeyError, TypeError, ValueError):
                return LockHolder(int(note["pid"]), str(note["job"]), float(note["started_at"]))
        time.sleep(0.05)
    return None

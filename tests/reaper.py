"""Find and stop the processes a test session started, however the session ends.

Standard library only: besides being imported by the pytest plugin (tests/process_guard.py),
this file runs as the session's watchdog, a process of its own that outlives pytest. It reads
its stdin until EOF, which comes when pytest exits in any way (normal end, `os._exit` from
pytest-timeout's thread method, SIGKILL), and then stops whatever the session left behind.

A process belongs to the session when it was registered (pid plus its start time, so a reused
pid is never mistaken for ours) or when its working directory, command line or environment
names the session's base temporary directory: every server a test starts runs in, or is pointed
at, a directory below it (the autouse fixture sets PLATFORM_STATE_DIR there for every test).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import Iterable
from pathlib import Path

PROC = Path("/proc")


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from field 3 (state) on; the command name may contain spaces."""
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_time(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[19]) if fields else None  # field 22: start time in clock ticks


def pgid(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[2]) if fields else None  # field 5


def alive(pid: int, started: int | None = None) -> bool:
    """Running (not a zombie) and, when `started` is given, the very process that was."""
    fields = _stat(pid)
    if not fields or fields[0] in ("Z", "X"):
        return False
    return started is None or int(fields[19]) == started


def command(pid: int) -> str:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:200] or "?"


def _pids() -> list[int]:
    return [int(p.name) for p in PROC.iterdir() if p.name.isdigit()]


def group_members(group: int) -> list[int]:
    """The live members of a process group. Zombies are not members: a child that outlived
    its parent is reparented to init, and this machine's init may take its time to reap it."""
    return [p for p in _pids() if pgid(p) == group and alive(p)]


def _leads_own_group(pid: int) -> bool:
    """Started with start_new_session (or setsid): the whole group can be signalled."""
    return pgid(pid) == pid and pid != os.getpgrp()


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if _leads_own_group(pid) or (not alive(pid) and group_members(pid)):
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def _gone(pid: int) -> bool:
    """Dead or a zombie (left for its parent, e.g. a Popen, to reap), its group too."""
    return not alive(pid) and not group_members(pid)


def stop_all(pids: Iterable[int], grace: float = 10.0) -> dict[int, str]:
    """SIGTERM each process (its group when it leads one), wait up to `grace` seconds for all,
    then SIGKILL what is left. Returns how each ended: gone (already), terminated, killed."""
    outcome: dict[int, str] = {}
    for pid in pids:
        if _gone(pid):
            outcome[pid] = "gone"
        else:
            _signal(pid, signal.SIGTERM)
            outcome[pid] = "terminated"
    waiting = [p for p, how in outcome.items() if how == "terminated"]
    deadline = time.monotonic() + grace
    while waiting and time.monotonic() < deadline:
        waiting = [p for p in waiting if not _gone(p)]
        time.sleep(0.1)
    for pid in waiting:  # ignored SIGTERM (or stopped with SIGSTOP: TERM stays pending)
        _signal(pid, signal.SIGKILL)
        outcome[pid] = "killed"
    deadline = time.monotonic() + 10
    while any(not _gone(p) for p in waiting) and time.monotonic() < deadline:
        time.sleep(0.05)
    return outcome


def _ancestors() -> set[int]:
    found, pid = set(), os.getpid()
    while pid > 1:
        found.add(pid)
        fields = _stat(pid)
        pid = int(fields[1]) if fields else 1  # field 4: ppid
    return found


def processes_running(path: str) -> list[int]:
    """Live processes whose command line holds `path` (a script's file name)."""
    needle = path.encode()
    found = []
    for pid in _pids():
        with contextlib.suppress(OSError):
            if needle in (PROC / str(pid) / "cmdline").read_bytes() and alive(pid):
                found.append(pid)
    return found


def mentioning(root: str, exclude: Iterable[int] = ()) -> list[int]:
    """Live processes whose cwd, command line or environment names `root` (as a whole path
    component: /tmp/pytest-2 does not match /tmp/pytest-23)."""
    needle = re.compile(re.escape(root.rstrip("/").encode()) + rb"(?=[/\x00\s:'\"]|$)")
    skip = _ancestors() | set(exclude)
    found = []
    for pid in _pids():
        if pid in skip or not alive(pid):
            continue
        with contextlib.suppress(OSError):
            cwd = os.readlink(PROC / str(pid) / "cwd").encode()
            blobs = [cwd, (PROC / str(pid) / "cmdline").read_bytes()]
            blobs.append((PROC / str(pid) / "environ").read_bytes())
            if any(needle.search(blob) for blob in blobs):
                found.append(pid)
    return found


def describe(pid: int) -> str:
    """Its command line's start and its working directory: a JVM's command line is a class
    path, its directory (a state directory below a test's tmp_path) names who started it."""
    try:
        cwd = os.readlink(PROC / str(pid) / "cwd")
    except OSError:
        cwd = "?"
    return f"{command(pid)[:120]} ... in {cwd}"


class Registry:
    """Append-only file of `pid start_time label` lines, shared with the watchdog."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def add(self, pid: int, label: str) -> None:
        started = start_time(pid)
        if started is None:
            return  # already gone
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(f"{pid} {started} {label.replace(chr(10), ' ')[:200]}\n")

    def entries(self) -> list[tuple[int, int, str]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            pid, started, label = ([*line.split(" ", 2), ""])[:3]
            out.append((int(pid), int(started), label))
        return out

    def alive(self) -> dict[int, str]:
        """Registered processes (or their groups) still running, pid -> label."""
        return {
            pid: label
            for pid, started, label in self.entries()
            if alive(pid, started) or (not alive(pid) and group_members(pid))
        }


def survivors(registry: Registry, root: str, exclude: Iterable[int] = ()) -> dict[int, str]:
    found = registry.alive()
    for pid in mentioning(root, exclude):
        found.setdefault(pid, describe(pid))
    return found


def reap(
    registry: Registry, root: str, exclude: Iterable[int] = (), grace: float = 10.0
) -> list[str]:
    """Stop every survivor; one line per process that was still running."""
    found = survivors(registry, root, exclude)
    outcome = stop_all(found, grace)
    return [f"pid {pid} ({found[pid]}): {how}" for pid, how in outcome.items() if how != "gone"]


def watch(registry_path: str, root: str) -> int:
    """The watchdog: wait for the session to end (EOF on stdin), then reap."""
    sys.stdin.buffer.read()
    lines = reap(Registry(Path(registry_path)), root, exclude={os.getpid()})
    if lines:
        print(
            "process guard: the test session left these running; stopped them:\n  "
            + "\n  ".join(lines),
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(watch(sys.argv[1], sys.argv[2]))

"""Start the components, record exactly which processes they are, and stop exactly those.

Each process runs in a session of its own (so a Ctrl-C to the terminal does not reach it and its
group can be signalled) and is recorded in `<state>/pids.json` with its start time as the kernel
reports it: a PID the kernel has since given to another process never matches, so `down` can
never signal a stranger, and a stale file from a crashed run is harmless.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class Proc:
    """One started component: its name, PID and kernel start time (clock ticks since boot)."""

    name: str
    pid: int
    start_ticks: int
    log: str


def start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat, or None when no such process exists."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) is parenthesised and may contain spaces: split after it.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


def is_running(proc: Proc) -> bool:
    """True when `proc` is still the very process that was started (not a reused PID) and is
    not a zombie waiting to be reaped."""
    if start_ticks(proc.pid) != proc.start_ticks:
        return False
    try:
        state = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


class Registry:
    """The state directory's pids.json, rewritten atomically after each change."""

    def __init__(self, state: Path) -> None:
        self.path = state / "pids.json"

    def load(self) -> list[Proc]:
        if not self.path.is_file():
            return []
        return [Proc(**entry) for entry in json.loads(self.path.read_text())]

    def save(self, procs: Sequence[Proc]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps([asdict(p) for p in procs], indent=2) + "\n")
        tmp.replace(self.path)


def spawn(
    registry: Registry,
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    on_start: Callable[[int, str], None] | None = None,
) -> Proc:
    """Start `argv` with its output in `<state>/logs/<name>.log`, recorded before returning."""
    logs = registry.path.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    with log.open("ab") as out:
        popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=dict(env) if env is not None else None,
        )
    ticks = start_ticks(popen.pid)
    proc = Proc(name, popen.pid, ticks if ticks is not None else -1, str(log))
    registry.save([*registry.load(), proc])
    if on_start is not None:
        on_start(popen.pid, f"k8s-testenv {name}")
    return proc


def _reap(pid: int) -> None:
    """Collect the exit status of our own child (no-op for a process we did not fork)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _stop_one(proc: Proc, grace: float) -> str:
    if not is_running(proc):
        return "gone"
    os.kill(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(proc.pid)
        if not is_running(proc):
            return "terminated"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    for _ in range(100):
        _reap(proc.pid)
        if not is_running(proc):
            break
        time.sleep(0.05)
    return "killed"


def stop(procs: Sequence[Proc], grace: float = GRACE_SECONDS) -> dict[str, str]:
    """Stop each recorded process that is still itself, one at a time in reverse start order
    (the apiserver's graceful shutdown still needs etcd: stopping both at once makes it hang
    until killed): SIGTERM, up to `grace` to exit, then SIGKILL. name -> gone / terminated /
    killed."""
    return {proc.name: _stop_one(proc, grace) for proc in reversed(procs)}


def stop_recorded(registry: Registry, grace: float = GRACE_SECONDS) -> dict[str, str]:
    """Stop what `registry` records, then forget it."""
    outcome = stop(registry.load(), grace)
    registry.save([])
    return outcome


def rss_kib(procs: Sequence[Proc]) -> int:
    """Resident memory of the recorded processes that are still running, in KiB."""
    total = 0
    for proc in procs:
        if not is_running(proc):
            continue
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total

"""The signal state a detached server starts with: it must answer `make down`'s SIGTERM whatever
the run that started it inherited (a `make run &` from a script ignores SIGINT, and Dagster maps
SIGTERM to SIGINT's disposition around every run, so a server started inside a step would
otherwise ignore SIGTERM, and a JVM never installs its shutdown handler for an ignored signal)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from platform_defs import detached
from tests import process_guard

RESET = (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM)
DEFAULT_AFTER_EXEC = (*RESET, signal.SIGPIPE, signal.SIGXFSZ)  # Python ignores these two


def _bits(signals: tuple[signal.Signals, ...]) -> int:
    return sum(1 << (s - 1) for s in signals)


@pytest.fixture
def parent_ignoring_and_blocking() -> Iterator[None]:
    """This process as a step of `make run &` leaves it: SIGINT, SIGQUIT, SIGTERM ignored, and
    SIGTERM blocked as well (a mask survives exec just as an ignored disposition does)."""
    saved = {s: signal.getsignal(s) for s in RESET}
    for s in RESET:
        signal.signal(s, signal.SIG_IGN)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        for s, handler in saved.items():
            signal.signal(s, handler)


def test_a_server_answers_sigterm_whatever_its_parent_ignored(
    tmp_path: Path, parent_ignoring_and_blocking: None
) -> None:
    proc = detached.spawn(["sleep", "300"], tmp_path / "log", tmp_path, dict(os.environ))
    process_guard.register(proc.pid, "detached sleeper")
    try:  # the pid is the server's own once the exec is done: what each server records
        assert detached.wait_until(
            lambda: (detached.live_cmdline(proc.pid) or [b""])[0] == b"sleep", 60, interval=0.02
        ), detached.live_cmdline(proc.pid)
        assert detached.live_cmdline(proc.pid) == [b"sleep", b"300", b""]
        assert process_guard.signal_set(proc.pid, "SigIgn") & _bits(DEFAULT_AFTER_EXEC) == 0
        assert process_guard.signal_set(proc.pid, "SigBlk") & _bits(DEFAULT_AFTER_EXEC) == 0
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=60) == -signal.SIGTERM
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_a_server_that_cannot_be_executed_is_an_oserror_in_the_caller(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-server"
    with pytest.raises(FileNotFoundError):
        detached.spawn([str(missing)], tmp_path / "log", tmp_path, dict(os.environ))
    not_executable = tmp_path / "plain-file"
    not_executable.write_text("#!/bin/sh\n")
    with pytest.raises(PermissionError):
        detached.spawn([str(not_executable)], tmp_path / "log", tmp_path, dict(os.environ))
    with pytest.raises(FileNotFoundError):
        detached.spawn(
            ["no-such-server-on-path"], tmp_path / "log", tmp_path, {"PATH": "/nonexistent"}
        )

"""`pipes_logs._Follow`: a log follow that never ends (kwok's; a lost node's) stops once the
Pipes `closed` message has come, and every line before it reached the handler.

The stream here is a stand-in for the HTTP response: what is tested is the thread's stopping
rule, which no server can be made to exercise on demand (the live path runs in
test_bootstrap_live.py, on kwok's real never-ending follow)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from platform_defs.k8s import pipes_logs

LINES = [
    b"2026-12-02T10:00:00.000000001Z first\n",
    b'2026-12-02T10:00:00.000000002Z {"closed": true}\n',
]


class _Response:
    """Yields LINES, then blocks as a follow with no end does, until shut down."""

    def __init__(self) -> None:
        self.shut = threading.Event()

    def stream(self) -> Iterator[bytes]:
        yield from LINES
        self.shut.wait()
        raise ConnectionError("shut down")

    def shutdown(self) -> None:
        self.shut.set()

    def release_conn(self) -> None:
        pass


class _Core:
    def __init__(self) -> None:
        self.response = _Response()
        self.calls: list[dict[str, Any]] = []

    def read_namespaced_pod_log(self, *args: Any, **kwargs: Any) -> _Response:
        self.calls.append(kwargs)
        return self.response


class _Handler:
    """Records what `extract_message_or_forward_to_stdout` hands on."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    @property
    def received_closed_message(self) -> bool:
        return any("closed" in line for line in self.lines)

    def handle_message(self, message: Any) -> None:
        self.lines.append(str(message))

    def handle_log_line(self, line: str) -> None:  # not a Pipes message
        self.lines.append(line)


def test_a_follow_that_never_ends_stops_after_the_closed_message(monkeypatch: Any) -> None:
    handler = _Handler()
    monkeypatch.setattr(
        pipes_logs,
        "extract_message_or_forward_to_stdout",
        lambda h, log: h.lines.append(log),
    )
    core = _Core()
    follow = pipes_logs._Follow(core, "pod", "ns", handler)
    follow.start()
    began = time.monotonic()
    follow.finish(grace=30.0)
    assert time.monotonic() - began < 10, "finish waited for the grace instead of the message"
    assert not follow.is_alive()
    assert core.response.shut.is_set()
    assert handler.lines == ["first", '{"closed": true}']
    assert core.calls[0]["follow"] is True and core.calls[0]["timestamps"] is True

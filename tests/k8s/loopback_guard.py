"""During `cluster` tests, any in-process socket connection to a non-loopback address fails the
test.

The loopback control plane gives pods TEST-NET-1 addresses (192.0.2.0/24) and Services
TEST-NET-2 addresses so that the API accepts them; they are never routed and nothing may ever
dial them (the store is reached through the platform's own port-forward to 127.0.0.1). A
connection attempt elsewhere is refused before any packet leaves (`socket.socket.connect` and
`connect_ex` are patched; `create_connection`, urllib3 and ssl sockets go through them) and is
also recorded, so a test whose code swallows the error still fails at teardown. Unix sockets
are allowed. Subprocesses (kubectl, the components) are outside its reach: they are configured
with loopback addresses only (tools/k8s_testenv/components.py).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest


class NonLoopbackConnection(ConnectionRefusedError):
    """Raised in place of a connection to an address outside 127.0.0.0/8 and ::1."""


def _hosts(address: Any) -> list[str]:
    """The IP addresses a connect() target resolves to (a name is looked up as connect would)."""
    host, port = address[0], address[1]
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        return [str(info[4][0]) for info in infos]


def is_loopback(address: Any) -> bool:
    try:
        return all(ipaddress.ip_address(h.split("%")[0]).is_loopback for h in _hosts(address))
    except (OSError, ValueError):
        return False


class Guard:
    """Patches socket connects for its lifetime and records every refused target."""

    def __init__(self) -> None:
        self.refused: list[str] = []
        self._saved: dict[str, Any] = {}

    def _check(self, sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address):
            self.refused.append(repr(address))
            raise NonLoopbackConnection(
                f"cluster tests connect to loopback only; refused {address!r} (pod and Service "
                "addresses are TEST-NET and never routed: reach a pod through port-forward)"
            )

    def __enter__(self) -> Guard:
        original_connect = socket.socket.connect
        original_connect_ex = socket.socket.connect_ex
        self._saved = {"connect": original_connect, "connect_ex": original_connect_ex}
        guard = self

        def connect(sock: socket.socket, address: Any) -> None:
            guard._check(sock, address)
            original_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            guard._check(sock, address)
            return original_connect_ex(sock, address)

        socket.socket.connect = connect  # type: ignore[method-assign,assignment]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        socket.socket.connect = self._saved["connect"]  # type: ignore[method-assign]
        socket.socket.connect_ex = self._saved["connect_ex"]  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _loopback_only(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("cluster") is None:
        yield
        return
    with Guard() as guard:
        yield
    if guard.refused:
        pytest.fail(f"non-loopback connections attempted: {', '.join(guard.refused)}")

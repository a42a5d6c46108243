"""A loopback TCP proxy in front of a real S3 server that can stall or refuse PUT requests.

Health verdicts must tell a write that timed out (a loaded store: DEGRADED, retried) from a
write the server refused (READ_ONLY). A loaded machine does not time out on demand, and MinIO
(whose write-quorum answer is `503 SlowDownWrite`) cannot run here, so this proxy is the stand-in
for both: every other request reaches the real SeaweedFS byte for byte (signatures included,
the Host header is unchanged), one request per connection (`Connection: close` is added).
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from dataclasses import dataclass

_MAX_HEAD = 64 * 1024
STALL_SECONDS = 30.0  # longer than any client timeout in the tests; bounded so threads end


@dataclass
class Fault:
    """What to do with the next `count` PUTs (count < 0: every PUT)."""

    kind: str  # "stall" or "refuse"
    count: int = -1
    status: int = 503
    code: str = "SlowDownWrite"

    def take(self) -> bool:
        if self.count == 0:
            return False
        if self.count > 0:
            self.count -= 1
        return True


class FaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.fault: Fault | None = None
        self.faulted = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = int(self._sock.getsockname()[1])
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closing.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _take_fault(self, method: bytes) -> Fault | None:
        with self._lock:
            if method != b"PUT" or self.fault is None or not self.fault.take():
                return None
            self.faulted += 1
            return self.fault

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            head, rest = _read_head(conn)
            if head is None:
                return
            fault = self._take_fault(head.split(b" ", 1)[0])
            if fault is not None and fault.kind == "stall":
                conn.settimeout(STALL_SECONDS)
                with contextlib.suppress(OSError):  # hold until the client gives up
                    while conn.recv(65536) and not self._closing.is_set():
                        pass
                return
            if fault is not None:
                _drain_body(conn, head, rest)
                body = f"<Error><Code>{fault.code}</Code><Message>refused by the fault proxy</Message></Error>"
                conn.sendall(
                    f"HTTP/1.1 {fault.status} Refused\r\nContent-Type: application/xml\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}".encode()
                )
                return
            with socket.create_connection(self.upstream, timeout=STALL_SECONDS) as up:
                up.sendall(_with_connection_close(head) + rest)
                _pipe(conn, up, self._closing)


def _read_head(conn: socket.socket) -> tuple[bytes | None, bytes]:
    conn.settimeout(STALL_SECONDS)
    data = b""
    try:
        while b"\r\n\r\n" not in data and len(data) < _MAX_HEAD:
            chunk = conn.recv(65536)
            if not chunk:
                return None, b""
            data += chunk
    except OSError:
        return None, b""
    head, _, rest = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def _drain_body(conn: socket.socket, head: bytes, rest: bytes) -> None:
    missing = _content_length(head) - len(rest)
    with contextlib.suppress(OSError):
        while missing > 0:
            chunk = conn.recv(min(missing, 65536))
            if not chunk:
                return
            missing -= len(chunk)


def _with_connection_close(head: bytes) -> bytes:
    lines = [
        line
        for line in head.rstrip(b"\r\n").split(b"\r\n")
        if not line.lower().startswith(b"connection:")
    ]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n"


def _pipe(a: socket.socket, b: socket.socket, closing: threading.Event) -> None:
    """Copy both ways until either side closes (bounded by STALL_SECONDS of silence)."""
    peers = {a: b, b: a}
    while not closing.is_set():
        ready, _, _ = select.select(list(peers), [], [], STALL_SECONDS)
        if not ready:
            return
        for sock in ready:
            try:
                data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            peers[sock].sendall(data)

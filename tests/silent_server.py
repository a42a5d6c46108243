"""A TCP server on 127.0.0.1 that accepts every connection and never sends a byte.

The stand-in for a database, S3 endpoint or API server that hangs (a wedged process, a
black-holing proxy): the kernel completes the handshake, so only a read timeout can end the
client's wait. Closing the server closes the accepted sockets too, which ends any client still
waiting (a test that failed because a call hung does not hang the session).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class SilentServer:
    port: int
    accepted: list[socket.socket] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextmanager
def silent_server() -> Iterator[SilentServer]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    server = SilentServer(port=listener.getsockname()[1])
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server.accepted.append(conn)  # kept open, never read, never answered

    thread = threading.Thread(target=accept, name="silent-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for conn in server.accepted:
            conn.close()


@contextmanager
def version_only_apiserver() -> Iterator[str]:
    """An HTTP server that answers GET /version like a Kubernetes API server and never answers
    anything else: a probe passes, then the next call (discovery) hangs."""
    import http.server
    import json

    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/version":
                body = json.dumps({"gitVersion": "v1.37.2"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            release.wait(timeout=120)  # hang until the server is stopped

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="version-only-api", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)

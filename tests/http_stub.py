"""A small HTTP server on 127.0.0.1 for tests: a stand-in for a user's webhook receiver or for
MinIO's metrics endpoint. It answers every request with `status` and `body` and records what it
was sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HttpStub:
    def __init__(self) -> None:
        self.status, self.body = 200, b""
        self.received: list[object] = []  # ("GET", path) or a POSTed JSON body
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                self.send_response(owner.status)
                self.end_headers()
                self.wfile.write(owner.body)

            def do_GET(self) -> None:
                owner.received.append(("GET", self.path))
                self._answer()

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                owner.received.append(json.loads(self.rfile.read(length)))
                self._answer()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@contextmanager
def running() -> Iterator[HttpStub]:
    stub = HttpStub()
    thread = threading.Thread(target=stub.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.httpd.shutdown()
        stub.httpd.server_close()
        thread.join(timeout=10)

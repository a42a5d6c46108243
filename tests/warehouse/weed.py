"""A real S3 server for tests: SeaweedFS `weed mini` on loopback, stoppable and restartable.

Minimal stand-in until the shared `s3_server` fixture lands in tests/conftest.py on main; the kill
test needs its own server it can stop and restart on the same data dir and ports.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from platform_defs.credentials import Credentials
from platform_defs.endpoint import StoreEndpoint

WEED = Path(sys.executable).with_name("weed")


def _free_http_port() -> int:
    """A port P with P and P+10000 free (weed puts gRPC on http+10000)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port + 10000 > 65535:
            continue
        with socket.socket() as s2:
            try:
                s2.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")


class WeedServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.ports = {}
        chosen: set[int] = set()
        for name in ("master", "volume", "filer", "s3", "admin"):
            port = _free_http_port()
            while port in chosen or port + 10000 in chosen:
                port = _free_http_port()
            chosen |= {port, port + 10000}
            self.ports[name] = port
        self.credentials = Credentials(
            access_key="test-" + secrets.token_hex(6), secret_key=secrets.token_urlsafe(24)
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> StoreEndpoint:
        url = f"http://127.0.0.1:{self.ports['s3']}"
        return StoreEndpoint(url=url, credentials=self.credentials, backend="seaweedfs")

    def start(self, timeout: float = 30.0) -> None:
        data = self.root / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.root / "s3.json"
        identity = {
            "name": "root",
            "credentials": [
                {"accessKey": self.credentials.access_key, "secretKey": self.credentials.secret_key}
            ],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"identities": [identity]}, fh)
        p = self.ports
        cmd = [str(WEED), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
               "-master.telemetry=false", f"-master.port={p['master']}",
               f"-volume.port={p['volume']}", f"-filer.port={p['filer']}", f"-s3.port={p['s3']}",
               f"-admin.port={p['admin']}", "-webdav=false", "-s3.port.iceberg=0",
               "-s3.port.lance=0", "-s3.allowDeleteBucketNotEmpty=false",
               "-s3.autoCreateBucket=false", f"-s3.config={config}"]  # fmt: skip
        log = (self.root / "weed.log").open("ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited; see {self.root / 'weed.log'}")
            try:
                with urllib.request.urlopen(f"{self.endpoint.url}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("weed did not become healthy")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

"""What answers on kwok's port-forward target in the live bootstrap test: a stand-in for a MinIO
pod, made of a real SeaweedFS for S3 and a stand-in for MinIO's own HTTP APIs.

kwok runs no containers, so the `iceberg-minio` pod the platform rolls out never listens; kwok
sends every `kubectl port-forward` to one loopback port. This router serves that port:

- `/minio/admin/v3/*`: a stand-in for MinIO's admin API (no MinIO binary or image runs here).
  It does what the platform's `MinioIdentityAdmin` asks, but for real: a canned policy named
  `platform-<bucket>-<role>` attached to a user becomes that role's SeaweedFS identity (the same
  actions `SeaweedFileAdmin` grants), so the blocking least-privilege check is proved against a
  real server, not against a recorder. Only requests signed with root's access key are served.
- `/minio/health/*` and `/minio/v2/metrics/*`: answered as a healthy MinIO would (200).
- everything else: relayed byte-for-byte (Host header included, so SigV4 signatures still
  verify) to the real SeaweedFS started with MinIO's generated root keys.
"""

from __future__ import annotations

import http.client
import io
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from minio.crypto import decrypt
from urllib3.response import HTTPResponse

from platform_defs import identities
from platform_defs.clients.local_store import LocalStore
from platform_defs.credentials import Credentials
from platform_defs.identities.admin import SeaweedFileAdmin

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "content-length"}


def _decrypt(body: bytes, secret_key: str) -> dict[str, object]:
    """An admin request body the SDK encrypted with root's secret (`minio.crypto.decrypt` reads
    from a response, so the body is wrapped in one)."""
    payload = HTTPResponse(body=io.BytesIO(body), preload_content=False)
    return dict(json.loads(decrypt(payload, secret_key)))


@dataclass
class AdminStandIn:
    """MinIO's admin API as the platform uses it, backed by SeaweedFS identities."""

    store: LocalStore
    bucket: str
    root: Credentials
    policies: dict[str, dict[str, object]] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    attached: dict[str, list[str]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _role(self, policy: str) -> identities.Role:
        for role in identities.ROLES:
            if identities.minio_policy_name(role, self.bucket) == policy:
                return role
        raise ValueError(f"policy {policy!r} names no platform role for bucket {self.bucket}")

    def _grant(self, user: str) -> None:
        admin = SeaweedFileAdmin(self.store, self.bucket)
        for policy in self.attached.get(user, []):
            admin.grant(self._role(policy), Credentials(user, self.users[user]))

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        url = urlsplit(path)
        command = url.path.split("/minio/admin/v3/", 1)[-1]
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with self.lock:
            self.calls.append(f"{method} {command}")
            if command == "add-canned-policy":
                self.policies[query["name"]] = json.loads(body)
            elif command == "add-user":
                secret = str(_decrypt(body, self.root.secret_key)["secretKey"])
                self.users[query["accessKey"]] = secret
                self._grant(query["accessKey"])  # MinIO keeps a user's policy on a new secret
            elif command == "user-info":
                if query["accessKey"] not in self.users:
                    return 404, b'{"Code": "XMinioAdminNoSuchUser"}'
                names = ",".join(self.attached.get(query["accessKey"], []))
                return 200, json.dumps({"status": "enabled", "policyName": names}).encode()
            elif command == "idp/builtin/policy/attach":
                doc = _decrypt(body, self.root.secret_key)
                user, policies = str(doc["user"]), [str(p) for p in doc["policies"]]  # type: ignore[attr-defined]
                known = self.attached.setdefault(user, [])
                known.extend(p for p in policies if p not in known)
                self._grant(user)
                return 204, b""  # the SDK then reads no (encrypted) answer
            elif command == "remove-user":
                self.users.pop(query["accessKey"], None)
                self.attached.pop(query["accessKey"], None)
            else:
                return 501, f"stand-in does not implement {command}".encode()
        return 200, b""


class Router:
    """The HTTP server on kwok's forward port; `close()` stops it (fixtures call it)."""

    def __init__(self, port: int, s3_port: int, admin: AdminStandIn) -> None:
        self.admin = admin
        self.relayed = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _body(self) -> bytes:
                if self.headers.get("transfer-encoding", "").lower() == "chunked":
                    out = b""
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        out += self.rfile.read(size)
                        self.rfile.readline()
                    self.rfile.readline()
                    return out
                return self.rfile.read(int(self.headers.get("content-length") or 0))

            def _send(self, code: int, body: bytes, headers: list[tuple[str, str]]) -> None:
                self.send_response(code)
                for key, value in headers:
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _answer(self) -> None:
                body = self._body()
                if self.path.startswith("/minio/admin/"):
                    signed = f"Credential={outer.admin.root.access_key}/"
                    if signed not in self.headers.get("authorization", ""):
                        self._send(403, b"", [("Content-Length", "0")])
                        return
                    code, answer = outer.admin.handle(self.command, self.path, body)
                    self._send(code, answer, [("Content-Length", str(len(answer)))])
                elif self.path.startswith(("/minio/health/", "/minio/v2/metrics/")):
                    self._send(200, b"", [("Content-Length", "0")])
                else:
                    self._relay(body)

            def _relay(self, body: bytes) -> None:
                conn = http.client.HTTPConnection("127.0.0.1", s3_port, timeout=60)
                try:
                    conn.putrequest(
                        self.command, self.path, skip_host=True, skip_accept_encoding=True
                    )
                    for key, value in self.headers.items():
                        if key.lower() not in HOP_BY_HOP:
                            conn.putheader(key, value)
                    conn.putheader("Content-Length", str(len(body)))
                    conn.endheaders(body)
                    answer = conn.getresponse()
                    data = answer.read()
                    headers = [
                        (k, v)
                        for k, v in answer.getheaders()
                        if k.lower() not in HOP_BY_HOP - {"content-length"}
                    ]
                    if self.command != "HEAD":
                        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                        headers.append(("Content-Length", str(len(data))))
                    outer.relayed += 1
                    self._send(answer.status, data, headers)
                finally:
                    conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

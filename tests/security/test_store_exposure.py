"""An intruder on the same host, with no credentials, against every listener of the embedded
SeaweedFS store: only S3 (signed requests) and the console (login) may serve anything.

`weed mini` also runs a filer, a master and a volume server with HTTP and gRPC listeners on
127.0.0.1, which every local user can reach. Without `security.toml` they serve the whole store:
bucket listings, object bytes, writes into the warehouse, recursive deletes that remove every
version, and the master hands out write tokens. Each probe, over plain HTTP and over TLS
without a client certificate, must be refused (401/403, 404 because the route is not served,
a refused handshake, or no connection) and must change nothing.
"""

from __future__ import annotations

import io
import re
import subprocess
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
import requests
import urllib3

from platform_defs.clients.s3 import ObjectStore
from tests.security.conftest import Platform, start_platform

pytestmark = pytest.mark.slow

GRPC_OFFSET = 10000
REFUSED = {401, 403, 404}
_FILE_ID = re.compile(r'"fileId":\s*"([^"]+)"')
_FILER_LIST = "/filer_pb.SeaweedFiler/ListEntries"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from start_platform(tmp_path_factory)


@dataclass(frozen=True)
class Written:
    bucket: str
    key: str
    version: str
    body: bytes
    fid: str


def _weed_shell(platform: Platform, command: str) -> str:
    """`weed shell` as the store's owner: with the store's own security config (if any), the
    privileged way to find where an object's bytes live on the volume server."""
    state = platform.store.running()
    assert state is not None
    master = state.internal_ports[0]
    config = platform.store.root / "security"
    out = subprocess.run(
        [
            state.binary,
            f"-config_dir={config}",
            "shell",
            f"-master=127.0.0.1:{master}.{master + GRPC_OFFSET}",
        ],
        input=command + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=platform.store.root,
        check=False,
    )
    return out.stdout + out.stderr


def _write(platform: Platform, bucket: str, key: str) -> Written:
    root = ObjectStore(platform.root)
    body = f"intruder-must-not-read-{uuid.uuid4().hex}".encode()
    result = root.client.put_object(bucket, key, io.BytesIO(body), len(body))
    version = str(result.version_id)
    shown = _weed_shell(platform, f"fs.meta.cat /buckets/{bucket}/{key}.versions/v_{version}")
    match = _FILE_ID.search(shown)
    assert match, f"could not find the object's volume file id:\n{shown}"
    return Written(bucket, key, version, body, match.group(1))


def _versions(platform: Platform, bucket: str) -> list[tuple[str, str | None, bool]]:
    root = ObjectStore(platform.root).client
    listed = root.list_objects(bucket, recursive=True, include_version=True)
    return sorted((o.object_name or "", o.version_id, o.is_delete_marker) for o in listed)


_PLAIN_TO_TLS = b"Client sent an HTTP request to an HTTPS server"


def _refused(method: str, url: str, **kwargs: object) -> tuple[bool, str]:
    """(refused, what it answered) for one request without credentials. Refused: 401, 403,
    404 (not served), no connection, a TLS handshake that wants a client certificate, or Go's
    400 for plain HTTP sent to a TLS port. The server's certificate is not checked: an
    intruder would not care."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            resp = requests.request(
                method, url, timeout=10, allow_redirects=False, verify=False, **kwargs
            )
    except requests.ConnectionError as exc:  # SSLError included
        return True, type(exc).__name__
    refused = resp.status_code in REFUSED or (
        resp.status_code == 400 and _PLAIN_TO_TLS in resp.content
    )
    return refused, f"{resp.status_code}: {resp.content[:120]!r}"


def test_internal_http_apis_refuse_requests_without_credentials(platform: Platform) -> None:
    bucket = platform.settings.bucket
    sacrificial = f"victim-{uuid.uuid4().hex[:8]}"
    ObjectStore(platform.root).ensure_bucket(sacrificial)
    ObjectStore(platform.root).ensure_versioning(sacrificial)
    data = _write(platform, bucket, "warehouse/probe/data/00000-0.parquet")
    other = _write(platform, sacrificial, "raw/other.json")
    before = _versions(platform, bucket)

    state = platform.store.running()
    assert state is not None
    master, volume, filer = state.internal_ports
    probes = {
        "filer: list buckets": (
            "GET",
            filer,
            "/buckets/",
            {"headers": {"Accept": "application/json"}},
        ),
        "filer: list the warehouse": ("GET", filer, f"/buckets/{bucket}/warehouse/?limit=100", {}),
        "filer: GET an object written through S3": (
            "GET",
            filer,
            f"/buckets/{bucket}/{data.key}.versions/v_{data.version}",
            {},
        ),
        "filer: GET another bucket's object": (
            "GET",
            filer,
            f"/buckets/{sacrificial}/{other.key}.versions/v_{other.version}",
            {},
        ),
        "filer: POST a file into the warehouse": (
            "POST",
            filer,
            f"/buckets/{bucket}/warehouse/x",
            {"files": {"file": ("x", b"planted by an intruder")}},
        ),
        "filer: recursive DELETE of the warehouse": (
            "DELETE",
            filer,
            f"/buckets/{bucket}/warehouse/?recursive=true&ignoreRecursiveError=true",
            {},
        ),
        "master: /dir/assign (a write token)": ("GET", master, "/dir/assign", {}),
        "master: /vol/status": ("GET", master, "/vol/status", {}),
        "master: /dir/status": ("GET", master, "/dir/status", {}),
        "master: /cluster/status": ("GET", master, "/cluster/status", {}),
        "master: status page": ("GET", master, "/", {}),
        "master: /col/delete of a bucket's collection": (
            "GET",
            master,
            f"/col/delete?collection={sacrificial}",
            {},
        ),
        "volume: /status": ("GET", volume, "/status", {}),
        "volume: GET of an object's fid": ("GET", volume, f"/{data.fid}", {}),
        "volume: DELETE of an object's fid": ("DELETE", volume, f"/{other.fid}", {}),
    }
    answered = {}
    for name, (method, port, path, kwargs) in probes.items():
        for scheme in ("http", "https"):
            refused, what = _refused(method, f"{scheme}://127.0.0.1:{port}{path}", **kwargs)
            leaked = data.body.decode() in what or other.body.decode() in what
            if leaked or not refused:
                answered[f"{name} ({scheme})"] = what
    assert not answered, f"served without credentials: {answered}"

    assert _versions(platform, bucket) == before, "the probes changed the bucket"
    root = ObjectStore(platform.root).client
    assert root.get_object(bucket, data.key).read() == data.body
    assert root.get_object(sacrificial, other.key).read() == other.body


def _grpc_answers(port: int, credentials: grpc.ChannelCredentials | None) -> str | None:
    """The filer's ListEntries on `port`: None when it answered, else why not."""
    target = f"127.0.0.1:{port}"
    options = [("grpc.ssl_target_name_override", "localhost")]
    channel = (
        grpc.secure_channel(target, credentials, options=options)
        if credentials
        else grpc.insecure_channel(target)
    )
    call = channel.unary_stream(
        _FILER_LIST, request_serializer=lambda b: b, response_deserializer=lambda b: b
    )
    try:
        list(call(b"\x0a\x08/buckets", timeout=10))  # ListEntriesRequest{directory: "/buckets"}
    except grpc.RpcError as exc:
        return f"{exc.code().name}: {exc.details()}"
    finally:
        channel.close()
    return None


def _listeners(pid: int) -> list[int]:
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    ours = [ln.split()[3] for ln in out.splitlines() if f"pid={pid}," in ln]
    return sorted(int(address.rsplit(":", 1)[1]) for address in ours)


def test_grpc_listeners_demand_a_client_certificate(platform: Platform) -> None:
    """The filer's gRPC API lists, reads and deletes entries: without mutual TLS anyone on the
    host could; with it, a client without a certificate signed by the store's CA gets nowhere
    (the probe is even given the CA as its trust anchor, which an intruder would not have)."""
    state = platform.store.running()
    assert state is not None
    security = platform.store.root / "security"
    ca_file = security / "grpc-ca.pem"
    ca = ca_file.read_bytes() if ca_file.exists() else None
    http = {state.s3_port, state.console_port, *state.internal_ports}
    grpc_ports = [p for p in _listeners(state.pid) if p - GRPC_OFFSET in http]
    assert len(grpc_ports) == len(http), f"expected a gRPC twin of each of {http}: {grpc_ports}"
    served = {}
    for port in grpc_ports:
        for label, creds in (
            ("plaintext", None),
            ("TLS without a client certificate", grpc.ssl_channel_credentials(ca)),
        ):
            why = _grpc_answers(port, creds)
            if why is None or not why.startswith("UNAVAILABLE"):  # it spoke gRPC to us
                served[f"{port} ({label})"] = why or "answered"
    assert not served, f"gRPC served without a client certificate: {served}"

    # Positive control: the same probe is answered when it presents the store's certificate.
    owner = grpc.ssl_channel_credentials(
        ca, (security / "grpc-key.pem").read_bytes(), (security / "grpc.pem").read_bytes()
    )
    assert _grpc_answers(state.internal_ports[2] + GRPC_OFFSET, owner) is None

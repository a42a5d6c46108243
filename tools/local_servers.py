"""Real servers on loopback for the tests and the benchmarks alike (neither imports the other).

`local_store_server` runs the S3 server with the platform's own LocalStore (the code `make run`
uses) on free ports and a scratch state directory, and stops it on exit, also when the body
raises. `free_port` is the platform's own port picker (SeaweedFS also needs port + 10000).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from platform_defs.clients.local_store import LocalStore
from platform_defs.clients.local_store.ports import pick_free_pairs
from platform_defs.clients.s3 import ObjectStore
from platform_defs.credentials import Credentials, generate, save
from platform_defs.endpoint import StoreEndpoint
from platform_defs.settings import load_settings


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
    return pick_free_pairs(1, set())[0]


@contextmanager
def local_store_server(
    state_dir: Path,
    backend: str,
    creds: Credentials | None = None,
    on_start: Callable[[int], None] | None = None,
) -> Iterator[RunningServer]:
    """A server run by the platform's own LocalStore, with known root credentials;
    `on_start` gets its pid (the tests' process guard registers it)."""
    creds = creds or generate("test")
    settings = load_settings(
        _env_file=None,
        state_dir=state_dir,
        s3_port=free_port(),
        console_port=free_port(),
        store_backend=backend,
        credentials_source="generated",
    )
    # Pre-seed the generated-credentials file so the caller knows the secret it expects.
    save(settings.generated_credentials_file, creds)
    store = LocalStore(settings)
    try:
        result = store.ensure_running()
        if on_start is not None:
            on_start(result.state.pid)
        yield RunningServer(result.endpoint, backend, store.log_file, store)
    finally:
        store.stop()


def make_bucket(endpoint: StoreEndpoint, name: str) -> str:
    ObjectStore(endpoint).ensure_bucket(name)
    return name

"""An embedded store of the platform's own (LocalStore, SeaweedFS) per test module, with the
datalake bucket and the service identities provisioned exactly as the assets do it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest

from platform_defs import identities
from platform_defs.clients.local_store import LocalStore
from platform_defs.clients.s3 import ObjectStore
from platform_defs.endpoint import StoreEndpoint
from platform_defs.identities import provisioning
from platform_defs.settings import PlatformSettings, load_settings
from platform_defs.targets import select
from tests import process_guard
from tests.s3_servers import free_port


@dataclass
class Platform:
    settings: PlatformSettings
    store: LocalStore

    @property
    def root(self) -> StoreEndpoint:
        return self.store.endpoint(self.store.running())  # type: ignore[arg-type]

    def as_identity(self, name: str) -> ObjectStore:
        creds = identities.load(self.settings, name)
        return ObjectStore(replace(self.root, credentials=creds))


def start_platform(
    tmp: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch | None = None, **extra: str
) -> Iterator[Platform]:
    env = {
        "PLATFORM_STATE_DIR": str(tmp.mktemp("state")),
        "PLATFORM_S3_PORT": str(free_port()),
        "PLATFORM_CONSOLE_PORT": str(free_port()),
        "PLATFORM_STORE_BACKEND": "seaweedfs",
        "PLATFORM_ROTATION_GRACE_SECONDS": "1",
        **extra,
    }
    settings = load_settings(_env_file=None, **{k[9:].lower(): v for k, v in env.items()})
    if monkeypatch is not None:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
    store = LocalStore(settings)
    try:
        result = store.ensure_running()
        process_guard.register(result.state.pid, f"store of {settings.state_dir}")
        ObjectStore(result.endpoint).ensure_bucket(settings.bucket)
        ObjectStore(result.endpoint).ensure_versioning(settings.bucket)
        provisioning.ensure(
            settings, result.endpoint, publish=select(settings).credential_distributor().publish
        )
        yield Platform(settings, store)
    finally:
        store.stop()
        process_guard.stop_mentioning(store.root)  # a start a timeout interrupted

"""Credential rotation with no lost writes: new keys first, clients switched, old keys last.

For every identity (root and each service role):

1. generate new keys (validated like any other credentials) and grant them at the store, next
   to the old ones; wait until the store accepts them;
2. publish them where clients load credentials (locally the 0600 file that every resolution
   re-reads; on Kubernetes the Secret) and restart consumers that read keys only at start
   (Kubernetes: Deployment restart + rollout wait);
3. wait `PLATFORM_ROTATION_GRACE_SECONDS`, so requests signed with the old keys finish;
4. revoke the old keys and wait until the store refuses them.

A writer that hits a refused key re-resolves its credentials and retries, and between steps 1
and 4 both keys work, so no write is lost. Each target hands out its own distributor
(`PlatformTarget.credential_distributor`); this module holds no Kubernetes client code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from platform_defs import credentials, identities
from platform_defs.clients.local_store import LocalStore
from platform_defs.clients.s3 import ObjectStore
from platform_defs.credentials import Credentials
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import IdentityError
from platform_defs.identities.admin import ROOT_ROLE, IdentityAdmin
from platform_defs.settings import PlatformSettings

SETTLE_SECONDS = 15.0


class CredentialDistributor(Protocol):
    """Where clients get their keys from; one implementation per target."""

    def publish(self, name: str, creds: Credentials) -> None:
        """From now on, clients of identity `name` load `creds`."""
        ...

    def restart_consumers(self, name: str) -> None:
        """Restart what reads `name`'s keys only at start-up and return once it runs with the
        new keys (Kubernetes: `rollout restart` + wait as kubectl does; locally nothing, or
        an embedded MinIO restart for its root user)."""
        ...


class LocalDistributor:
    """Files in the namespace's credentials directory, re-read by every client resolution."""

    def __init__(self, settings: PlatformSettings) -> None:
        self.settings = settings

    def publish(self, name: str, creds: Credentials) -> None:
        if name != identities.ROOT:
            identities.save(self.settings, name, creds)
            return
        if self.settings.credentials_source != "generated":
            raise IdentityError(
                "Root credentials come from PLATFORM_CREDENTIALS_SOURCE="
                f"{self.settings.credentials_source}, which the platform does not own: rotate "
                "them at the store and update the environment/file yourself, or rotate only "
                "the service identities (rotate_credentials config `identities`)."
            )
        credentials.save(self.settings.generated_credentials_file, creds)

    def restart_consumers(self, name: str) -> None:
        store = LocalStore(self.settings)
        state = store.running() if self.settings.embedded_store else None
        if name == identities.ROOT and state is not None and state.backend == "minio":
            store.ensure_running(adopt_root=True)  # MinIO reads MINIO_ROOT_* only at start


@dataclass(frozen=True)
class RotationResult:
    identity: str
    old_access_key: str
    new_access_key: str
    seconds: float


def _wait(condition: Callable[[], bool], what: str, timeout: float = SETTLE_SECONDS) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise IdentityError(
                f"Rotation stopped: the store did not {what} within {timeout:.0f} s. Both the "
                "old and the new keys may be valid; run rotate_credentials again."
            )
        time.sleep(0.1)


def _accepts(endpoint: StoreEndpoint, creds: Credentials) -> bool:
    return ObjectStore(replace(endpoint, credentials=creds), timeout=3.0).authenticates()


def new_keys(settings: PlatformSettings, name: str) -> Credentials:
    """Fresh keys for `name`, through the same validation as every other credential."""
    if name == identities.ROOT:
        return credentials.validate(credentials.generate(), source="root rotation")
    return identities.new_credentials(settings, name)


def rotate(
    name: str,
    current: Credentials,
    new: Credentials,
    admin: IdentityAdmin,
    distributor: CredentialDistributor,
    endpoint: StoreEndpoint,
    grace_seconds: float,
) -> RotationResult:
    """Rotate one identity from `current` to `new`; `endpoint` says where the store is (its
    keys are ignored). Stores whose root changes only with a restart (MinIO) skip grant and
    revoke for root: the distributor's restart swaps it."""
    t0 = time.monotonic()
    credentials.validate(new, source=f"rotation of {name!r}")
    if new.access_key == current.access_key:
        raise IdentityError(f"Rotation of {name!r} needs a new access key, not the current one.")
    role = ROOT_ROLE if name == identities.ROOT else identities.role(name)
    hot = name != identities.ROOT or getattr(admin, "hot_root", False)
    if hot:
        admin.grant(role, new)
        _wait(lambda: _accepts(endpoint, new), "accept the new keys")
    distributor.publish(name, new)
    distributor.restart_consumers(name)
    _wait(lambda: _accepts(endpoint, new), "accept the new keys after the switch")
    time.sleep(grace_seconds)
    if hot:
        admin.revoke(role, current.access_key)
    _wait(lambda: not _accepts(endpoint, current), "refuse the old keys")
    return RotationResult(name, current.access_key, new.access_key, time.monotonic() - t0)

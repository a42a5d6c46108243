"""Provision the platform's service identities (the `service_identities` asset's logic).

Kept out of the asset module so the rotation job and the tests use the same code path.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from platform_defs import identities
from platform_defs.clients.local_store import LocalStore
from platform_defs.clients.s3 import ObjectStore
from platform_defs.credentials import Credentials
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import IdentityError
from platform_defs.identities import Role
from platform_defs.identities.admin import IdentityAdmin, admin_for
from platform_defs.settings import PlatformSettings

SETTLE_SECONDS = 15.0
# Where an identity's keys go once granted: `CredentialDistributor.publish` of the target
# (`PlatformTarget.credential_distributor`), passed in so this module needs no target code.
Publish = Callable[[str, Credentials], None]


@dataclass(frozen=True)
class Provisioned:
    role: Role
    access_key: str
    created: bool


def admin(settings: PlatformSettings, root: StoreEndpoint) -> IdentityAdmin | None:
    store = LocalStore(settings) if settings.embedded_store else None
    return admin_for(root, settings.bucket, store)


def wait_accepted(endpoint: StoreEndpoint, creds: Credentials, name: str) -> None:
    """Until the store knows `creds` (a reloaded identities file takes a moment)."""
    store = ObjectStore(replace(endpoint, credentials=creds), timeout=3.0)
    end = time.monotonic() + SETTLE_SECONDS
    while not store.authenticates():
        if time.monotonic() > end:
            raise IdentityError(
                f"The store at {endpoint.url} does not accept the keys of identity {name!r} "
                f"({creds.access_key}). Create that identity at the store with those keys (an "
                "external store that is not MinIO), or re-materialize `service_identities`."
            )
        time.sleep(0.1)


def ensure(
    settings: PlatformSettings, root: StoreEndpoint, *, publish: Publish
) -> tuple[str, list[Provisioned]]:
    """Every role exists at the store with the keys in its credentials file.

    Existing keys are re-granted (the policy is re-applied, so drift is repaired) and kept, so
    re-materializing never changes what clients hold; missing ones are generated. The keys are
    published the way rotation publishes them (`publish`, the target's distributor: the 0600
    file, and on Kubernetes also the identity's own Secret, which the Spark pod reads instead
    of root's). Without an
    admin (an external store that is not MinIO) the files must already exist and work.
    """
    adm = admin(settings, root)
    out = []
    for role in identities.ROLES:
        path = identities.credentials_file(settings, role.name)
        created = not path.exists()
        if adm is None:
            creds = identities.load(settings, role.name)
        else:
            creds = (
                identities.new_credentials(settings, role.name)
                if created
                else identities.load(settings, role.name)
            )
            adm.grant(role, creds)
            publish(role.name, creds)
        wait_accepted(root, creds, role.name)
        out.append(Provisioned(role, creds.access_key, created))
    return (adm.kind if adm else "operator-managed"), out

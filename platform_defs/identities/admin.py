"""Creating and revoking service identities at the store: one interface, one class per store.

- `SeaweedFileAdmin`: the embedded SeaweedFS; its identities file plus SIGHUP (weed 4.48 reloads
  `-s3.config` on SIGHUP; checked by experiment and by tests/test_identities.py).
- `MinioAdmin`: MinIO's admin API through the `minio` package (canned policy per role, one user
  per access key, policy attached to the user). Works for the embedded and an external MinIO.
- An external store that is neither gets no admin: its operator creates the identities, and the
  platform only verifies the keys it is given (`service_identities` asset).

Every method is idempotent, because a rotation interrupted half-way is simply run again.
"""

from __future__ import annotations

import json
from typing import Protocol

import urllib3
from minio import MinioAdmin as _SdkAdmin
from minio.credentials.providers import StaticProvider
from minio.error import MinioAdminException

from platform_defs import identities
from platform_defs.clients.local_store import LocalStore, identities_file
from platform_defs.clients.s3 import pool_manager
from platform_defs.credentials import Credentials
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import IdentityError
from platform_defs.identities import Role

ROOT_ROLE = Role(identities.ROOT, "store administrator (provisioning only)")


class IdentityAdmin(Protocol):
    """Grant a role to a key pair / revoke a key. Both keys stay valid between the two calls."""

    kind: str
    hot_root: bool  # True when a second root key can be granted while the store runs

    def grant(self, role: Role, creds: Credentials) -> None: ...

    def revoke(self, role: Role, access_key: str) -> None: ...


class SeaweedFileAdmin:
    kind = "seaweedfs-identities-file"
    hot_root = True  # root is an entry of the identities file like any other

    def __init__(self, store: LocalStore, bucket: str) -> None:
        self.store = store
        self.bucket = bucket

    def _name(self, role: Role) -> str:
        """One SeaweedFS identity per role and bucket; rotation changes its keys, not its name."""
        return (
            identities_file.ROOT if role.name == identities.ROOT else f"{self.bucket}-{role.name}"
        )

    def grant(self, role: Role, creds: Credentials) -> None:
        if role.name == identities.ROOT:
            actions = identities_file.ROOT_ACTIONS
        else:
            actions = identities.seaweedfs_actions(role, self.bucket)
        name = self._name(role)
        self.store.update_identities(lambda e: identities_file.with_key(e, name, creds, actions))

    def revoke(self, role: Role, access_key: str) -> None:
        name = self._name(role)
        self.store.update_identities(lambda e: identities_file.without_key(e, name, access_key))


class MinioIdentityAdmin:
    kind = "minio-admin-api"
    hot_root = False  # MINIO_ROOT_* are read at start only

    def __init__(self, root: StoreEndpoint, bucket: str, timeout: float = 10.0) -> None:
        self.bucket = bucket
        self.client = _SdkAdmin(
            endpoint=root.host_port,
            credentials=StaticProvider(root.credentials.access_key, root.credentials.secret_key),
            region=root.region,
            secure=root.secure,
            http_client=pool_manager(root, timeout),  # same TLS trust as S3 calls
        )
        self.url = root.url

    def _call(self, what: str, fn: object) -> str:
        try:
            return str(fn())  # type: ignore[operator]
        except (MinioAdminException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise IdentityError(
                f"MinIO at {self.url} refused to {what} ({type(exc).__name__}: "
                f"{str(exc)[:200]}). The platform's root credentials must be MinIO's root "
                "(admin) user; check PLATFORM_CREDENTIALS_SOURCE."
            ) from None

    def grant(self, role: Role, creds: Credentials) -> None:
        if role.name == identities.ROOT:
            raise IdentityError(
                "MinIO's root user comes from MINIO_ROOT_USER/MINIO_ROOT_PASSWORD and changes "
                "only with a restart; rotate_credentials does that through the target's hooks."
            )
        policy = identities.minio_policy_name(role, self.bucket)
        doc = identities.minio_policy(role, self.bucket)
        self._call(f"add policy {policy}", lambda: self.client.policy_add(policy, policy=doc))
        self._call(
            f"add user {creds.access_key}",
            lambda: self.client.user_add(creds.access_key, creds.secret_key),
        )
        attached = self._call(
            f"read user {creds.access_key}", lambda: self.client.user_info(creds.access_key)
        )
        if policy not in json.loads(attached or "{}").get("policyName", ""):
            self._call(
                f"attach {policy} to {creds.access_key}",
                lambda: self.client.attach_policy([policy], user=creds.access_key),
            )

    def revoke(self, role: Role, access_key: str) -> None:
        self._call(f"remove user {access_key}", lambda: self.client.user_remove(access_key))


def admin_for(root: StoreEndpoint, bucket: str, store: LocalStore | None) -> IdentityAdmin | None:
    """The admin that can manage identities at this store, or None (operator-managed)."""
    if store is not None and root.backend == "seaweedfs":
        return SeaweedFileAdmin(store, bucket)
    if root.backend == "minio":
        return MinioIdentityAdmin(root, bucket)
    if root.backend == "external" and _answers_minio_admin(root):
        return MinioIdentityAdmin(root, bucket)
    return None


def _answers_minio_admin(root: StoreEndpoint) -> bool:
    """An external endpoint is treated as MinIO only when its admin API answers root."""
    try:
        MinioIdentityAdmin(root, "probe", timeout=3.0).client.info()
    except Exception:  # any failure: not a MinIO we can administer
        return False
    return True

"""Rotation: a writer runs continuously through `rotate_credentials` and loses no write; the
revoked keys fail afterwards; the order of steps and the Kubernetes hook are pinned down."""

from __future__ import annotations

import functools
import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import pytest

from platform_defs import credentials, identities
from platform_defs.clients.s3 import ObjectStore
from platform_defs.credentials import Credentials
from platform_defs.definitions import defs
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import CredentialsError, IdentityError, StoreUnreachableError
from platform_defs.identities import Role, rotation
from platform_defs.settings import load_settings
from tests.security.conftest import Platform, start_platform


@pytest.fixture
def platform(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Platform]:
    yield from start_platform(tmp_path_factory, monkeypatch)


@dataclass
class Writer:
    """Writes warehouse objects one after another as the Spark identity; on a refused key it
    re-reads its credentials (as every platform client does) and retries the same write."""

    platform: Platform
    acked: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    retries: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def store(self) -> ObjectStore:
        return self.platform.as_identity(identities.SPARK)

    def run(self) -> None:
        store, i = self.store(), 0
        while not self.stop.is_set():
            key = f"warehouse/rotation/{i:06d}"
            if self._write(store, key):
                self.acked.append(key)
            else:
                self.lost.append(key)
            store, i = self.store(), i + 1

    def _write(self, store: ObjectStore, key: str) -> bool:
        bucket = self.platform.settings.bucket
        for _ in range(50):
            try:
                put = functools.partial(store.client.put_object, bucket, key, io.BytesIO(b"x"), 1)
                store.call("put", put)
                return True
            except (CredentialsError, StoreUnreachableError):
                self.retries += 1
                time.sleep(0.05)
                store = self.store()
        return False


@pytest.mark.slow
def test_rotation_under_continuous_writes_loses_nothing(platform: Platform) -> None:
    old_spark = identities.load(platform.settings, identities.SPARK)
    old_root = credentials.resolve(platform.settings)
    writer = Writer(platform)
    thread = threading.Thread(target=writer.run)
    thread.start()
    try:
        time.sleep(0.5)
        result = defs.resolve_job_def("rotate_credentials").execute_in_process()
        time.sleep(0.5)
    finally:
        writer.stop.set()
        thread.join(timeout=30)
    assert result.success
    assert not writer.lost and len(writer.acked) > 20
    listed = {
        o.object_name  # type: ignore[attr-defined]
        for o in ObjectStore(platform.root).iter_objects(platform.settings.bucket, "warehouse/rotation/")
    }  # fmt: skip
    assert listed == set(writer.acked), "every acknowledged write is in the bucket"

    root = platform.root  # now signed with the new root keys
    for name, old in (("spark", old_spark), ("root", old_root)):
        assert not ObjectStore(replace(root, credentials=old)).authenticates(), f"old {name} works"
        with pytest.raises(CredentialsError):
            ObjectStore(replace(root, credentials=old)).bucket_exists(platform.settings.bucket)
    for name in identities.ROLE_NAMES:
        assert identities.load(platform.settings, name).access_key != ""
        assert platform.as_identity(name).authenticates()
    assert identities.load(platform.settings, identities.SPARK) != old_spark
    assert platform.store.running() is not None
    assert platform.store.ensure_running().action == "reused", "rotated root is recognised"


@dataclass
class Recorder:
    """Fake admin + distributor that record the order of steps."""

    steps: list[str] = field(default_factory=list)
    kind: str = "fake"
    hot_root: bool = True

    def grant(self, role: Role, creds: Credentials) -> None:
        self.steps.append(f"grant {creds.access_key}")

    def revoke(self, role: Role, access_key: str) -> None:
        self.steps.append(f"revoke {access_key}")

    def publish(self, name: str, creds: Credentials) -> None:
        self.steps.append(f"publish {creds.access_key}")

    def restart_consumers(self, name: str) -> None:
        self.steps.append("restart")


def test_new_keys_first_old_keys_last(monkeypatch: pytest.MonkeyPatch) -> None:
    live = {"old-key-0001"}
    rec = Recorder()
    monkeypatch.setattr(rotation, "_accepts", lambda ep, c: c.access_key in live)
    rec_grant, rec_revoke = rec.grant, rec.revoke
    monkeypatch.setattr(rec, "grant", lambda r, c: (rec_grant(r, c), live.add(c.access_key)))
    monkeypatch.setattr(rec, "revoke", lambda r, k: (rec_revoke(r, k), live.discard(k)))
    old = Credentials("old-key-0001", "old-secret-0123456789")
    new = Credentials("new-key-0001", "new-secret-0123456789")
    endpoint = StoreEndpoint("http://127.0.0.1:1", old)
    result = rotation.rotate("spark", old, new, rec, rec, endpoint, grace_seconds=0)
    assert rec.steps == [
        "grant new-key-0001",
        "publish new-key-0001",
        "restart",
        "revoke old-key-0001",
    ]
    assert result.new_access_key == "new-key-0001"


def test_rotation_refuses_weak_or_unchanged_keys() -> None:
    old = Credentials("old-key-0001", "old-secret-0123456789")
    endpoint = StoreEndpoint("http://127.0.0.1:1", old)
    rec = Recorder()
    with pytest.raises(CredentialsError, match="publicly known"):
        rotation.rotate("spark", old, Credentials("k-123", "minioadmin"), rec, rec, endpoint, 0)
    with pytest.raises(IdentityError, match="new access key"):
        rotation.rotate("spark", old, old, rec, rec, endpoint, 0)
    assert rec.steps == []


def test_each_target_hands_out_its_own_distributor() -> None:
    """Rotation asks the target, never PLATFORM_TARGET: the kubernetes target's distributor
    restarts MinIO through that target's apply-and-wait."""
    from platform_defs.k8s.rotation import KubernetesDistributor
    from platform_defs.targets import select
    from platform_defs.targets.kubernetes import KubernetesTarget

    k8s = select(load_settings(_env_file=None, target="kubernetes"))
    distributor = k8s.credential_distributor()
    assert isinstance(distributor, KubernetesDistributor)
    assert isinstance(k8s, KubernetesTarget)
    assert distributor.restart_store == k8s.ensure_store
    local = select(load_settings(_env_file=None, target="local")).credential_distributor()
    assert isinstance(local, rotation.LocalDistributor)

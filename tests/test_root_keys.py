"""Configured root keys that are not the embedded store's root are refused, changing nothing.

A store's data directory belongs to the root keys it was created with. Keys from
PLATFORM_CREDENTIALS_SOURCE=env, a PLATFORM_CREDENTIALS_FILE or a hand-replaced generated file
that differ from them must not restart the store as a new root (issue 12, finding 4): the run
stops with one message, and the server, its files and its buckets stay exactly as they were.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from platform_defs import credentials
from platform_defs.clients.local_store import LocalStore
from platform_defs.clients.s3 import ObjectStore
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import CredentialsError
from platform_defs.settings import PlatformSettings, load_settings
from tests.s3_servers import free_port

pytestmark = pytest.mark.slow
ORIGINAL: dict[LocalStore, credentials.Credentials] = {}  # each fixture store's real root


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    settings = load_settings(
        _env_file=None,
        state_dir=tmp_path / "state",
        s3_port=free_port(),
        console_port=free_port(),
        store_backend="seaweedfs",
    )
    local = LocalStore(settings)
    result = local.ensure_running()
    ObjectStore(result.endpoint).ensure_bucket("kept-bucket")
    ORIGINAL[local] = result.endpoint.credentials
    yield local
    ORIGINAL.pop(local)
    local.stop()


@dataclass(frozen=True)
class Snapshot:
    """What a refused start must leave untouched."""

    pid: int | None
    files: dict[str, tuple[bytes, int]]  # path -> (bytes, mtime_ns)
    buckets: list[str] | None

    @classmethod
    def of(cls, store: LocalStore) -> Snapshot:
        """Listed with the keys the store was started with (root.json may be the broken part)."""
        paths = [
            store.settings.generated_credentials_file,
            store.s3_config_file,
            store.state_file,
            store.root / "weed.options",
        ]
        files = {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in paths if p.exists()}
        state = store.running()
        buckets = None
        if state is not None:
            root = ObjectStore(StoreEndpoint(state.url, ORIGINAL[store], backend=state.backend))
            buckets = sorted(b.name for b in root.client.list_buckets())
        return cls(state.pid if state else None, files, buckets)


def with_settings(store: LocalStore, **overrides: object) -> PlatformSettings:
    s = store.settings
    return load_settings(
        _env_file=None,
        state_dir=s.state_dir,
        s3_port=s.s3_port,
        console_port=s.console_port,
        store_backend="seaweedfs",
        **overrides,
    )


def other_keys() -> credentials.Credentials:
    return credentials.generate("intruder")


def test_env_keys_that_are_not_root_are_refused_and_change_nothing(store: LocalStore) -> None:
    before = Snapshot.of(store)
    wrong = other_keys()
    settings = with_settings(
        store,
        credentials_source="env",
        s3_access_key=wrong.access_key,
        s3_secret_key=wrong.secret_key,
    )
    with pytest.raises(CredentialsError) as err:
        LocalStore(settings).ensure_running()
    message = str(err.value)
    root_file = store.settings.generated_credentials_file
    for fragment in (
        wrong.access_key,
        "PLATFORM_CREDENTIALS_SOURCE=env",
        str(store.data_dir),
        "was created with other root keys",
        str(root_file),
        "unset PLATFORM_CREDENTIALS_SOURCE, PLATFORM_S3_ACCESS_KEY and PLATFORM_S3_SECRET_KEY",
        "make reset",
        "deletes",
    ):
        assert fragment in message, f"{fragment!r} missing from: {message}"
    assert wrong.secret_key not in message
    assert credentials.load_file(root_file).secret_key not in message
    after = Snapshot.of(store)
    assert after == before, "a refused start must not restart the store or rewrite a file"
    assert after.pid is not None and os.path.exists(f"/proc/{after.pid}")


def test_refused_also_when_the_store_is_stopped(store: LocalStore) -> None:
    store.stop()
    before = Snapshot.of(store)
    wrong = other_keys()
    path = store.settings.state_dir / "other-root.json"
    credentials.save(path, wrong)
    settings = with_settings(store, credentials_source="file", credentials_file=path)
    with pytest.raises(CredentialsError, match="was created with other root keys") as err:
        LocalStore(settings).ensure_running()
    assert f"PLATFORM_CREDENTIALS_FILE={path}" in str(err.value)
    assert Snapshot.of(store) == before and store.running() is None, "nothing may start"


def test_a_replaced_generated_file_is_refused(store: LocalStore) -> None:
    """Replacing root.json by hand is not a way to change root: the store keeps its root and
    the message says where the store's keys still are."""
    path = store.settings.generated_credentials_file
    credentials.save(path, other_keys())
    before = Snapshot.of(store)
    with pytest.raises(CredentialsError, match="was created with other root keys") as err:
        store.ensure_running()
    assert str(store.s3_config_file) in str(err.value)
    assert Snapshot.of(store) == before


def test_the_same_keys_from_env_reuse_the_store(store: LocalStore) -> None:
    pid = store.running().pid  # type: ignore[union-attr]
    root = credentials.load_file(store.settings.generated_credentials_file)
    settings = with_settings(
        store,
        credentials_source="env",
        s3_access_key=root.access_key,
        s3_secret_key=root.secret_key,
    )
    again = LocalStore(settings).ensure_running()
    assert again.action == "reused" and again.state.pid == pid


def test_a_deleted_generated_file_is_not_regenerated(store: LocalStore) -> None:
    path = store.settings.generated_credentials_file
    path.unlink()
    before = Snapshot.of(store)
    with pytest.raises(CredentialsError, match="is missing, but the embedded object store"):
        store.ensure_running()
    assert not path.exists(), "a new root must not be generated for an existing store"
    assert Snapshot.of(store) == before


def test_the_bootstrap_job_stops_at_the_preflight(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run` with other keys in the environment: the run fails at its preflight (before
    `object_store`) with the message, the check that would create a canary bucket never runs, and the next run with the
    variables unset reuses the same server."""
    import dagster as dg

    from platform_defs.resources.platform import PlatformResource
    from tests.test_bootstrap_graph import run_bootstrap

    monkeypatch.setenv("PLATFORM_S3_PORT", str(free_port()))
    monkeypatch.setenv("PLATFORM_CONSOLE_PORT", str(free_port()))
    target = PlatformResource().target()
    try:
        assert run_bootstrap().success
        pid = target.store.running().pid  # type: ignore[attr-defined]
        wrong = other_keys()
        for key, value in {
            "PLATFORM_CREDENTIALS_SOURCE": "env",
            "PLATFORM_S3_ACCESS_KEY": wrong.access_key,
            "PLATFORM_S3_SECRET_KEY": wrong.secret_key,
        }.items():
            monkeypatch.setenv(key, value)
        failed = run_bootstrap(raise_on_error=False)
        assert not failed.success
        failure = next(e for e in failed.all_events if e.event_type_value == "STEP_FAILURE")
        assert failure.step_key == "platform_preflight"
        error = failure.step_failure_data.error  # type: ignore[union-attr]
        text = error.message + (error.cause.message if error.cause else "")
        assert "was created with other root keys" in text and wrong.secret_key not in text
        assert not [e for e in failed.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
        assert target.store.running().pid == pid  # type: ignore[attr-defined]

        for key in (
            "PLATFORM_CREDENTIALS_SOURCE",
            "PLATFORM_S3_ACCESS_KEY",
            "PLATFORM_S3_SECRET_KEY",
        ):
            monkeypatch.delenv(key)
        again = run_bootstrap(dg.DagsterInstance.ephemeral())
        assert again.success and target.store.running().pid == pid  # type: ignore[attr-defined]
        root = ObjectStore(target.endpoint())
        assert not [b.name for b in root.client.list_buckets() if "canary" in b.name]
    finally:
        target.stop_store()

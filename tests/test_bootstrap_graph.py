"""The bootstrap graph, materialized in-process against a real S3 server.

Most tests treat the session's server as an external endpoint (PLATFORM_S3_ENDPOINT), each with
its own bucket; the last ones let the graph start its own embedded store, as `make run` does.
"""

from __future__ import annotations

import io
import time
from typing import Any

import dagster as dg
import pytest

from platform_defs.clients.s3 import ObjectStore
from platform_defs.credentials import Credentials
from platform_defs.definitions import defs
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import BucketError, SettingsError, StoreUnreachableError
from tests.s3_servers import free_port

pytestmark = pytest.mark.slow


# The storage spine of the bootstrap job (the warehouse's Spark has its own tests), as the job
# selects it: without the live health check, which probes a bucket the spine has yet to create.
# The service identities belong to it: everything downstream (the health canary too) runs as one.
# The preflight is its root, as in the job (no Spark step here, so it needs no Java).
SPINE = [
    dg.AssetKey(k)
    for k in (
        "platform_preflight",
        "analytics_namespace",
        "object_store",
        "datalake_bucket",
        "service_identities",
    )
]
_HEALTH = dg.AssetCheckKey(dg.AssetKey("object_store"), "object_store_health")
_TEST_DEFS = dg.Definitions.merge(
    defs,
    dg.Definitions(
        jobs=[
            dg.define_asset_job(
                "bootstrap_spine",
                selection=dg.AssetSelection.assets(*SPINE) - dg.AssetSelection.checks(_HEALTH),
                executor_def=dg.in_process_executor,
            )
        ]
    ),
)


def run_bootstrap(
    instance: dg.DagsterInstance | None = None,
    raise_on_error: bool = True,
    assets: list[dg.AssetKey] | None = SPINE,
    run_config: dict[str, Any] | None = None,
) -> dg.ExecuteInProcessResult:
    """`bootstrap_platform` in-process: its storage spine by default, all of it with None."""
    name = "bootstrap_spine" if assets == SPINE else "bootstrap_platform"
    job = _TEST_DEFS.resolve_job_def(name)
    return job.execute_in_process(
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=raise_on_error,
        asset_selection=None if assets in (None, SPINE) else assets,
        run_config=run_config,
    )


def materialization_metadata(result: dg.ExecuteInProcessResult, key: str) -> dict[str, Any]:
    mats = result.asset_materializations_for_node(key)
    assert len(mats) == 1
    return {k: v.value for k, v in mats[0].metadata.items()}


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def bucket_listing(endpoint: StoreEndpoint, bucket: str) -> list[tuple[str, str | None]]:
    store = ObjectStore(endpoint)
    return sorted((o.object_name, o.version_id) for o in store.iter_objects(bucket, versions=True))  # type: ignore[attr-defined]


def test_spine_materializes_with_checks(external_store_env: dict[str, str]) -> None:
    result = run_bootstrap()
    assert result.success
    assert check_results(result) == {
        "object_store_healthy": True,
        "datalake_bucket_writable": True,
        "service_identities_least_privilege": True,
    }
    bucket = materialization_metadata(result, "datalake_bucket")
    assert bucket["bucket"] == external_store_env["PLATFORM_BUCKET"]
    assert bucket["created"] is True and bucket["versioning"] == "Enabled"
    assert bucket["object_count"] == 0
    store = materialization_metadata(result, "object_store")
    assert store["action"] == "external"


def test_rematerializing_changes_nothing(
    external_store_env: dict[str, str], s3_endpoint: StoreEndpoint
) -> None:
    bucket = external_store_env["PLATFORM_BUCKET"]
    ObjectStore(s3_endpoint).ensure_bucket(bucket)
    first = run_bootstrap()
    ObjectStore(s3_endpoint).client.put_object(bucket, "data/a.csv", io.BytesIO(b"1,2\n"), 4)
    before = bucket_listing(s3_endpoint, bucket)
    second = run_bootstrap()
    assert first.success and second.success
    meta = materialization_metadata(second, "datalake_bucket")
    assert meta["created"] is False and meta["versioning_changed"] is False
    assert bucket_listing(s3_endpoint, bucket) == before, "canaries must leave no versions behind"
    assert meta["object_count"] == 1 and meta["total_bytes"] == 4
    names = [b.name for b in ObjectStore(s3_endpoint).client.list_buckets()]
    assert not [n for n in names if n.startswith("platform-canary-")]


def test_versioning_is_really_on(
    external_store_env: dict[str, str], s3_endpoint: StoreEndpoint
) -> None:
    assert run_bootstrap().success
    bucket = external_store_env["PLATFORM_BUCKET"]
    client = ObjectStore(s3_endpoint).client
    first = client.put_object(bucket, "k", io.BytesIO(b"one"), 3)
    client.put_object(bucket, "k", io.BytesIO(b"two!"), 4)
    versions = list(client.list_objects(bucket, prefix="k", include_version=True))
    assert len(versions) == 2 and len({v.version_id for v in versions}) == 2
    assert client.get_object(bucket, "k").read() == b"two!"
    assert client.get_object(bucket, "k", version_id=first.version_id).read() == b"one"


def test_wrong_credentials_fail_clearly_and_create_nothing(
    external_store_env: dict[str, str], s3_endpoint: StoreEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_S3_SECRET_KEY", "definitely-not-the-secret")
    result = run_bootstrap(raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    error = failure.step_failure_data.error  # type: ignore[union-attr]
    message = error.message + (error.cause.message if error.cause else "")
    assert "CredentialsError" in message and "refused the credentials" in message
    assert "definitely-not-the-secret" not in message
    assert not ObjectStore(s3_endpoint).bucket_exists(external_store_env["PLATFORM_BUCKET"])


def test_unreachable_endpoint_fails_fast() -> None:
    endpoint = StoreEndpoint(
        f"http://127.0.0.1:{free_port()}", Credentials("someone", "some-secret-1")
    )
    t0 = time.monotonic()
    with pytest.raises(StoreUnreachableError, match="did not answer"):
        ObjectStore(endpoint, timeout=1.0).bucket_exists("datalake")
    assert time.monotonic() - t0 < 10


def test_blackholed_endpoint_times_out() -> None:
    """A listener that never answers (accepts, then silence) must not hang the caller."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        t0 = time.monotonic()
        with pytest.raises(StoreUnreachableError):
            ObjectStore(
                StoreEndpoint(url, Credentials("someone", "some-secret-1")), timeout=1.0
            ).bucket_exists("datalake")
        assert time.monotonic() - t0 < 10


def test_invalid_bucket_name_is_refused_before_any_call() -> None:
    """The refusal comes before any request: the endpoint (a server that would never answer)
    is not even connected to."""
    from tests.silent_server import silent_server

    with silent_server() as server:
        endpoint = StoreEndpoint(f"http://{server.address}", Credentials("someone", "secret-1"))
        with pytest.raises(BucketError, match="Invalid bucket name 'Data_Lake'"):
            ObjectStore(endpoint, timeout=30).ensure_bucket("Data_Lake")
        assert server.accepted == [], "a request was sent before the name was checked"


def test_invalid_bucket_setting_fails_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_BUCKET", "Data_Lake")
    with pytest.raises(SettingsError, match="PLATFORM_BUCKET"):
        run_bootstrap()


def test_embedded_store_graph_then_reuse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_S3_PORT", str(free_port()))
    monkeypatch.setenv("PLATFORM_CONSOLE_PORT", str(free_port()))
    instance = dg.DagsterInstance.ephemeral()
    try:
        first = run_bootstrap(instance)
        second = run_bootstrap(instance)
        assert materialization_metadata(first, "object_store")["action"] == "started"
        assert materialization_metadata(second, "object_store")["action"] == "reused"
        assert materialization_metadata(second, "datalake_bucket")["created"] is False
        assert all(check_results(second).values())
    finally:
        from platform_defs.resources.platform import PlatformResource

        PlatformResource().target().stop_store()

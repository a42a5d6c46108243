"""Each service identity's limits, proven on a real SeaweedFS started by the platform's own
LocalStore; and the MinIO admin-API path against a local HTTP stand-in (no MinIO binary here)."""

from __future__ import annotations

import io
import json
import stat
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from minio.crypto import encrypt

from platform_defs import identities
from platform_defs.clients.s3 import ObjectStore
from platform_defs.credentials import Credentials
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import AccessDeniedError, BucketError, CredentialsError
from platform_defs.identities import provisioning
from platform_defs.identities.admin import MinioIdentityAdmin
from platform_defs.targets import select
from tests.security.conftest import Platform, start_platform


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from start_platform(tmp_path_factory)


def denied(fn: Callable[[], object]) -> bool:
    try:
        fn()
    except (AccessDeniedError, BucketError):
        return True
    return False


def put(store: ObjectStore, bucket: str, key: str) -> Callable[[], object]:
    return lambda: store.call(
        "put", lambda: store.client.put_object(bucket, key, io.BytesIO(b"data"), 4)
    )


def get(store: ObjectStore, bucket: str, key: str) -> Callable[[], bytes]:
    return lambda: store.call("get", lambda: store.client.get_object(bucket, key).read())


@pytest.mark.slow
def test_spark_writes_the_warehouse_and_nothing_else(platform: Platform) -> None:
    bucket = platform.settings.bucket
    root = ObjectStore(platform.root)
    put(root, bucket, "raw/events/a.json")()
    spark = platform.as_identity(identities.SPARK)
    put(spark, bucket, "warehouse/db/t/data/1.parquet")()
    assert get(spark, bucket, "warehouse/db/t/data/1.parquet")() == b"data"
    assert spark.bucket_exists(bucket), "Spark's pre-flight check works without HEAD rights"
    assert denied(get(spark, bucket, "raw/events/a.json")), "read outside its prefix"
    assert denied(put(spark, bucket, "raw/events/b.json")), "write outside its prefix"
    assert denied(lambda: spark.call("create", lambda: spark.client.make_bucket("spark-own")))
    assert denied(lambda: spark.call("delete", lambda: spark.client.remove_bucket(bucket)))
    assert root.bucket_exists(bucket)


@pytest.mark.slow
def test_analyst_reads_but_cannot_write(platform: Platform) -> None:
    bucket = platform.settings.bucket
    put(ObjectStore(platform.root), bucket, "curated/report.csv")()
    analyst = platform.as_identity(identities.ANALYST)
    assert get(analyst, bucket, "curated/report.csv")() == b"data"
    assert denied(put(analyst, bucket, "curated/report.csv"))
    assert denied(put(analyst, bucket, "warehouse/x"))
    assert denied(
        lambda: analyst.call("delete", lambda: analyst.client.remove_object(bucket, "curated/report.csv"))
    )  # fmt: skip


@pytest.mark.slow
def test_canary_is_limited_to_its_prefix(platform: Platform) -> None:
    bucket = platform.settings.bucket
    put(ObjectStore(platform.root), bucket, "raw/secret.csv")()
    canary = platform.as_identity(identities.CANARY)
    assert canary.object_canary(bucket).ok
    assert canary.bucket_exists(bucket, prefix="_platform/canary/")
    assert denied(get(canary, bucket, "raw/secret.csv"))
    assert denied(put(canary, bucket, "warehouse/x"))
    assert denied(lambda: canary.call("list", lambda: list(canary.client.list_objects(bucket))))


@pytest.mark.slow
def test_identities_are_private_files_kept_across_restarts(platform: Platform) -> None:
    for name in identities.ROLE_NAMES:
        path = identities.credentials_file(platform.settings, name)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = identities.load(platform.settings, identities.SPARK)
    publish = select(platform.settings).credential_distributor().publish
    kind, done = provisioning.ensure(platform.settings, platform.root, publish=publish)
    assert kind == "seaweedfs-identities-file" and not any(p.created for p in done)
    assert identities.load(platform.settings, identities.SPARK) == before
    state = platform.store.running()
    assert state is not None
    platform.store._terminate(state.pid)  # a crash: the next ensure_running restarts it
    platform.store.ensure_running()
    assert platform.as_identity(identities.SPARK).authenticates(), "restart kept the identity"


def test_weak_identity_credentials_are_refused(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from platform_defs.settings import load_settings

    settings = load_settings(_env_file=None)
    with pytest.raises(CredentialsError, match="equals its access key"):
        identities.save(settings, identities.SPARK, Credentials("same-same-key", "same-same-key"))
    path = identities.credentials_file(settings, identities.ANALYST)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"access_key": "analyst", "secret_key": "minioadmin"}))
    path.chmod(0o600)
    with pytest.raises(CredentialsError, match="publicly known"):
        identities.load(settings, identities.ANALYST)


def test_roles_render_to_least_privilege_policies() -> None:
    spark = identities.role(identities.SPARK)
    assert identities.seaweedfs_actions(spark, "datalake") == [
        "Read:datalake/warehouse/*",
        "Read:datalake/hadoop-warehouse/*",  # PLATFORM_CATALOG_TYPE=hadoop's own prefix
        "Write:datalake/warehouse/*",
        "Write:datalake/hadoop-warehouse/*",
        "List:datalake",
    ]
    policy = json.dumps(identities.minio_policy(spark, "datalake"))
    for forbidden in ("s3:*", "CreateBucket", "DeleteBucket", "admin:", "arn:aws:s3:::*"):
        assert forbidden not in policy
    canary = identities.minio_policy(identities.role(identities.CANARY), "datalake")
    listing = canary["Statement"][-1]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["_platform/canary/*"]}}


class _MinioAdminStandIn(BaseHTTPRequestHandler):
    """A local HTTP stand-in for MinIO's admin API: records calls, answers 200."""

    calls: ClassVar[list[tuple[str, str]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self.calls.append((self.command, self.path))
        body = b'{"policyName": ""}' if "user-info" in self.path else b""
        if "policy/attach" in self.path:  # the SDK decrypts this answer with root's secret
            body = encrypt(b'{"policiesAttached": ["p"]}', "stand-in-root-secret")
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


def test_minio_admin_path_against_a_stand_in() -> None:
    server = HTTPServer(("127.0.0.1", 0), _MinioAdminStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        root = StoreEndpoint(
            f"http://127.0.0.1:{server.server_port}",
            Credentials("stand-in-root", "stand-in-root-secret"),
            backend="minio",
        )
        admin = MinioIdentityAdmin(root, "datalake")
        new = Credentials("analytics-spark-abc", "a-strong-enough-secret-1")
        admin.grant(identities.role(identities.SPARK), new)
        admin.revoke(identities.role(identities.SPARK), "analytics-spark-old")
    finally:
        server.shutdown()
    paths = [p.split("?")[0].rsplit("/v3/", 1)[1] for _, p in _MinioAdminStandIn.calls]
    assert paths == [
        "add-canned-policy",
        "add-user",
        "user-info",
        "idp/builtin/policy/attach",
        "remove-user",
    ]
    assert "name=platform-datalake-spark" in _MinioAdminStandIn.calls[0][1]
    assert "accessKey=analytics-spark-old" in _MinioAdminStandIn.calls[-1][1]

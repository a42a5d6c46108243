"""The embedded store over HTTPS with a generated CA: the bootstrap spine and a pyiceberg
round trip work because every client trusts that CA; a certificate from another CA is refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest
import requests

from platform_defs import identities, tls
from platform_defs.clients.health import check_store
from platform_defs.clients.s3 import ObjectStore
from platform_defs.errors import StoreUnreachableError
from platform_defs.iceberg.catalog import load_catalog
from platform_defs.resources.platform import PlatformResource
from tests.s3_servers import free_port
from tests.test_bootstrap_graph import check_results, run_bootstrap

pytestmark = pytest.mark.slow


@pytest.fixture
def tls_platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[PlatformResource]:
    monkeypatch.setenv("PLATFORM_STORE_TLS", "true")
    monkeypatch.setenv("PLATFORM_S3_PORT", str(free_port()))
    monkeypatch.setenv("PLATFORM_CONSOLE_PORT", str(free_port()))
    platform = PlatformResource()
    try:
        yield platform
    finally:
        platform.target().stop_store()


def other_ca(tmp_path: Path) -> Path:
    path = tmp_path / "other-ca.pem"
    path.write_bytes(tls.make_ca("someone else", "localhost", ["127.0.0.0/8"]).cert_pem)
    return path


def test_bootstrap_and_pyiceberg_over_https(tls_platform: PlatformResource, tmp_path: Path) -> None:
    result = run_bootstrap()
    assert result.success and all(check_results(result).values())
    root = tls_platform.endpoint()
    assert root.url.startswith("https://127.0.0.1:") and root.ca_bundle is not None
    settings = tls_platform.settings()

    spark = tls_platform.service_endpoint(identities.SPARK)
    catalog = load_catalog(settings, spark)
    catalog.create_namespace_if_not_exists("raw")
    data = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "ts": pa.array(
        [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)] * 3, pa.timestamp("us", tz="UTC"))})  # fmt: skip
    table = catalog.create_table("raw.tls_probe", schema=data.schema)
    table.append(data)
    analyst = tls_platform.service_endpoint(identities.ANALYST)
    read = load_catalog(settings, analyst).load_table("raw.tls_probe").scan().to_arrow()
    assert read.num_rows == 3

    report = check_store(tls_platform.service_endpoint(identities.CANARY), settings.bucket, 2.0)
    assert report.status.value == "UP", report.detail


def test_untrusted_certificate_is_refused(tls_platform: PlatformResource, tmp_path: Path) -> None:
    assert run_bootstrap().success
    root = tls_platform.endpoint()
    for untrusted in (replace(root, ca_bundle=other_ca(tmp_path)), replace(root, ca_bundle=None)):
        with pytest.raises(StoreUnreachableError):
            ObjectStore(untrusted, timeout=2.0, retries=0).bucket_exists("datalake")
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(root.url + "/healthz", timeout=2, verify=str(other_ca(tmp_path)))
    assert requests.get(root.url + "/healthz", timeout=2, verify=str(root.ca_bundle)).ok

    settings = tls_platform.settings()
    spark = tls_platform.service_endpoint(identities.SPARK)
    catalog = load_catalog(settings, spark)
    catalog.create_namespace_if_not_exists("raw")
    data = pa.table({"id": pa.array([1], pa.int64())})
    with pytest.raises(OSError, match=r"curlCode: 60|SSL"):
        load_catalog(settings, replace(spark, ca_bundle=other_ca(tmp_path))).create_table(
            "raw.untrusted", schema=data.schema
        ).append(data)

"""Fixtures for the warehouse tests: a real weed S3 server, platform settings, one bucket.

`s3_server` is a stand-in for the lead's shared fixture in tests/conftest.py (same name, same
type: a session-scoped StoreEndpoint); delete it here when that lands.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from platform_defs.endpoint import StoreEndpoint
from platform_defs.settings import PlatformSettings, load_settings
from platform_defs.store_check import minio_client
from tests.warehouse.weed import WeedServer


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreEndpoint]:
    server = WeedServer(tmp_path_factory.mktemp("weed"))
    server.start()
    try:
        yield server.endpoint
    finally:
        server.stop()


def make_settings(state_dir: Path, bucket: str, **overrides: object) -> PlatformSettings:
    values: dict[str, object] = {
        "state_dir": state_dir, "bucket": bucket, "s3_endpoint": "http://127.0.0.1:1",
        "credentials_source": "env", "s3_access_key": "unused", "s3_secret_key": "unused-secret",
        "spark_driver_memory": "1g", "_env_file": None,
    }  # fmt: skip
    return load_settings(**{**values, **overrides})


def make_bucket(endpoint: StoreEndpoint, name: str) -> str:
    client = minio_client(endpoint)
    if not client.bucket_exists(name):
        client.make_bucket(name)
    return name

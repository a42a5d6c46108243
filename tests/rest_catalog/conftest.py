"""One REST catalog server for the module's tests, over a catalog seeded with a small table.

The server is the platform's own (`RestCatalogServer`) in front of a SQLite catalog on the
session's real S3 server; starting it costs a JVM start (~2-5 s), so the tests share it.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa
import pytest

from platform_defs import identities
from platform_defs.endpoint import StoreEndpoint
from platform_defs.iceberg.catalog import load_catalog
from platform_defs.rest_catalog.server import RestCatalogServer
from platform_defs.settings import PlatformSettings, load_settings
from platform_defs.spark_connect.server import SparkConnectServer
from tests import process_guard
from tests.s3_servers import RunningServer, provision_identities
from tools.local_servers import make_bucket

TABLE = "ops.events"
ROWS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Lake:
    settings: PlatformSettings
    env: dict[str, str]  # the same settings as PLATFORM_* variables, for subprocesses
    writer: StoreEndpoint  # the store as the spark identity

    def server(self) -> RestCatalogServer:
        return RestCatalogServer(self.settings)


def lake_env(state_dir: Path, server: RunningServer, bucket: str, port: int) -> dict[str, str]:
    root = server.endpoint.credentials
    return {
        "PLATFORM_STATE_DIR": str(state_dir),
        "PLATFORM_S3_ENDPOINT": server.endpoint.url,
        "PLATFORM_CREDENTIALS_SOURCE": "env",
        "PLATFORM_S3_ACCESS_KEY": root.access_key,
        "PLATFORM_S3_SECRET_KEY": root.secret_key,
        "PLATFORM_BUCKET": bucket,
        "PLATFORM_REST_CATALOG_PORT": str(port),
        "PLATFORM_SPARK_DRIVER_MEMORY": "1g",
    }


def settings_from(env: dict[str, str]) -> PlatformSettings:
    fields = {k.removeprefix("PLATFORM_").lower(): v for k, v in env.items()}
    return load_settings(**fields, _env_file=None)


@pytest.fixture(scope="module")
def lake(s3_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    bucket = make_bucket(s3_server.endpoint, "rest-" + secrets.token_hex(3))
    env = lake_env(tmp_path_factory.mktemp("rest-state"), s3_server, bucket, free_port())
    settings = settings_from(env)
    provision_identities(s3_server, settings)
    writer = replace(s3_server.endpoint, credentials=identities.load(settings, identities.SPARK))
    seeded = load_catalog(settings, writer, refuse_lost=False)
    seeded.create_namespace_if_not_exists("ops")
    rows = pa.table({"id": pa.array(range(ROWS), pa.int64()), "name": ["a", "b", "c"]})
    seeded.create_table(TABLE, schema=rows.schema).append(rows)
    server = RestCatalogServer(settings)
    started = server.ensure_running(writer)
    process_guard.register(started.state.pid, "REST catalog server (tests/rest_catalog)")
    try:
        yield Lake(settings, env, writer)
    finally:
        # `make spark-sql` (test_shells) starts the Spark Connect server on this state
        # directory, as it does for a user: stop it as `make down` would.
        SparkConnectServer(settings).stop()
        server.stop()

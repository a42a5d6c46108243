"""One Spark Connect server for the module's tests, on a JDBC catalog over the session's real S3
server, started by the platform's own `SparkConnectServer` as the spark identity.

A start costs a JVM with Spark and Iceberg (~10-30 s on a loaded 2-core machine), so the tests
share it; the fixture stops it (by the pid in its state file) even when a test fails, and
registers every pid it starts with the process guard.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from platform_defs import identities
from platform_defs.endpoint import StoreEndpoint
from platform_defs.settings import PlatformSettings, load_settings
from platform_defs.spark_connect.server import SparkConnectServer
from tests import process_guard
from tests.s3_servers import RunningServer, free_port, provision_identities
from tools.local_servers import make_bucket


@dataclass(frozen=True)
class Lake:
    settings: PlatformSettings
    env: dict[str, str]  # the same settings as PLATFORM_* variables, for subprocesses
    writer: StoreEndpoint  # the store as the spark identity

    def server(self) -> SparkConnectServer:
        return SparkConnectServer(self.settings)


def lake_env(state_dir: Path, server: RunningServer, bucket: str) -> dict[str, str]:
    root = server.endpoint.credentials
    return {
        "PLATFORM_STATE_DIR": str(state_dir),
        "PLATFORM_S3_ENDPOINT": server.endpoint.url,
        "PLATFORM_CREDENTIALS_SOURCE": "env",
        "PLATFORM_S3_ACCESS_KEY": root.access_key,
        "PLATFORM_S3_SECRET_KEY": root.secret_key,
        "PLATFORM_BUCKET": bucket,
        "PLATFORM_SPARK_CONNECT_PORT": str(free_port()),
        "PLATFORM_REST_CATALOG_PORT": str(free_port()),
        "PLATFORM_SPARK_MODE": "connect",
        "PLATFORM_SPARK_DRIVER_MEMORY": "1g",
    }


def settings_from(env: dict[str, str]) -> PlatformSettings:
    fields = {k.removeprefix("PLATFORM_").lower(): v for k, v in env.items()}
    return load_settings(**fields, _env_file=None)


def started(server: SparkConnectServer, writer: StoreEndpoint, label: str) -> int:
    result = server.ensure_running(writer)
    process_guard.register(result.state.pid, f"Spark Connect server ({label})")
    return result.state.pid


@pytest.fixture(scope="module")
def lake(s3_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    bucket = make_bucket(s3_server.endpoint, "sc-" + secrets.token_hex(3))
    env = lake_env(tmp_path_factory.mktemp("sc-state"), s3_server, bucket)
    settings = settings_from(env)
    provision_identities(s3_server, settings)
    writer = replace(s3_server.endpoint, credentials=identities.load(settings, identities.SPARK))
    server = SparkConnectServer(settings)
    try:
        started(server, writer, "tests/spark_connect")
        yield Lake(settings, env, writer)
    finally:
        server.stop()

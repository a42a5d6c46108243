"""Fixtures for the warehouse tests: platform settings and one bucket on the session's real S3
server (tests/conftest.py), and one Spark session shared by the in-process tests.

These are the tests of the in-process session (`PLATFORM_SPARK_MODE=session`, the fallback): its
conf, jars, failures explained and Spark jobs in a JVM of their own; the same jobs through the
Spark Connect server (the default) are tests/spark_connect's."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from platform_defs.endpoint import StoreEndpoint
from platform_defs.settings import PlatformSettings, load_settings
from platform_defs.spark.conf import build_spark_setup
from tests.s3_servers import RunningServer
from tools.local_servers import make_bucket

__all__ = ["make_bucket"]  # the warehouse tests import it from here

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def make_settings(state_dir: Path, bucket: str, **overrides: object) -> PlatformSettings:
    values: dict[str, object] = {
        "state_dir": state_dir, "bucket": bucket, "s3_endpoint": "http://127.0.0.1:1",
        "credentials_source": "env", "s3_access_key": "unused", "s3_secret_key": "unused-secret",
        "spark_driver_memory": "1g", "spark_mode": "session", "_env_file": None,
    }  # fmt: skip
    return load_settings(**{**values, **overrides})


def flip_keeping_size_and_mtime(jar: Path, offset: int, length: int = 4096) -> None:
    """Corrupt `length` bytes in place, then put the old mtime back: what a stamp cannot see."""
    st = jar.stat()
    with jar.open("r+b") as fh:
        fh.seek(offset)
        chunk = fh.read(length)
        fh.seek(offset)
        fh.write(bytes(b ^ 0xFF for b in chunk))
    os.utime(jar, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert jar.stat().st_size == st.st_size and jar.stat().st_mtime_ns == st.st_mtime_ns


class RecordingReporter:
    """Collects what a job reports, in place of Dagster Pipes."""

    def __init__(self) -> None:
        self.log = logging.getLogger("spark_job_test")
        self.materializations: list[dict[str, Any]] = []
        self.checks: list[tuple[str, bool, dict[str, Any]]] = []

    def report_asset_materialization(self, metadata: dict[str, Any]) -> None:
        self.materializations.append(metadata)

    def report_asset_check(self, check_name: str, passed: bool, metadata: dict[str, Any]) -> None:
        self.checks.append((check_name, passed, metadata))


@pytest.fixture(autouse=True)
def _in_process_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """The job processes these tests start inherit it (those that build their environment from
    scratch set it there)."""
    monkeypatch.setenv("PLATFORM_SPARK_MODE", "session")


@dataclass(frozen=True)
class Warehouse:
    settings: PlatformSettings
    endpoint: StoreEndpoint


@pytest.fixture(scope="session")
def warehouse(s3_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    bucket = make_bucket(s3_server.endpoint, "lake-" + secrets.token_hex(3))
    return Warehouse(make_settings(tmp_path_factory.mktemp("state"), bucket), s3_server.endpoint)


@pytest.fixture(scope="session")
def spark(warehouse: Warehouse) -> Iterator[SparkSession]:
    """One JVM for every in-process Spark test: a Spark start costs several seconds."""
    from platform_defs.spark.session import start_session

    session = start_session(warehouse.settings, warehouse.endpoint, app_name="tests")
    try:
        yield session
    finally:
        session.stop()
        stop_gateway_jvm()


def stop_gateway_jvm() -> None:
    """`SparkSession.stop()` keeps the driver JVM for a later session; it would live until
    pytest exits (it quits on EOF on its stdin). End it now, so that at the session's end no
    process started by a fixture is running (tests/process_guard.py checks)."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    if gateway is None:
        return
    SparkContext._gateway = None
    SparkContext._jvm = None
    proc = getattr(gateway, "proc", None)
    gateway.shutdown()
    if proc is not None:
        if proc.stdin is not None:
            proc.stdin.close()  # the JVM exits on EOF
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def attach_catalog(
    spark: SparkSession, settings: PlatformSettings, endpoint: StoreEndpoint
) -> None:
    """Add `settings.catalog_name` (built by the production conf code) to a running session."""
    setup = build_spark_setup(settings, endpoint, [])
    prefix = f"spark.sql.catalog.{settings.catalog_name}"
    settings.catalog_db_path.parent.mkdir(parents=True, exist_ok=True)
    for key, value in {**setup.conf, **setup.secret_conf}.items():
        if key.startswith(prefix):
            spark.conf.set(key, value)

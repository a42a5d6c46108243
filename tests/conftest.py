"""Shared fixtures: a real S3 server for the session and environments that point the platform
at it. Server logs are attached to the report of any failing test that used the server."""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import SettingsError
from platform_defs.rest_catalog.server import RestCatalogServer
from platform_defs.settings import load_settings
from platform_defs.spark_connect.server import SparkConnectServer
from tests import s3_servers

# Every process a test starts is stopped, even on a timeout; a survivor fails the session.
pytest_plugins = [
    "tests.process_guard",
    # The loopback control plane (`live_env`) and the cluster tests' loopback-only guard.
    "tests.k8s.testenv_session",
    "tests.k8s.loopback_guard",
]

_SERVER: s3_servers.RunningServer | None = None


@pytest.fixture(autouse=True)
def _isolated_platform_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's PLATFORM_* variables, .env file or state directory, and a
    Spark Connect server a test starts (the default PLATFORM_SPARK_MODE=connect: any Spark
    step) listens on a free port, never on a user's 15002; it lives in the test's state
    directory, so the process guard finds one its test did not stop."""
    for key in list(os.environ):
        if key.startswith("PLATFORM_") and key != "PLATFORM_TEST_S3_BACKEND":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLATFORM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PLATFORM_SPARK_CONNECT_PORT", str(s3_servers.free_port()))


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[s3_servers.RunningServer]:
    global _SERVER
    with s3_servers.start(tmp_path_factory.mktemp("s3-server")) as server:
        _SERVER = server
        yield server
        _SERVER = None


@pytest.fixture
def s3_endpoint(s3_server: s3_servers.RunningServer) -> StoreEndpoint:
    return s3_server.endpoint


@pytest.fixture
def external_store_env(
    monkeypatch: pytest.MonkeyPatch, s3_server: s3_servers.RunningServer
) -> Iterator[dict[str, str]]:
    """Point the platform at the session's server as an external endpoint, with its own bucket
    and its own service identities, created as an operator would for an external store.

    A whole-graph run starts the REST catalog server on the test's state directory (the
    `rest_catalog` asset), and in PLATFORM_SPARK_MODE=connect the Spark Connect server: both
    stopped here, as `make down` would, so they never outlive the test.
    """
    s3_endpoint = s3_server.endpoint
    env = {
        "PLATFORM_S3_ENDPOINT": s3_endpoint.url,
        "PLATFORM_CREDENTIALS_SOURCE": "env",
        "PLATFORM_S3_ACCESS_KEY": s3_endpoint.credentials.access_key,
        "PLATFORM_S3_SECRET_KEY": s3_endpoint.credentials.secret_key,
        "PLATFORM_BUCKET": f"lake-{uuid.uuid4().hex[:10]}",
        # a whole-graph run starts the REST catalog: never on the default port a user's may hold
        "PLATFORM_REST_CATALOG_PORT": str(s3_servers.free_port()),
        "PLATFORM_SPARK_CONNECT_PORT": str(s3_servers.free_port()),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    s3_servers.provision_identities(s3_server, load_settings())
    yield env
    with contextlib.suppress(SettingsError):  # a test of bad settings leaves nothing running
        settings = load_settings()
        for server in (RestCatalogServer(settings), SparkConnectServer(settings)):
            if server.state_file.exists():  # never started: nothing to stop, no lock to create
                server.stop()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Start from the signal dispositions a terminal gives. A suite started in the background of
    a script (`... &`, no job control) inherits SIGINT ignored; Dagster maps SIGTERM to SIGINT's
    disposition around every run (dagster._utils.interrupts), so after one in-process run SIGTERM
    was ignored too, and every process a later test started inherited that through exec and
    outlived its SIGTERM (issue 16's loaded run)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`make pytest PYTEST_WORKERS=N` runs pytest-xdist workers, `--dist loadgroup`: a module's tests stay
    on one worker, so a module-scoped server (a Spark Connect JVM, a REST catalog) starts once,
    and every `cluster` test runs on one worker against one loopback control plane. Runs before
    xdist's own hook, which turns the marks into scheduling groups; without xdist they do
    nothing."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            group = "cluster" if item.get_closest_marker("cluster") else item.nodeid.split("::")[0]
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and _SERVER is not None and "s3_server" in getattr(item, "fixturenames", ()):
        report.sections.append((f"S3 server log ({_SERVER.backend})", _SERVER.log_tail()))

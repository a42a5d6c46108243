"""Every external call has a bound: a catalog database, an S3 endpoint and a Kubernetes API
that accept TCP and never answer (tests/silent_server.py) each fail within their timeout setting,
with one message naming the endpoint and the setting. Each call runs in a thread joined with a
deadline, so a call that hangs fails the test instead of hanging the session.

Each bound is the wait the settings allow plus what the same call costs on this machine now:
the call is first made against a port that refuses at once (`_refused`), which takes the
client's setup, retries' backoff and error handling without any wait, so a loaded machine
stretches the limit exactly as much as it stretches the work."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import re
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from platform_defs.credentials import Credentials
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import (
    CatalogError,
    ClusterUnreachableError,
    SettingsError,
    StoreUnreachableError,
)
from platform_defs.iceberg.catalog import catalog_properties, load_catalog
from platform_defs.resources.platform import PlatformResource
from platform_defs.settings import load_settings
from tests.k8s.fake_apiserver import write_kubeconfig
from tests.silent_server import silent_server, version_only_apiserver
from tools.local_servers import free_port

KEYS = Credentials("AKIATESTTIMEOUTS0001", "timeouts-test-secret-not-real-0000000000")


@pytest.fixture(scope="module", autouse=True)
def _imported_before_the_clock_starts() -> None:
    """On a loaded machine importing pyiceberg or the kubernetes client takes seconds, which
    says nothing about the bound under test."""
    for name in ("psycopg2", "pyiceberg.catalog.sql", "pyiceberg.io.pyarrow", "kubernetes.dynamic",
                 "platform_defs.targets.kubernetes"):  # fmt: skip
        importlib.import_module(name)


def _within(seconds: float, call: Callable[[], Any]) -> tuple[BaseException, float]:
    """Run `call` in a thread; the exception it raised and how long it took, or fail when it is
    still running after `seconds` (it is then released by the server's shutdown)."""
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # the test inspects whatever it was
            outcome.append(exc)

    start = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    elapsed = time.monotonic() - start
    assert not thread.is_alive(), f"still waiting after {seconds} s: the call has no bound"
    assert outcome, "the call returned although the server never answered"
    return outcome[0], elapsed


def _refused(call: Callable[[], Any]) -> float:
    """Seconds `call` takes to fail when its peer refuses the connection (nothing to wait for)."""
    start = time.monotonic()
    with contextlib.suppress(Exception):
        call()
    return time.monotonic() - start


def _limit(waits: float, baseline: float) -> float:
    """The designed wait (`waits`: timeouts x attempts), the same call's cost without waiting
    (`baseline`) twice over, and a second for the thread and the clock."""
    return waits + 2 * baseline + 1.0


@pytest.mark.parametrize(
    "variable",
    ["S3_TIMEOUT_SECONDS", "K8S_API_TIMEOUT_SECONDS", "CATALOG_CONNECT_TIMEOUT_SECONDS",
     "CATALOG_STATEMENT_TIMEOUT_SECONDS"],
)  # fmt: skip
@pytest.mark.parametrize("value", ["0", "-1"])
def test_settings_refuse_non_positive_timeouts(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"PLATFORM_{variable}", value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert f"PLATFORM_{variable}='{value}': Input should be greater than 0" in str(info.value)


def test_catalog_database_that_never_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    # The sql-postgres extra of pyiceberg installs psycopg2 (libpq).
    monkeypatch.setenv("PLATFORM_CATALOG_CONNECT_TIMEOUT_SECONDS", "2")
    endpoint = StoreEndpoint(url="http://127.0.0.1:1", credentials=KEYS)
    monkeypatch.setenv("PLATFORM_CATALOG_URI", f"postgresql+psycopg2://u@127.0.0.1:{free_port()}/c")
    baseline = _refused(lambda: load_catalog(load_settings(), endpoint))
    with silent_server() as server:
        uri = f"postgresql+psycopg2://iceberg:pw-hidden@{server.address}/catalog"
        monkeypatch.setenv("PLATFORM_CATALOG_URI", uri)
        error, elapsed = _within(20, lambda: load_catalog(load_settings(), endpoint))
    assert isinstance(error, CatalogError), repr(error)
    message = str(error)
    # libpq: at most one retry without SSL
    assert elapsed < _limit(2 * 2, baseline), f"{elapsed:.1f} s (baseline {baseline:.2f} s)"
    assert f"{server.address}/catalog" in message and "pw-hidden" not in message
    assert "within 2 s (PLATFORM_CATALOG_CONNECT_TIMEOUT_SECONDS)" in message, message


def test_s3_endpoint_that_never_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyiceberg.io.pyarrow import PyArrowFileIO

    monkeypatch.setenv("PLATFORM_S3_TIMEOUT_SECONDS", "1")
    path = "s3://lake/warehouse/raw/t/metadata/00001-x.metadata.json"
    refusing = StoreEndpoint(url=f"http://127.0.0.1:{free_port()}", credentials=KEYS)
    baseline = _refused(lambda: PlatformResource().object_store(refusing).bucket_exists("lake"))
    io_refused = PyArrowFileIO(catalog_properties(load_settings(), refusing))
    io_baseline = _refused(lambda: io_refused.new_input(path).open().read())
    with silent_server() as server:
        endpoint = StoreEndpoint(url=f"http://{server.address}", credentials=KEYS)
        store = PlatformResource().object_store(endpoint)
        error, elapsed = _within(20, lambda: store.bucket_exists("lake"))
        assert isinstance(error, StoreUnreachableError), repr(error)
        # two attempts of 1 s
        assert elapsed < _limit(2 * 1, baseline), f"{elapsed:.1f} s (baseline {baseline:.2f} s)"
        message = str(error)
        assert f"The object store at http://{server.address} did not answer" in message
        assert "no answer within 1 s, 2 attempts; PLATFORM_S3_TIMEOUT_SECONDS" in message

        # pyiceberg's own S3 client (pyarrow) gets the same setting through the catalog.
        io = PyArrowFileIO(catalog_properties(load_settings(), endpoint))
        read = io.new_input(path)
        error, elapsed = _within(30, lambda: read.open().read())
        assert isinstance(error, OSError) and "Timeout was reached" in str(error), repr(error)
        # the AWS SDK's standard retry makes 3 attempts (its backoff is in the baseline); its
        # default of 3 s each would wait 9 s
        limit = _limit(3 * 1, io_baseline)
        assert elapsed < limit, f"{elapsed:.1f} s (baseline {io_baseline:.2f} s)"


def _kubernetes_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str) -> None:
    monkeypatch.setenv("PLATFORM_TARGET", "kubernetes")
    monkeypatch.setenv("PLATFORM_KUBECONFIG", str(write_kubeconfig(tmp_path / "kc", url, "hung")))
    monkeypatch.setenv("PLATFORM_K8S_API_TIMEOUT_SECONDS", "1")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


def _ensure_namespace() -> None:
    from platform_defs.targets.kubernetes import KubernetesTarget

    KubernetesTarget(load_settings()).ensure_namespace()


def test_kubernetes_api_that_never_answers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _kubernetes_env(monkeypatch, tmp_path, f"http://127.0.0.1:{free_port()}")
    baseline = _refused(_ensure_namespace)
    with silent_server() as server:
        _kubernetes_env(monkeypatch, tmp_path, f"http://{server.address}")
        error, elapsed = _within(20, _ensure_namespace)
    assert isinstance(error, ClusterUnreachableError), repr(error)
    assert elapsed < _limit(2 * 1, baseline), f"{elapsed:.1f} s (baseline {baseline:.2f} s)"
    message = str(error)
    assert f"at http://{server.address} during GET /version" in message, message
    assert "no answer within 1 s (PLATFORM_K8S_API_TIMEOUT_SECONDS sets the limit)" in message


def test_kubernetes_api_that_stops_answering_after_the_probe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The probe passes; discovery (which the client library sends without a timeout) hangs.
    The first discovery read is the served-kinds check's (platform_defs/k8s/served.py), before
    anything is applied, or the client library's own when a kind is looked up."""
    _kubernetes_env(monkeypatch, tmp_path, f"http://127.0.0.1:{free_port()}")
    baseline = _refused(_ensure_namespace)
    with version_only_apiserver() as url:
        _kubernetes_env(monkeypatch, tmp_path, url)
        error, elapsed = _within(20, _ensure_namespace)
        key = hashlib.sha256(url.encode()).hexdigest()[:16]
        (Path(tempfile.gettempdir()) / f"lakehouse-discovery-{key}.json").unlink(missing_ok=True)
    assert isinstance(error, ClusterUnreachableError), repr(error)
    assert elapsed < _limit(2 * 1, baseline), f"{elapsed:.1f} s (baseline {baseline:.2f} s)"
    message = str(error)
    discovery = rf"at {re.escape(url)} during (discovery of Namespace|GET /apis?(/[\w.]+)*) "
    assert re.search(discovery, message), message
    assert "PLATFORM_K8S_API_TIMEOUT_SECONDS" in message


@pytest.mark.slow
def test_iceberg_warehouse_fails_within_the_bound_on_a_silent_catalog(
    external_store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from assets.warehouse.iceberg import iceberg_warehouse
    from tests.test_bootstrap_graph import run_bootstrap

    assert run_bootstrap().success  # the store, bucket and identities the asset needs
    resources = {"platform": PlatformResource()}
    monkeypatch.setenv("PLATFORM_CATALOG_CONNECT_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("PLATFORM_CATALOG_URI", f"postgresql+psycopg2://u@127.0.0.1:{free_port()}/d")
    baseline = _refused(lambda: dg.materialize([iceberg_warehouse], resources=resources))
    with silent_server() as server:
        monkeypatch.setenv(
            "PLATFORM_CATALOG_URI",
            f"postgresql+psycopg2://u:pw@{server.address}/db",  # pragma: allowlist secret
        )
        error, elapsed = _within(
            60, lambda: dg.materialize([iceberg_warehouse], resources=resources)
        )
    # two connect attempts; Dagster's own run set-up is in the baseline
    assert elapsed < _limit(2 * 2, baseline), f"{elapsed:.1f} s (baseline {baseline:.2f} s)"
    assert isinstance(error, CatalogError), repr(error)
    assert "(PLATFORM_CATALOG_CONNECT_TIMEOUT_SECONDS)" in str(error)

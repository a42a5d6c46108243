"""The kubernetes target where the real control plane cannot show the case: a cluster nobody
answers for (no server at all), and a crash loop (kwok runs no containers). Everything else the
target does on a cluster (namespace, store applied and rolled out, credentials, endpoints, an
unknown context, a namespace mismatch) runs on the loopback control plane in
test_target_live.py."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from platform_defs.errors import ClusterUnreachableError, PlatformError, RolloutError
from platform_defs.resources.platform import PlatformResource
from platform_defs.targets.kubernetes import KubernetesTarget
from tests.k8s.conftest import DEPLOYMENT, FIXTURES, READY
from tests.k8s.fake_apiserver import FakeApiServer, write_kubeconfig


def _target() -> KubernetesTarget:
    target = PlatformResource().target()
    assert isinstance(target, KubernetesTarget)
    return target


def test_unreachable_cluster_fails_fast_naming_the_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No stand-in and no live server: a closed loopback port, so the connection is refused;
    a real control plane cannot be made to refuse its own connections for one test."""
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = write_kubeconfig(tmp_path / "kc", f"https://127.0.0.1:{port}", "kind-lakehouse")
    monkeypatch.setenv("PLATFORM_TARGET", "kubernetes")
    monkeypatch.setenv("PLATFORM_KUBECONFIG", str(config))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    start = time.monotonic()
    with pytest.raises(ClusterUnreachableError) as err:
        _target().ensure_namespace()
    assert time.monotonic() - start < 5
    assert isinstance(err.value, PlatformError)
    assert "context 'kind-lakehouse'" in str(err.value) and f"127.0.0.1:{port}" in str(err.value)


def test_stuck_rollout_is_explained(k8s_env: dict[str, str], fake: FakeApiServer) -> None:
    """A crash loop with its last log lines in the RolloutError. On the stand-in because kwok
    runs no containers, so nothing crashes or logs there; the error's form, the wait's bound and
    the live cases (unschedulable, missing class, progress deadline) are in
    test_diagnose_live.py."""
    fake.load_fixture(FIXTURES / "pod_crashloop.json")
    fake.status_script[DEPLOYMENT] = [{**READY, "readyReplicas": 0, "availableReplicas": 0}]
    start = time.monotonic()
    with pytest.raises(RolloutError) as err:
        _target().ensure_store()
    message = str(err.value)
    assert time.monotonic() - start < 10
    assert "Deployment/iceberg-minio" in message and "did not finish within 3 s" in message
    assert "0 of 1 updated replicas are available" in message
    assert "permission denied" in message and "context 'fake-apiserver'" in message

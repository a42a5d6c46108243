"""The kubernetes target end to end against the stand-in API server: namespace and store
provisioned through PlatformResource, metadata, credentials from the Secret, a stuck rollout
explained, and an unreachable cluster refused in seconds with the context's name."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import dagster as dg
import pytest

from assets.platform.provision import analytics_namespace
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


def test_unknown_context_is_named(kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_TARGET", "kubernetes")
    monkeypatch.setenv("PLATFORM_KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("PLATFORM_KUBE_CONTEXT", "kind-nope")
    with pytest.raises(PlatformError, match="kind-nope"):
        _target().cluster()


def test_namespace_asset_materializes_through_the_cluster(
    k8s_env: dict[str, str], fake: FakeApiServer
) -> None:
    result = dg.materialize([analytics_namespace], resources={"platform": PlatformResource()})
    assert result.success
    meta = result.asset_materializations_for_node("analytics_namespace")[0].metadata
    assert meta["kind"].value == "kubernetes-namespace"
    assert meta["context"].value == "fake-apiserver"
    assert meta["applied"].value == [{"object": "Namespace/analytics", "action": "created"}]
    assert [p.path for p in fake.patches()] == ["/api/v1/namespaces/analytics"]
    again = dg.materialize([analytics_namespace], resources={"platform": PlatformResource()})
    meta = again.asset_materializations_for_node("analytics_namespace")[0].metadata
    assert meta["created"].value is False and meta["changed"].value is False


def test_store_is_applied_waited_for_and_reported(
    k8s_env: dict[str, str], fake: FakeApiServer
) -> None:
    fake.status_script[DEPLOYMENT] = [{"observedGeneration": 1}, READY]
    info = _target().ensure_store()

    assert info.action == "applied" and info.backend == "minio"
    assert info.version == "RELEASE.2025-09-07T16-13-09Z"
    details = info.details
    assert details["ready_replicas"] == {"Deployment/iceberg-minio": 1}
    assert details["in_cluster_endpoint"] == "http://iceberg-minio.analytics.svc.cluster.local:9000"
    assert details["external_endpoint"] == "http://127.0.0.1:9"
    assert {a["action"] for a in details["applied"]} == {"created"}
    # The credentials are the prepare tool's, read back from the Secret the pods use.
    generated = Path(k8s_env["PLATFORM_MANIFESTS_DIR"]) / "overlays/dev/generated"
    root = json.loads((generated / "root-credentials.json").read_text())
    assert info.endpoint.credentials.access_key == root["access_key"]
    assert info.endpoint.credentials.secret_key == root["secret_key"]

    again = _target().ensure_store()
    assert again.action == "unchanged" and again.details["changed_objects"] == 0


def test_service_access_inside_the_cluster(
    k8s_env: dict[str, str], fake: FakeApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.status_script[DEPLOYMENT] = [READY]
    _target().ensure_store()
    monkeypatch.setenv("PLATFORM_K8S_STORE_ACCESS", "auto")
    monkeypatch.delenv("PLATFORM_K8S_STORE_URL")
    target = _target()
    target.cluster()  # connected through the kubeconfig; the stand-in has no service account
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    assert target.access() == "service"
    assert target.endpoint().url == "http://iceberg-minio.analytics.svc.cluster.local:9000"


def test_https_url_gets_the_generated_ca(
    k8s_env: dict[str, str], fake: FakeApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.status_script[DEPLOYMENT] = [READY]
    _target().ensure_store()
    monkeypatch.setenv("PLATFORM_K8S_STORE_URL", "https://minio.ml-platform.local")
    endpoint = _target().endpoint()
    assert endpoint.ca_bundle is not None and endpoint.ca_bundle.name == "ca.crt"
    assert endpoint.console_url == "https://minio-console.ml-platform.local"


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


def test_store_endpoint_before_provisioning_says_what_to_do(
    k8s_env: dict[str, str], fake: FakeApiServer
) -> None:
    with pytest.raises(PlatformError, match="Materialize `object_store`"):
        _target().endpoint()


def test_namespace_mismatch_is_a_settings_error(
    k8s_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_NAMESPACE", "lakehouse")
    with pytest.raises(PlatformError, match="PLATFORM_NAMESPACE=lakehouse"):
        _target().ensure_namespace()

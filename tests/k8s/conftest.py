"""Fixtures for the Kubernetes tests: a stand-in API server (see fake_apiserver.py), a kubeconfig
pointing at it, and prepared/rendered copies of the manifests (never the repository's own
`generated/` directories)."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from platform_defs.k8s import cluster as k8s_cluster
from platform_defs.k8s import prepare, render
from platform_defs.resources.platform import PlatformResource
from platform_defs.targets.kubernetes import KubernetesTarget
from tests.k8s.fake_apiserver import FakeApiServer, write_kubeconfig
from tests.k8s.live_fixtures import (  # noqa: F401 (live fixtures)
    api,
    kubectl,
    live_k8s_env,
    live_provisioned,
    namespace,
)
from tests.manifests.conftest import REPO, copy_manifests

FIXTURES = Path(__file__).parent / "fixtures"
DEPLOYMENT = "/apis/apps/v1/namespaces/analytics/deployments/iceberg-minio"
READY = {
    "observedGeneration": 1,
    "replicas": 1,
    "updatedReplicas": 1,
    "readyReplicas": 1,
    "availableReplicas": 1,
}
RENDERABLE = ("base", "dev", "prod")


@pytest.fixture(scope="session")
def k8s_manifests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = copy_manifests(tmp_path_factory.mktemp("k8s-manifests"))
    for overlay in ("dev", "prod"):
        prepare.prepare(overlay, manifests_dir=target, env={})
    return target


@pytest.fixture(scope="session")
def documents(k8s_manifests: Path) -> dict[str, list[render.Document]]:
    """Rendered objects of the base alone and of both overlays."""
    paths = {
        "base": k8s_manifests / "base" / "data",
        "dev": k8s_manifests / "overlays" / "dev",
        "prod": k8s_manifests / "overlays" / "prod",
    }
    return {name: render.load_documents(render.render(path)) for name, path in paths.items()}


@pytest.fixture
def fake() -> Iterator[FakeApiServer]:
    server = FakeApiServer()
    httpd, url = server.serve()
    server.url = url  # type: ignore[attr-defined]
    yield server
    httpd.shutdown()
    httpd.server_close()
    # The dynamic client's discovery cache for this (one-off) server address.
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    (Path(tempfile.gettempdir()) / f"lakehouse-discovery-{key}.json").unlink(missing_ok=True)


@pytest.fixture
def kubeconfig(fake: FakeApiServer, tmp_path: Path) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig", fake.url)  # type: ignore[attr-defined]


@pytest.fixture
def cluster(kubeconfig: Path) -> k8s_cluster.Cluster:
    return k8s_cluster.connect(k8s_cluster.ClusterTarget(kubeconfig=kubeconfig, timeout=2.0))


@pytest.fixture
def k8s_env(monkeypatch: pytest.MonkeyPatch, kubeconfig: Path, tmp_path: Path) -> dict[str, str]:
    """PLATFORM_* for the kubernetes target against the stand-in, with a scratch manifests copy
    that the target prepares itself (as it does outside a cluster)."""
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    env = {
        "PLATFORM_TARGET": "kubernetes",
        "PLATFORM_KUBECONFIG": str(kubeconfig),
        "PLATFORM_MANIFESTS_DIR": str(copy_manifests(tmp_path / "scratch")),
        "PLATFORM_K8S_ROLLOUT_TIMEOUT_SECONDS": "3",
        "PLATFORM_K8S_STORE_ACCESS": "url",
        "PLATFORM_K8S_STORE_URL": "http://127.0.0.1:9",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def provisioned(k8s_env: dict[str, str], fake: FakeApiServer) -> KubernetesTarget:
    """The dev overlay applied and rolled out on the stand-in, its requests forgotten."""
    fake.status_script[DEPLOYMENT] = [READY]
    target = PlatformResource().target()
    assert isinstance(target, KubernetesTarget)
    target.ensure_store()
    fake.requests.clear()
    return target


__all__ = ["DEPLOYMENT", "FIXTURES", "READY", "RENDERABLE", "REPO"]

"""Fixtures for tests on the loopback control plane (`live_env`): an API client, kubectl with
the environment's kubeconfig, a namespace of the test's own, and the kubernetes target on the
live cluster (`live_k8s_env`, `live_provisioned`). Imported by the `cluster` test modules, which
get a client and a kubectl each (module scope).

The target refuses any namespace but its overlay's (`analytics`), so the target fixtures use
that one namespace of the shared cluster: each deletes it first (waiting, so a test always
starts on an empty one, as on a new cluster) and again at the end (not waiting: the next user
waits). Tests run one at a time in a session, so no two of them hold it at once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from platform_defs.k8s import cluster as k8s_cluster
from platform_defs.k8s import prepare
from platform_defs.resources.platform import PlatformResource
from platform_defs.targets.kubernetes import KubernetesTarget
from tests.manifests.conftest import copy_manifests
from tools.k8s_testenv import env, seed

Kubectl = Callable[..., str]
TARGET_NAMESPACE = "analytics"  # the overlays' own namespace: the target refuses any other
CONTEXT = "testenv"  # the context of the kubeconfig tools/k8s_testenv writes


@pytest.fixture(scope="module")
def api(live_env: env.Running) -> k8s_cluster.Cluster:
    return k8s_cluster.connect(
        k8s_cluster.ClusterTarget(kubeconfig=live_env.kubeconfig, timeout=10.0)
    )


@pytest.fixture(scope="module")
def kubectl(live_env: env.Running) -> Kubectl:
    def run(*args: str, timeout: float = 120) -> str:
        return seed.kubectl(live_env.state, live_env.kubeconfig, list(args), timeout=timeout)

    return run


def recycle_released_volumes(kubectl: Kubectl) -> int:
    """Make the pool's Released PVs Available again, as an administrator of `Retain` volumes
    does (their claim reference removed): every test that binds a claim and deletes its
    namespace leaves one Released, and the session's pool (24) would run out, leaving later
    claims Pending. kwok runs no container, so nothing was written to them."""
    listing = json.loads(kubectl("get", "pv", "-o", "json"))
    released = [
        pv["metadata"]["name"]
        for pv in listing["items"]
        if (pv.get("status") or {}).get("phase") == "Released"
    ]
    for name in released:
        patch = '[{"op": "remove", "path": "/spec/claimRef"}]'
        kubectl("patch", "pv", name, "--type=json", "-p", patch)
    return len(released)


@pytest.fixture
def namespace(kubectl: Kubectl) -> Iterator[str]:
    """A namespace of the test's own, ready for pods (its default ServiceAccount exists)."""
    recycle_released_volumes(kubectl)
    name = f"t-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name)
    kubectl("-n", name, "wait", "--for=create", "serviceaccount/default", "--timeout=60s")
    yield name
    kubectl("delete", "namespace", name, "--wait=false")


@pytest.fixture
def live_k8s_env(
    live_env: env.Running,
    kubectl: Kubectl,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[dict[str, str]]:
    """PLATFORM_* of the kubernetes target on the live cluster, with a prepared scratch copy of
    the manifests (dev overlay), on an empty `analytics`. The store URL is a closed loopback
    port: nothing here talks S3."""
    manifests = copy_manifests(tmp_path / "scratch")
    prepare.prepare("dev", manifests_dir=manifests, env={})
    settings_env = {
        "PLATFORM_TARGET": "kubernetes",
        "PLATFORM_KUBECONFIG": str(live_env.kubeconfig),
        "PLATFORM_MANIFESTS_DIR": str(manifests),
        "PLATFORM_K8S_OVERLAY": "dev",
        "PLATFORM_K8S_ROLLOUT_TIMEOUT_SECONDS": "120",
        "PLATFORM_K8S_STORE_ACCESS": "url",
        "PLATFORM_K8S_STORE_URL": "http://127.0.0.1:9",
    }
    for key, value in settings_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KUBECACHEDIR", str(live_env.state / "kubecache"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    kubectl("delete", "namespace", TARGET_NAMESPACE, "--ignore-not-found", "--wait=true")
    recycle_released_volumes(kubectl)
    yield settings_env
    # Waited for: a namespace still terminating refuses new objects (403), and the next test
    # may well apply into `analytics` again.
    kubectl(
        "delete", "namespace", TARGET_NAMESPACE, "--ignore-not-found", "--wait=true", timeout=180
    )


def live_target() -> KubernetesTarget:
    target = PlatformResource().target()
    assert isinstance(target, KubernetesTarget)
    return target


@pytest.fixture
def live_provisioned(live_k8s_env: dict[str, str]) -> KubernetesTarget:
    """The dev overlay applied by the platform and rolled out by the real controllers (kwok
    makes MinIO's pod Ready), as after `object_store`."""
    target = live_target()
    target.ensure_store()
    return target

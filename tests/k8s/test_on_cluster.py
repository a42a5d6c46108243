"""The same assets end to end on a real cluster (kind from `make setup-cluster`).

Marked `kind`: these need real containers (MinIO running), which the loopback control plane of
the `cluster` tests does not run. Skipped only when no Kubernetes API answers for the context
(the current one, or PLATFORM_TEST_KUBE_CONTEXT). Run them with:

    make setup-cluster && .venv/bin/python -m pytest -m kind tests/k8s -v
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from assets.platform import provision as platform_assets
from assets.platform import storage as storage_assets
from platform_defs.errors import KubernetesError
from platform_defs.k8s import cluster as k8s_cluster
from platform_defs.k8s import portforward
from platform_defs.resources.platform import PlatformResource
from platform_defs.targets.kubernetes import KubernetesTarget
from tests.k8s.conftest import REPO

pytestmark = pytest.mark.kind
CONTEXT_ENV = "PLATFORM_TEST_KUBE_CONTEXT"


@pytest.fixture(scope="module")
def reachable_context() -> str:
    context = os.environ.get(CONTEXT_ENV)
    try:
        found = k8s_cluster.connect(k8s_cluster.ClusterTarget(context=context, timeout=3.0))
    except KubernetesError as exc:
        pytest.skip(
            f"no reachable Kubernetes cluster (set {CONTEXT_ENV} or run `make setup-cluster`): {exc}"
        )
    return found.context


@pytest.fixture
def on_cluster(
    reachable_context: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[KubernetesTarget]:
    monkeypatch.setenv("PLATFORM_TARGET", "kubernetes")
    monkeypatch.setenv("PLATFORM_KUBE_CONTEXT", reachable_context)
    monkeypatch.setenv("PLATFORM_MANIFESTS_DIR", str(REPO / "manifests"))
    monkeypatch.setenv("PLATFORM_K8S_ROLLOUT_TIMEOUT_SECONDS", "600")
    target = PlatformResource().target()
    assert isinstance(target, KubernetesTarget)
    yield target
    portforward.stop_all()


def test_bootstrap_assets_end_to_end(on_cluster: KubernetesTarget, tmp_path: Path) -> None:
    assets = dg.load_assets_from_modules([platform_assets, storage_assets])
    checks = dg.load_asset_checks_from_modules([platform_assets, storage_assets])
    from assets.cluster.checks import CHECKS

    result = dg.materialize([*assets, *checks, *CHECKS], resources={"platform": PlatformResource()})
    assert result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert not failed, failed
    store = result.asset_materializations_for_node("object_store")[0].metadata
    assert store["ready_replicas"].value == {"Deployment/iceberg-minio": 1}


def test_second_apply_changes_nothing_and_there_is_no_drift(on_cluster: KubernetesTarget) -> None:
    info = on_cluster.ensure_store()
    assert info.action == "unchanged", info.details["applied"]
    assert on_cluster.drift() == []

"""Fixtures for tests on the loopback control plane (`live_env`): an API client, kubectl with
the environment's kubeconfig, and a namespace of the test's own. Imported by the `cluster` test
modules, which get a client and a kubectl each (module scope)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from platform_defs.k8s import cluster as k8s_cluster
from tools.k8s_testenv import env, seed

Kubectl = Callable[..., str]


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


@pytest.fixture
def namespace(kubectl: Kubectl) -> Iterator[str]:
    """A namespace of the test's own, ready for pods (its default ServiceAccount exists)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name)
    kubectl("-n", name, "wait", "--for=create", "serviceaccount/default", "--timeout=60s")
    yield name
    kubectl("delete", "namespace", name, "--wait=false")

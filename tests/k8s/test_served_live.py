"""Every kind of the rendered manifests is checked against the real server's discovery before
anything is applied: on a private, short-lived loopback control plane whose cert-manager
Certificate CRD is deleted (the session's cluster is shared, so its CRDs are never taken away),
as the prod overlay met a real cluster without cert-manager. The case of the bare apply is in
test_fixes_live.py; here the `kubernetes` target's own steps refuse, the message names what is
missing and where to get it, dev still applies there, and with a second CRD gone every missing
kind is named once. Marked `cluster`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from platform_defs.errors import CrdMissingError, KubernetesError
from platform_defs.k8s import apply, prepare, render, served
from platform_defs.k8s import cluster as k8s_cluster
from platform_defs.resources.platform import PlatformResource
from platform_defs.targets.kubernetes import KubernetesTarget
from tests import process_guard
from tests.manifests.conftest import copy_manifests
from tools.k8s_testenv import env, seed

pytestmark = pytest.mark.cluster


def _delete_crd(running: env.Running, name: str) -> None:
    """Delete a CRD and wait until it is gone (discovery drops the kind with it)."""
    seed.kubectl(running.state, running.kubeconfig, ["delete", "crd", name])
    seed.kubectl(
        running.state,
        running.kubeconfig,
        ["wait", "--for=delete", f"crd/{name}", "--timeout=60s"],
    )


@pytest.fixture
def without_certificates(tmp_path: Path) -> Iterator[env.Running]:
    state = tmp_path / "no-cert-manager"
    running = env.up(state, on_start=process_guard.register)
    try:
        _delete_crd(running, "certificates.cert-manager.io")
        yield running
    finally:
        env.down(state)


def _nothing_written(api: k8s_cluster.Cluster, docs: list[render.Document]) -> None:
    for doc in docs:
        meta = doc["metadata"]
        if doc["kind"] == "Certificate":
            continue
        found = api.get(doc["apiVersion"], doc["kind"], meta["name"], apply.namespace_of(doc))
        assert found is None, f"{render.object_id(doc)} was written before the check"


def test_the_target_refuses_prod_names_what_is_missing_and_dev_still_applies(
    without_certificates: env.Running,
    documents: dict[str, list[render.Document]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    running = without_certificates
    api = k8s_cluster.connect(k8s_cluster.ClusterTarget(kubeconfig=running.kubeconfig, timeout=10))
    manifests = copy_manifests(tmp_path / "scratch")
    prepare.prepare("prod", manifests_dir=manifests, env={})
    for key, value in {
        "PLATFORM_TARGET": "kubernetes",
        "PLATFORM_KUBECONFIG": str(running.kubeconfig),
        "PLATFORM_MANIFESTS_DIR": str(manifests),
        "PLATFORM_K8S_OVERLAY": "prod",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    target = PlatformResource().target()
    assert isinstance(target, KubernetesTarget)

    # analytics_namespace runs first in the graph: it checks the whole overlay, so not even the
    # Namespace is created on a cluster that cannot take the rest; nor does object_store write.
    with pytest.raises(CrdMissingError) as err:
        target.ensure_namespace()
    with pytest.raises(CrdMissingError):
        target.ensure_store()
    message = str(err.value)
    assert isinstance(err.value, KubernetesError)
    assert "does not serve Certificate (cert-manager.io/v1)" in message
    assert "Certificate/minio-tls" in message and "Nothing was applied" in message
    assert f"cert-manager {served.CERT_MANAGER_VERSION}" in message
    assert "kubectl apply -f https://github.com/cert-manager/cert-manager/releases/" in message
    assert "ServiceMonitor" not in message, "only what is missing is named"
    assert api.get("v1", "Namespace", "analytics", None) is None
    _nothing_written(api, target.documents())

    # dev has no Certificate: it applies on the same cluster.
    results = apply.apply_all(api, documents["dev"])
    assert {r.action for r in results} == {"created"}

    # A second CRD gone and a kind nobody defines: each missing kind named once, its objects
    # listed under it, each with where to get it.
    _delete_crd(running, "servicemonitors.monitoring.coreos.com")
    docs = [
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "a"}},
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "b"}},
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": {"name": "m"},
        },
        {"apiVersion": "example.com/v1alpha1", "kind": "Widget", "metadata": {"name": "w"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}},
    ]
    gaps = {(m.api_version, m.kind): m for m in served.missing(api, docs)}
    assert set(gaps) == {
        ("cert-manager.io/v1", "Certificate"),
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("example.com/v1alpha1", "Widget"),
    }
    assert gaps[("cert-manager.io/v1", "Certificate")].objects == ("Certificate/a", "Certificate/b")
    monitor = gaps[("monitoring.coreos.com/v1", "ServiceMonitor")].explain()
    assert "Prometheus Operator CRDs" in monitor and "stripped-down-crds.yaml" in monitor
    widget = gaps[("example.com/v1alpha1", "Widget")].explain()
    assert "group example.com, version v1alpha1" in widget and "install the CRD" in widget


def test_subresources_do_not_make_a_kind_served(api: k8s_cluster.Cluster) -> None:
    """The real discovery lists `deployments/scale` with kind Scale: a Scale object is not
    applicable by itself."""
    apps = api.get_path("/apis/apps/v1")
    assert apps is not None
    assert any(r["name"] == "deployments/scale" and r["kind"] == "Scale" for r in apps["resources"])
    doc = {"apiVersion": "apps/v1", "kind": "Scale", "metadata": {"name": "x"}}
    assert [m.kind for m in served.missing(api, [doc])] == ["Scale"]

"""Every kind of the rendered manifests is checked against discovery before anything is applied.

Served from a discovery document in the real server's format (fixtures/discovery_*.json): a
cluster with the Prometheus Operator's CRDs and without cert-manager, as the prod overlay met
it on a real kube-apiserver, where it failed only after everything ordered before the
Certificate had been applied.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from platform_defs.errors import CrdMissingError, KubernetesError
from platform_defs.k8s import apply, render, served
from platform_defs.k8s.cluster import Cluster
from platform_defs.resources.platform import PlatformResource
from platform_defs.targets.kubernetes import KubernetesTarget
from tests.k8s.conftest import FIXTURES
from tests.k8s.fake_apiserver import FakeApiServer

NO_CERT_MANAGER = FIXTURES / "discovery_v1_37_without_cert_manager.json"
CERT_MANAGER_V1 = {
    "kind": "APIResourceList",
    "apiVersion": "v1",
    "groupVersion": "cert-manager.io/v1",
    "resources": [
        {
            "name": "certificates",
            "singularName": "certificate",
            "namespaced": True,
            "kind": "Certificate",
            "verbs": ["delete", "deletecollection", "get", "list", "patch", "create", "update"],
            "shortNames": ["cert", "certs"],
            "categories": ["cert-manager"],
        },
        {
            "name": "certificates/status",
            "singularName": "",
            "namespaced": True,
            "kind": "Certificate",
            "verbs": ["get", "patch", "update"],
        },
    ],
}


def _writes(fake: FakeApiServer) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests if r.method != "GET"]


def test_prod_apply_without_cert_manager_fails_before_any_write(
    documents: dict[str, list[render.Document]], cluster: Cluster, fake: FakeApiServer
) -> None:
    fake.load_discovery(NO_CERT_MANAGER)
    with pytest.raises(CrdMissingError) as err:
        apply.apply_all(cluster, documents["prod"])
    message = str(err.value)
    assert "does not serve Certificate (cert-manager.io/v1)" in message
    assert "Certificate/minio-tls" in message and "Nothing was applied" in message
    assert f"cert-manager {served.CERT_MANAGER_VERSION}" in message
    assert "kubectl apply -f https://github.com/cert-manager/cert-manager/releases/" in message
    assert "ServiceMonitor" not in message, "only what is missing is named"
    assert _writes(fake) == [] and fake.objects == {}
    assert isinstance(err.value, KubernetesError)


def test_dev_applies_on_the_same_cluster(
    documents: dict[str, list[render.Document]], cluster: Cluster, fake: FakeApiServer
) -> None:
    fake.load_discovery(NO_CERT_MANAGER)
    results = apply.apply_all(cluster, documents["dev"])
    assert {r.action for r in results} == {"created"}
    assert len(_writes(fake)) == len(documents["dev"])


def test_the_namespace_asset_refuses_too(
    k8s_env: dict[str, str], fake: FakeApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """analytics_namespace runs first in the graph: it checks the whole overlay, so not even
    the Namespace is created on a cluster that cannot take the rest."""
    monkeypatch.setenv("PLATFORM_K8S_OVERLAY", "prod")
    fake.load_discovery(NO_CERT_MANAGER)
    target = PlatformResource().target()
    assert isinstance(target, KubernetesTarget)
    with pytest.raises(CrdMissingError, match="does not serve Certificate"):
        target.ensure_namespace()
    with pytest.raises(CrdMissingError):
        target.ensure_store()
    assert _writes(fake) == []


def test_a_crd_installed_a_moment_ago_is_found_on_the_second_read(
    documents: dict[str, list[render.Document]],
    cluster: Cluster,
    fake: FakeApiServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Discovery lags a CRD's establishment; the check reads it again once before failing."""
    fake.load_discovery(NO_CERT_MANAGER)
    reads: list[str] = []
    original = cluster.get_path

    def get_path(path: str) -> dict[str, object] | None:
        reads.append(path)
        found = original(path)
        if path == "/apis/cert-manager.io/v1" and found is None:
            assert fake.discovery is not None
            fake.discovery[path] = CERT_MANAGER_V1  # the CRD becomes visible after this read
        return found

    monkeypatch.setattr(cluster, "get_path", get_path)
    assert served.missing(cluster, documents["prod"]) == []
    assert reads.count("/apis/cert-manager.io/v1") == 2


def test_every_missing_kind_is_named_once_with_its_provider(
    cluster: Cluster, fake: FakeApiServer
) -> None:
    discovery = json.loads(NO_CERT_MANAGER.read_text())
    del discovery["/apis/monitoring.coreos.com/v1"]
    fake.discovery = {k: v for k, v in discovery.items() if k.startswith("/")}
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
    gaps = {(m.api_version, m.kind): m for m in served.missing(cluster, docs)}
    assert set(gaps) == {
        ("cert-manager.io/v1", "Certificate"),
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("example.com/v1alpha1", "Widget"),
    }
    assert gaps[("cert-manager.io/v1", "Certificate")].objects == ("Certificate/a", "Certificate/b")
    assert (
        "Prometheus Operator CRDs" in gaps[("monitoring.coreos.com/v1", "ServiceMonitor")].explain()
    )
    assert (
        "stripped-down-crds.yaml" in gaps[("monitoring.coreos.com/v1", "ServiceMonitor")].explain()
    )
    widget = gaps[("example.com/v1alpha1", "Widget")].explain()
    assert "group example.com, version v1alpha1" in widget and "install the CRD" in widget


def test_subresources_do_not_make_a_kind_served(cluster: Cluster, fake: FakeApiServer) -> None:
    """`deployments/scale` lists kind Scale: a Scale object is not applicable by itself."""
    fake.load_discovery(NO_CERT_MANAGER)
    doc = {"apiVersion": "apps/v1", "kind": "Scale", "metadata": {"name": "x"}}
    assert [m.kind for m in served.missing(cluster, [doc])] == ["Scale"]


def test_the_recorded_discovery_lacks_cert_manager() -> None:
    """The fixture says what the test claims: no cert-manager group anywhere in it."""
    recorded = json.loads(Path(NO_CERT_MANAGER).read_text())
    groups = {g["name"] for g in recorded["/apis"]["groups"]}
    assert "cert-manager.io" not in groups and "monitoring.coreos.com" in groups
    assert not [p for p in recorded if "cert-manager" in p]

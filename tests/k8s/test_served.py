"""The served-kinds check's one case that needs exact timing: a CRD that discovery shows only on
the second read. Served from a discovery document in kube-apiserver v1.37's format, written by
hand (fixtures/discovery_*.json: the Prometheus Operator's CRDs, no cert-manager). The refusals, the
messages and the subresource rule run on the real control plane in test_served_live.py and
test_fixes_live.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from platform_defs.k8s import render, served
from platform_defs.k8s.cluster import Cluster
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


def test_a_crd_installed_a_moment_ago_is_found_on_the_second_read(
    documents: dict[str, list[render.Document]],
    cluster: Cluster,
    fake: FakeApiServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Discovery lags a CRD's establishment; the check reads it again once before failing. On
    recorded discovery because a real server cannot be made to publish a CRD exactly between
    two reads of the check."""
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


def test_the_recorded_discovery_lacks_cert_manager() -> None:
    """The fixture says what the test claims: no cert-manager group anywhere in it."""
    recorded = json.loads(Path(NO_CERT_MANAGER).read_text())
    groups = {g["name"] for g in recorded["/apis"]["groups"]}
    assert "cert-manager.io" not in groups and "monitoring.coreos.com" in groups
    assert not [p for p in recorded if "cert-manager" in p]

"""Server-side apply at the request level, against the stand-in API server: the exact PATCH
requests for the base and both overlays, Namespace first, and idempotence."""

from __future__ import annotations

import pytest

from platform_defs.k8s import apply, render
from platform_defs.k8s.cluster import FIELD_MANAGER, Cluster
from tests.k8s.conftest import RENDERABLE
from tests.k8s.fake_apiserver import FakeApiServer

# Written out independently of the stand-in's own table: the REST path of each kind.
PATHS = {
    "Namespace": "/api/v1/namespaces/{name}",
    "Secret": "/api/v1/namespaces/analytics/secrets/{name}",
    "Service": "/api/v1/namespaces/analytics/services/{name}",
    "PersistentVolumeClaim": "/api/v1/namespaces/analytics/persistentvolumeclaims/{name}",
    "ConfigMap": "/api/v1/namespaces/analytics/configmaps/{name}",
    "Deployment": "/apis/apps/v1/namespaces/analytics/deployments/{name}",
    "StatefulSet": "/apis/apps/v1/namespaces/analytics/statefulsets/{name}",
    "PodDisruptionBudget": "/apis/policy/v1/namespaces/analytics/poddisruptionbudgets/{name}",
    "NetworkPolicy": "/apis/networking.k8s.io/v1/namespaces/analytics/networkpolicies/{name}",
    "Ingress": "/apis/networking.k8s.io/v1/namespaces/analytics/ingresses/{name}",
    "Certificate": "/apis/cert-manager.io/v1/namespaces/analytics/certificates/{name}",
}


def _expected_path(doc: render.Document) -> str:
    return PATHS[doc["kind"]].format(name=doc["metadata"]["name"])


@pytest.mark.parametrize("which", RENDERABLE)
def test_apply_sends_one_server_side_apply_per_object(
    which: str,
    documents: dict[str, list[render.Document]],
    cluster: Cluster,
    fake: FakeApiServer,
) -> None:
    docs = documents[which]
    results = apply.apply_all(cluster, docs)

    patches = fake.patches()
    assert len(patches) == len(docs)
    assert patches[0].path == "/api/v1/namespaces/analytics", "Namespace must come first"
    assert sorted(p.path for p in patches) == sorted(_expected_path(d) for d in docs)
    for request in patches:
        assert request.content_type == "application/apply-patch+yaml"
        assert request.query == {"fieldManager": [FIELD_MANAGER], "force": ["true"]}
    sent = {p.path: p.body for p in patches}
    for doc in docs:
        assert sent[_expected_path(doc)] == doc, f"{render.object_id(doc)} sent changed"
    assert {r.action for r in results} == {"created"}
    assert not any(r.method in ("POST", "PUT", "DELETE") for r in fake.requests)


@pytest.mark.parametrize("which", ["dev", "prod"])
def test_workloads_come_after_what_they_mount(
    which: str, documents: dict[str, list[render.Document]]
) -> None:
    kinds = [d["kind"] for d in apply.ordered(documents[which])]
    workload = next(i for i, k in enumerate(kinds) if k in ("Deployment", "StatefulSet"))
    assert kinds[0] == "Namespace"
    assert all(k not in ("Secret", "PersistentVolumeClaim", "Service") for k in kinds[workload:])


def test_second_apply_reports_no_change(
    documents: dict[str, list[render.Document]], cluster: Cluster, fake: FakeApiServer
) -> None:
    docs = documents["dev"]
    first = apply.apply_all(cluster, docs)
    versions = {p: o["metadata"]["resourceVersion"] for p, o in fake.objects.items()}

    second = apply.apply_all(cluster, docs)

    assert [r.action for r in second] == ["unchanged"] * len(docs)
    assert [r.resource_version for r in second] == [r.resource_version for r in first]
    assert {p: o["metadata"]["resourceVersion"] for p, o in fake.objects.items()} == versions
    managers = {m["manager"] for o in fake.objects.values() for m in o["metadata"]["managedFields"]}
    assert managers == {FIELD_MANAGER}


def test_a_changed_manifest_is_reported_as_configured(
    documents: dict[str, list[render.Document]], cluster: Cluster
) -> None:
    docs = documents["dev"]
    apply.apply_all(cluster, docs)
    edited = [dict(d) for d in docs]
    service = next(d for d in edited if d["kind"] == "Service")
    service["metadata"] = {**service["metadata"], "labels": {"team": "data"}}

    actions = {f"{r.kind}/{r.name}": r.action for r in apply.apply_all(cluster, edited)}

    assert actions.pop("Service/iceberg-minio") == "configured"
    assert set(actions.values()) == {"unchanged"}

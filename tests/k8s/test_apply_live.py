"""Server-side apply on the real loopback control plane: what the stand-in's request log used to
show (one apply PATCH per object, the platform's field manager, the objects exactly as rendered,
nothing created with POST/PUT), read from the live objects instead, through their
`managedFields`: an object the platform applied has an `Apply` entry of `lakehouse-platform`
owning every field it sent, and no `Update` entry of it (a POST or PUT would leave one).

Each test applies into a namespace of its own (the overlay's Namespace object renamed, its
objects moved), which the platform's apply creates: tests sharing the session's cluster never
touch each other's objects. Marked `cluster`."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from platform_defs.k8s import apply, render
from platform_defs.k8s.cluster import FIELD_MANAGER, Cluster
from tests.k8s.conftest import RENDERABLE
from tests.k8s.live_fixtures import Kubectl, recycle_released_volumes

pytestmark = pytest.mark.cluster


@pytest.fixture
def fresh_namespace(kubectl: Kubectl) -> Iterator[str]:
    """A name for a namespace nobody has created yet (the apply creates it); deleted after."""
    recycle_released_volumes(kubectl)
    name = f"t-apply-{uuid.uuid4().hex[:8]}"
    yield name
    kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=false")


def _moved(docs: list[render.Document], namespace: str) -> list[render.Document]:
    """The overlay as rendered, its Namespace renamed to `namespace` and everything in it."""
    moved = []
    for doc in copy.deepcopy(docs):
        if doc["kind"] == "Namespace":
            doc["metadata"]["name"] = namespace
        else:
            doc["metadata"]["namespace"] = namespace
        moved.append(doc)
    return moved


def _reapply_changes_nothing(api: Cluster, doc: render.Document, tries: int = 5) -> bool:
    """A dry-run apply leaves the resourceVersion as it is, judged between two reads that agree:
    controllers keep writing a new object for a while (the PV binder a claim, the Deployment
    controller its status), and such a write between the read and the apply is theirs."""
    for _ in range(tries):
        before = _live(api, doc)["metadata"]["resourceVersion"]
        dry = api.apply(doc, dry_run=True)["metadata"]["resourceVersion"]
        if _live(api, doc)["metadata"]["resourceVersion"] == before:
            return bool(dry == before)
    return False


def _live(api: Cluster, doc: render.Document) -> dict[str, Any]:
    meta = doc["metadata"]
    found = api.get(doc["apiVersion"], doc["kind"], meta["name"], apply.namespace_of(doc))
    assert found is not None, f"{render.object_id(doc)} is not on the server"
    return found


def _sent_paths(value: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every field the manifest sets, as FieldsV1 keys down to the first list (a list's
    elements are keyed by the schema's merge keys, checked by the drift tests)."""
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            yield from _sent_paths(inner, (*prefix, f"f:{key}"))
    else:
        yield prefix


def _owns(fields: dict[str, Any], path: tuple[str, ...]) -> bool:
    """Whether `path` is in the FieldsV1 set; an atomic map (a Service's `selector`) is owned
    whole: its entry is a leaf (`{}`) and covers every key under it."""
    for key in path:
        if key not in fields:
            return fields == {}
        fields = fields[key]
    return True


def _platform_entries(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in obj["metadata"]["managedFields"] if m["manager"] == FIELD_MANAGER]


@pytest.mark.parametrize("which", RENDERABLE)
def test_apply_is_one_server_side_apply_per_object_owning_what_it_sent(
    which: str,
    documents: dict[str, list[render.Document]],
    api: Cluster,
    fresh_namespace: str,
) -> None:
    docs = _moved(documents[which], fresh_namespace)

    results = apply.apply_all(api, docs)

    assert (results[0].kind, results[0].name) == ("Namespace", fresh_namespace), "first"
    assert sorted(f"{r.kind}/{r.name}" for r in results) == sorted(
        f"{d['kind']}/{d['metadata']['name']}" for d in docs
    )
    assert {r.action for r in results} == {"created"}
    for doc in docs:
        live = _live(api, doc)
        what = render.object_id(doc)
        (entry,) = _platform_entries(live)  # one entry: never also an Update (POST/PUT)
        assert (entry["operation"], entry["apiVersion"]) == ("Apply", doc["apiVersion"]), what
        assert "subresource" not in entry, what
        sent = {k: v for k, v in doc.items() if k not in ("apiVersion", "kind")}
        sent["metadata"] = {
            k: v for k, v in doc["metadata"].items() if k not in ("name", "namespace")
        }
        missing = [p for p in _sent_paths(sent) if not _owns(entry["fieldsV1"], p)]
        assert missing == [], f"{what}: fields sent but not owned by {FIELD_MANAGER}: {missing}"
        # What was sent is what is there: applying it again (dry run) changes nothing.
        assert _reapply_changes_nothing(api, doc), what


def _settled(kubectl: Kubectl, namespace: str) -> None:
    """Wait until the controllers are done with the objects (MinIO rolled out, its claim
    bound), so a resourceVersion that moves after this is the platform's doing."""
    kubectl("-n", namespace, "rollout", "status", "deployment/iceberg-minio", "--timeout=120s")
    kubectl(
        "-n",
        namespace,
        "wait",
        "--for=jsonpath={.status.phase}=Bound",
        "pvc/iceberg-minio",
        "--timeout=60s",
    )


def test_second_apply_reports_no_change_and_writes_nothing(
    documents: dict[str, list[render.Document]],
    api: Cluster,
    kubectl: Kubectl,
    fresh_namespace: str,
) -> None:
    docs = _moved(documents["dev"], fresh_namespace)
    first = apply.apply_all(api, docs)
    _settled(kubectl, fresh_namespace)
    versions = {render.object_id(d): _live(api, d)["metadata"]["resourceVersion"] for d in docs}

    second = apply.apply_all(api, docs)

    assert [r.action for r in second] == ["unchanged"] * len(docs)
    assert [f"{r.kind}/{r.name}" for r in second] == [f"{r.kind}/{r.name}" for r in first]
    after = {render.object_id(d): _live(api, d)["metadata"]["resourceVersion"] for d in docs}
    assert after == versions
    assert {r.resource_version for r in second} <= set(versions.values())
    appliers = {
        m["manager"]
        for d in docs
        for m in _live(api, d)["metadata"]["managedFields"]
        if m["operation"] == "Apply"
    }
    assert appliers == {FIELD_MANAGER}, "only the platform applies; controllers only update"


def test_a_changed_manifest_is_reported_as_configured(
    documents: dict[str, list[render.Document]],
    api: Cluster,
    kubectl: Kubectl,
    fresh_namespace: str,
) -> None:
    docs = _moved(documents["dev"], fresh_namespace)
    apply.apply_all(api, docs)
    _settled(kubectl, fresh_namespace)
    edited = copy.deepcopy(docs)
    service = next(d for d in edited if d["kind"] == "Service")
    service["metadata"]["labels"] = {**service["metadata"]["labels"], "team": "data"}

    actions = {f"{r.kind}/{r.name}": r.action for r in apply.apply_all(api, edited)}

    assert actions.pop("Service/iceberg-minio") == "configured"
    assert set(actions.values()) == {"unchanged"}
    (entry,) = _platform_entries(_live(api, service))
    assert "f:team" in entry["fieldsV1"]["f:metadata"]["f:labels"]

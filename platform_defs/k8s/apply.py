"""Apply a rendered overlay with server-side apply, in dependency order, and say what changed.

Order matters on an empty cluster: the Namespace must exist before anything in it, and Secrets,
ConfigMaps and PVCs before the workload that mounts them (else its first pods fail and the
rollout starts with a crash). Whether an object changed is read from the API itself: the
object's `resourceVersion` only moves when the server stored a different object, so a second
apply of the same manifests reports no change at all. Before the first write, every kind is
checked against the cluster's discovery (`served.require`): a missing CRD fails the whole apply
with nothing written, instead of failing at its object's turn after the rest was applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from platform_defs.k8s import served
from platform_defs.k8s.cluster import Cluster
from platform_defs.k8s.render import Document, object_id

# Lower first; kinds not listed go last (Ingress, NetworkPolicy, CRD instances...).
_ORDER = {
    "Namespace": 0,
    "ServiceAccount": 1,
    "Secret": 2,
    "ConfigMap": 2,
    "PersistentVolumeClaim": 3,
    "Service": 4,
    "Deployment": 5,
    "StatefulSet": 5,
    "PodDisruptionBudget": 6,
}
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet"})


@dataclass(frozen=True)
class Applied:
    """One object after apply: `action` is created, configured or unchanged (kubectl's words)."""

    kind: str
    name: str
    namespace: str | None
    action: str
    resource_version: str

    @property
    def changed(self) -> bool:
        return self.action != "unchanged"

    def as_metadata(self) -> dict[str, object]:
        where = f"{self.namespace}/" if self.namespace else ""
        return {"object": f"{self.kind}/{where}{self.name}", "action": self.action}


def ordered(docs: Sequence[Document]) -> list[Document]:
    """Namespace first, workloads after what they mount; stable within a rank."""
    return sorted(docs, key=lambda d: _ORDER.get(d.get("kind", ""), 9))


def namespace_of(doc: Document) -> str | None:
    namespace = doc.get("metadata", {}).get("namespace")
    return str(namespace) if namespace else None


def apply_one(cluster: Cluster, doc: Document) -> Applied:
    meta = doc["metadata"]
    before = cluster.get(doc["apiVersion"], doc["kind"], meta["name"], namespace_of(doc))
    after = cluster.apply(doc)
    old_rv = (before or {}).get("metadata", {}).get("resourceVersion")
    new_rv = str(after.get("metadata", {}).get("resourceVersion", ""))
    if before is None:
        action = "created"
    elif old_rv == new_rv or _content(before) == _content(after):
        # A controller may write the status between the read and the apply (a rollout in
        # progress): the resourceVersion moved, but nothing the apply sends did.
        action = "unchanged"
    else:
        action = "configured"
    return Applied(doc["kind"], meta["name"], namespace_of(doc), action, new_rv)


def _content(obj: Document) -> Document:
    """The object without what moves on every write by anyone: its status, resourceVersion and
    managedFields."""
    meta = {
        k: v
        for k, v in obj.get("metadata", {}).items()
        if k not in ("resourceVersion", "managedFields")
    }
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


def apply_all(cluster: Cluster, docs: Sequence[Document]) -> list[Applied]:
    """Apply every document in order, after checking the cluster serves every kind of them
    (CrdMissingError, nothing written); stops at the first refusal (a KubernetesError)."""
    served.require(cluster, docs)
    return [apply_one(cluster, doc) for doc in ordered(docs)]


def namespaces(docs: Sequence[Document]) -> list[Document]:
    return [d for d in docs if d.get("kind") == "Namespace"]


def workloads(docs: Sequence[Document]) -> list[Document]:
    return [d for d in docs if d.get("kind") in WORKLOAD_KINDS]


def describe(docs: Sequence[Document]) -> list[str]:
    return [object_id(d) for d in docs]

"""Drift: what changed in the fields the platform manages, and who changed it.

**What drift means here.** The platform owns the fields its manifests set: after a server-side
apply they are the paths of its field manager (`lakehouse-platform`) in the object's
`managedFields`. Drift is any of:

- **changed**: a field the manifests set has another value live, or is no longer the
  platform's (e.g. `kubectl scale --replicas=2`: `spec.replicas` now belongs to `kubectl`
  through `/scale`). Repair: re-apply with force, which sets the value and takes the field back.
- **conflict**: such a field is held by another manager that also *applies* (a GitOps tool, a
  person's `kubectl apply --server-side`) with a different value. A forced re-apply wins, but
  that applier will set it again: settle which of the two owns the field.
- **foreign**: a field another manager set that the manifests do not set at all (e.g. a label
  added with `kubectl label`). It changes nothing the platform manages, so it is reported as
  foreign and left alone; with PLATFORM_K8S_REMOVE_FOREIGN_FIELDS=true the repair removes
  foreign labels and annotations of the object itself (`remove_foreign`).
- **missing**: the object is gone.

Not drift: fields the server fills in (defaults such as a StatefulSet's
`updateStrategy.rollingUpdate.partition: 0`, a Service's `clusterIP`), which belong to no
manager; `status`; and what the control plane's own managers write (the controller-manager's
revision annotation, an HPA's replicas through /scale would be "changed" only if the manifests
set replicas).

How: a server-side *dry-run* apply of each rendered object returns it as the server would store
it (defaults applied, quantities normalised) with the platform owning exactly the manifests'
fields; for each of those paths its value is compared with the live object's, and the live
`managedFields` say who owns it now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from platform_defs.errors import KubernetesError
from platform_defs.k8s import fields
from platform_defs.k8s.apply import namespace_of, ordered
from platform_defs.k8s.cluster import FIELD_MANAGER, Cluster
from platform_defs.k8s.render import Document, object_id

Kind = Literal["changed", "conflict", "foreign"]
# The control plane's own managers: what they write is the cluster running, never drift.
CONTROL_PLANE = frozenset(
    {"kube-controller-manager", "kube-scheduler", "kubelet", "kube-apiserver", "kube-proxy"}
)
# Foreign fields the repair may remove: the object's own labels and annotations (never the pod
# template's: changing those rolls the pods).
_REMOVABLE = ((("f", "metadata"), ("f", "labels")), (("f", "metadata"), ("f", "annotations")))


@dataclass(frozen=True)
class FieldDrift:
    path: str  # spec.replicas
    kind: Kind
    text: str  # the whole line for people
    manager: str | None = None  # who holds the field now, when not the platform
    removable: bool = False  # a foreign label/annotation of the object itself


@dataclass(frozen=True)
class Drift:
    subject: str  # Kind/name
    differences: tuple[str, ...]  # one line per field; "missing from the cluster" if absent
    fields: tuple[FieldDrift, ...] = ()

    def of_kind(self, kind: Kind) -> list[FieldDrift]:
        return [f for f in self.fields if f.kind == kind]

    def needs_repair(self, remove_foreign: bool) -> bool:
        """Whether a re-apply would change something: anything but foreign fields, or foreign
        labels/annotations the setting lets the repair remove."""
        if not self.fields or any(f.kind != "foreign" for f in self.fields):
            return True
        return remove_foreign and any(f.removable for f in self.fields)

    def as_metadata(self) -> dict[str, object]:
        out: dict[str, object] = {"object": self.subject, "differences": list(self.differences)}
        for kind in ("changed", "conflict", "foreign"):
            found = [f.path for f in self.fields if f.kind == kind]
            if found:
                out[kind] = found
        return out


def _short(value: Any) -> str:
    text = "(absent)" if fields.is_missing(value) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _values(kind: str, live: Any, wanted: Any) -> str:
    # Secrets carry credentials: say that a key differs, never its values.
    if kind == "Secret":
        return "differs"
    return f"live {_short(live)}, manifests {_short(wanted)}"


def _managed(
    kind: str,
    path: fields.Path,
    live: Document,
    wanted: Document,
    live_owners: list[fields.Ownership],
) -> FieldDrift | None:
    """Drift of one field the manifests set, or None when it is still as applied."""
    name = fields.dotted(path)
    live_value, wanted_value = fields.value_at(live, path), fields.value_at(wanted, path)
    owning = fields.owners(live_owners, path)
    holders = [o for o in owning if o.manager != FIELD_MANAGER]
    if live_value == wanted_value:
        if not holders or len(holders) < len(owning):
            return None  # still the platform's (other appliers of the same value may share it)
        who = holders[0]
        text = f"{name}: as in the manifests, but now owned by {who.how}"
        return FieldDrift(name, "changed", text, who.manager)
    appliers = [o for o in holders if o.operation == "Apply"]
    if appliers:
        who = appliers[0]
        text = (
            f"{name}: {_values(kind, live_value, wanted_value)} (conflict: {who.how} applies "
            "it too; a re-apply takes it back and it will set it again)"
        )
        return FieldDrift(name, "conflict", text, who.manager)
    if holders:
        who = holders[0]
        text = f"{name}: {_values(kind, live_value, wanted_value)} (changed by {who.how})"
        return FieldDrift(name, "changed", text, who.manager)
    return FieldDrift(name, "changed", f"{name}: {_values(kind, live_value, wanted_value)}")


def _foreign(
    kind: str, live: Document, intent: frozenset[fields.Path], live_owners: list[fields.Ownership]
) -> list[FieldDrift]:
    found = []
    for entry in live_owners:
        if entry.manager == FIELD_MANAGER or entry.manager in CONTROL_PLANE:
            continue
        if entry.subresource == "status":
            continue
        for path in sorted(entry.paths, key=fields.dotted):
            if path[:1] == (("f", "status"),) or any(path[: len(p)] == p for p in intent):
                continue
            if any(p[: len(path)] == path for p in intent):
                continue  # a parent of something the platform sets (an atomic takeover)
            name = fields.dotted(path)
            value = "" if kind == "Secret" else f" ({_short(fields.value_at(live, path))})"
            removable = len(path) == 3 and path[:2] in _REMOVABLE
            text = f"{name}: foreign{value}, set by {entry.how}; the manifests do not set it"
            found.append(FieldDrift(name, "foreign", text, entry.manager, removable))
    return found


def compare_one(doc: Document, live: Document, wanted: Document) -> Drift | None:
    """Drift of one object: `live` as read, `wanted` its dry-run apply (what the server would
    store); None when the platform's fields are as applied and nobody added any."""
    kind = str(doc["kind"])
    intent = fields.owned_by(fields.ownership(wanted), FIELD_MANAGER)
    if not intent:
        # Every server since 1.18 records the applier's fields; without them nothing here
        # could tell drift, and silence would read as "no drift".
        raise KubernetesError(
            f"The server's dry-run apply of {object_id(doc)} names no fields of field manager "
            f"{FIELD_MANAGER} in managedFields, so drift cannot be judged. Is the API server "
            "older than v1.18, or a proxy stripping managedFields?"
        )
    live_owners = fields.ownership(live)
    found = [
        d
        for path in sorted(intent, key=fields.dotted)
        if (d := _managed(kind, path, live, wanted, live_owners)) is not None
    ]
    found += _foreign(kind, live, intent, live_owners)
    if not found:
        return None
    return Drift(object_id(doc), tuple(f.text for f in found), tuple(found))


def compare(cluster: Cluster, docs: Sequence[Document]) -> list[Drift]:
    """One Drift per rendered object that is missing or drifted (see the module docstring)."""
    found = []
    for doc in ordered(docs):
        live = cluster.get(
            doc["apiVersion"], doc["kind"], doc["metadata"]["name"], namespace_of(doc)
        )
        if live is None:
            found.append(Drift(object_id(doc), ("missing from the cluster",)))
            continue
        drift = compare_one(doc, live, cluster.apply(doc, dry_run=True))
        if drift is not None:
            found.append(drift)
    return found


def remove_foreign(cluster: Cluster, docs: Sequence[Document], drifts: Sequence[Drift]) -> int:
    """Remove the foreign labels and annotations in `drifts` (with
    PLATFORM_K8S_REMOVE_FOREIGN_FIELDS): one JSON merge patch per object, conditional on the
    resourceVersion read just before, so a concurrent writer makes it fail instead of being
    undone. Returns how many keys were removed."""
    by_id = {object_id(d): d for d in docs}
    removed = 0
    for drift in drifts:
        doc = by_id.get(drift.subject)
        targets = [f for f in drift.fields if f.removable]
        if doc is None or not targets:
            continue
        live = cluster.get(
            doc["apiVersion"], doc["kind"], doc["metadata"]["name"], namespace_of(doc)
        )
        if live is None:
            continue
        meta: dict[str, Any] = {"resourceVersion": live["metadata"]["resourceVersion"]}
        for f in targets:
            _, section, key = f.path.split(".", 2)
            meta.setdefault(section, {})[key] = None
        cluster.merge_patch(doc, {"metadata": meta})
        removed += len(targets)
    return removed

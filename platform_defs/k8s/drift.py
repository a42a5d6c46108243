"""Drift: do the live objects still say what the rendered manifests say?

The comparison is the one `kubectl diff` makes: a server-side *dry-run* apply of each rendered
object under the platform's field manager returns what the object would become, with the
server's defaults and everyone else's fields included; if that differs from the live object,
applying would change something, so someone (or something) changed what the platform owns.
Fields other managers own and the platform does not set (an HPA's replicas, a controller's
annotations) are kept by the dry-run, so they never count as drift.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from platform_defs.k8s.apply import namespace_of, ordered
from platform_defs.k8s.cluster import Cluster
from platform_defs.k8s.render import Document, object_id

# Bookkeeping the server changes on every write; never drift by itself.
_IGNORED_METADATA = {"resourceVersion", "managedFields", "generation", "creationTimestamp", "uid"}


@dataclass(frozen=True)
class Drift:
    subject: str  # Kind/name
    differences: tuple[str, ...]  # "spec.replicas: live 3, manifests 1"; "missing" if absent

    def as_metadata(self) -> dict[str, object]:
        return {"object": self.subject, "differences": list(self.differences)}


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _IGNORED_METADATA}
    out["metadata"] = meta
    return out


def differences(live: Any, wanted: Any, path: str = "") -> Iterator[str]:
    """Paths where `wanted` (dry-run result) differs from `live`, with both values."""
    if isinstance(live, dict) and isinstance(wanted, dict):
        for key in sorted(set(live) | set(wanted)):
            yield from differences(live.get(key), wanted.get(key), f"{path}.{key}".lstrip("."))
    elif isinstance(live, list) and isinstance(wanted, list) and len(live) == len(wanted):
        for i, (a, b) in enumerate(zip(live, wanted, strict=True)):
            yield from differences(a, b, f"{path}[{i}]")
    elif live != wanted:
        yield f"{path}: live {_short(live)}, manifests {_short(wanted)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def compare(cluster: Cluster, docs: Sequence[Document]) -> list[Drift]:
    """One Drift per rendered object whose live state an apply would change."""
    found = []
    for doc in ordered(docs):
        name = doc["metadata"]["name"]
        live = cluster.get(doc["apiVersion"], doc["kind"], name, namespace_of(doc))
        if live is None:
            found.append(Drift(object_id(doc), ("missing from the cluster",)))
            continue
        wanted = cluster.apply(doc, dry_run=True)
        diffs = tuple(differences(_comparable(live), _comparable(wanted)))
        if diffs:
            # Secrets carry credentials: name the keys that differ, never the values.
            if doc["kind"] == "Secret":
                diffs = tuple(d.split(":", 1)[0] + ": differs" for d in diffs)
            found.append(Drift(object_id(doc), diffs))
    return found

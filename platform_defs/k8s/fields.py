"""Who owns which field of a live object: its `metadata.managedFields`, in the FieldsV1 format.

The API server records, for every field manager, the set of fields it last set (server-side
apply, or an update such as `kubectl scale`/`kubectl label`). A set is a tree in JSON:

    {"f:metadata": {"f:labels": {"f:team": {}}},
     "f:spec": {"f:replicas": {},
                "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"minio\"}": {".": {}, "f:image": {}}}}}}}

`f:<name>` is a field of a map, `k:<json>` the element of a keyed list whose key fields have
those values (`containers` by name, `ports` by containerPort and protocol), `v:<json>` the
element of a set-like list with that value, `i:<n>` a list element by position, and `.` the
node itself (ownership of the element or map, not of a field in it). A node with no children
(`{}`) is owned whole: a scalar, or an atomic value such as a Deployment's `selector`.

Drift (`drift.py`) compares values at these paths, so this module turns the tree into paths
and reads a path's value out of an object.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
# One step of a path, hashable: ("f", name) | ("k", ((key, value), ...)) | ("v", json text) |
# ("i", index)
Step = tuple[str, Any]
Path = tuple[Step, ...]
_MISSING = object()


def parse_key(key: str) -> Step:
    """`f:replicas` -> ("f", "replicas"); `k:{"name":"minio"}` -> ("k", (("name", "minio"),))."""
    prefix, _, rest = key.partition(":")
    if prefix == "f":
        return ("f", rest)
    if prefix == "k":
        return ("k", tuple(json.loads(rest).items()))
    if prefix == "v":
        return ("v", json.dumps(json.loads(rest), sort_keys=True))
    if prefix == "i":
        return ("i", int(rest))
    raise ValueError(f"not a FieldsV1 key: {key!r}")


def leaves(fields_v1: Obj, prefix: Path = ()) -> Iterator[Path]:
    """Every path owned whole: nodes with no children other than `.`."""
    children = {k: v for k, v in fields_v1.items() if k != "."}
    if not children:
        if prefix:
            yield prefix
        return
    for key, child in children.items():
        yield from leaves(child or {}, (*prefix, parse_key(key)))


def value_at(obj: Any, path: Path) -> Any:
    """The value at `path`, or `MISSING` when the object has no such field or element."""
    node = obj
    for kind, key in path:
        if kind == "f":
            if not isinstance(node, dict) or key not in node:
                return _MISSING
            node = node[key]
        elif kind == "k":
            match = [
                e
                for e in (node if isinstance(node, list) else [])
                if isinstance(e, dict) and all(e.get(k) == v for k, v in key)
            ]
            if not match:
                return _MISSING
            node = match[0]
        elif kind == "v":
            element = json.loads(key)
            if not isinstance(node, list) or element not in node:
                return _MISSING
            node = element
        else:  # "i"
            if not isinstance(node, list) or not 0 <= key < len(node):
                return _MISSING
            node = node[key]
    return node


def is_missing(value: Any) -> bool:
    return value is _MISSING


def dotted(path: Path) -> str:
    """`spec.template.spec.containers[name=minio].image`, for messages."""
    out = ""
    for kind, key in path:
        if kind == "f":
            out += f".{key}" if out else str(key)
        elif kind == "k":
            out += "[" + ",".join(f"{k}={v}" for k, v in key) + "]"
        elif kind == "v":
            out += f"[{key}]"
        else:
            out += f"[{key}]"
    return out


@dataclass(frozen=True)
class Ownership:
    """One managedFields entry: a manager, how it wrote (Apply/Update), through which
    subresource (`status`, `scale`, or none), and the paths it owns."""

    manager: str
    operation: str
    subresource: str
    paths: frozenset[Path]

    @property
    def how(self) -> str:
        via = f" through /{self.subresource}" if self.subresource else ""
        return f"{self.manager} ({self.operation}{via})"


def ownership(obj: Obj) -> list[Ownership]:
    """The object's managedFields entries that use FieldsV1 (the only format servers write)."""
    found = []
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("fieldsType", "FieldsV1") != "FieldsV1":
            continue
        found.append(
            Ownership(
                manager=str(entry.get("manager", "")),
                operation=str(entry.get("operation", "")),
                subresource=str(entry.get("subresource", "")),
                paths=frozenset(leaves(entry.get("fieldsV1") or {})),
            )
        )
    return found


def owned_by(entries: list[Ownership], manager: str) -> frozenset[Path]:
    """Every path `manager` owns, over all its entries (apply and update are separate)."""
    return frozenset(p for e in entries if e.manager == manager for p in e.paths)


def owners(entries: list[Ownership], path: Path) -> list[Ownership]:
    """The entries owning `path` itself or something above it (an atomic parent)."""
    return [e for e in entries if any(path[: len(p)] == p for p in e.paths)]

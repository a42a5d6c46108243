"""Policies for the optional REST catalog component (manifests/components/rest-catalog).

Apart from `manifest_policies` only to keep each module readable; `manifest_policies` imports
and runs them with the others.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from platform_defs.k8s.render import Document, object_id

WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})
# NetworkPolicies with other ports than MinIO's: (ingress, egress) ports by policy name.
POLICY_PORTS: Mapping[str, tuple[frozenset[int], frozenset[int]]] = {
    # REST catalog: serves 8181; calls DNS, its Postgres, MinIO.
    "iceberg-rest-catalog": (frozenset({8181}), frozenset({53, 5432, 9000})),
    # Its Postgres: serves 5432, calls nothing.
    "iceberg-rest-catalog-postgres": (frozenset({5432}), frozenset()),
}
REST_CATALOG_POD = {
    "app.kubernetes.io/name": "iceberg-rest-catalog",
    "app.kubernetes.io/instance": "iceberg-rest-catalog",
}
POSTGRES_POD = {
    "app.kubernetes.io/name": "postgres",
    "app.kubernetes.io/instance": "iceberg-rest-catalog",
}
# Who may call the REST catalog: the ingress controller, and Dagster/Spark pods (they carry the
# S3-client label) in `analytics` (no namespaceSelector) or in `dagster`.
CATALOG_CLIENT_PEERS: tuple[tuple[str | None, Mapping[str, str]], ...] = (
    ("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}),
    (None, {"lakehouse.platform/s3-client": "true"}),
    ("dagster", {"lakehouse.platform/s3-client": "true"}),
)


def _peer(peer: Mapping[str, Any]) -> tuple[str | None, Mapping[str, str]] | None:
    """(namespace name or None for the policy's own, pod labels), or None if not that simple."""
    if set(peer) - {"namespaceSelector", "podSelector"} or "podSelector" not in peer:
        return None
    pods = peer["podSelector"] or {}
    if set(pods) != {"matchLabels"} or not pods["matchLabels"]:
        return None  # `{}` or matchExpressions: every pod, or too clever to check
    namespace = None
    if "namespaceSelector" in peer:
        ns = peer["namespaceSelector"] or {}
        names = (ns.get("matchLabels") or {}).get("kubernetes.io/metadata.name")
        if set(ns) != {"matchLabels"} or len(ns["matchLabels"]) != 1 or names is None:
            return None
        namespace = names
    return namespace, pods["matchLabels"]


def rest_catalog_network_policies(docs: Sequence[Document]) -> list[str]:
    """Only Dagster/Spark pods and the ingress reach the catalog; only the catalog its Postgres.

    The REST catalog image has no access control of its own, so on Kubernetes these two
    policies are the catalog's whole protection (manifests/README.md).
    """
    pods = [labels for _, labels in _pod_labels(docs)]
    if not any(labels.items() >= REST_CATALOG_POD.items() for labels in pods):
        return []
    policies = {
        d["metadata"]["name"]: d.get("spec") or {} for d in docs if d.get("kind") == "NetworkPolicy"
    }
    out = []
    for name, selected in (
        ("iceberg-rest-catalog", REST_CATALOG_POD),
        ("iceberg-rest-catalog-postgres", POSTGRES_POD),
    ):
        spec = policies.get(name)
        if spec is None:
            out.append(f"NetworkPolicy/{name} is missing")
            continue
        if (spec.get("podSelector") or {}).get("matchLabels") != selected:
            out.append(f"NetworkPolicy/{name}: does not select exactly {selected}")
        allowed = (
            list(CATALOG_CLIENT_PEERS)
            if name == "iceberg-rest-catalog"
            else [(None, REST_CATALOG_POD)]
        )
        for i, rule in enumerate(spec.get("ingress") or []):
            for peer in rule.get("from") or []:
                found = _peer(peer)
                if found is None or found not in allowed:
                    out.append(f"NetworkPolicy/{name} ingress[{i}]: peer {peer} is not allowed")
    return out


def _pod_labels(docs: Sequence[Document]) -> Iterator[tuple[str, Mapping[str, str]]]:
    for doc in docs:
        template = (doc.get("spec") or {}).get("template")
        if doc.get("kind") in WORKLOAD_KINDS and template:
            yield object_id(doc), (template.get("metadata") or {}).get("labels") or {}

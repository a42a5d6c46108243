"""Is every kind in the rendered manifests served by the cluster? Asked before anything is applied.

Server-side apply fails per object, so without this check an overlay containing a kind the
cluster does not know (cert-manager's Certificate without cert-manager, a ServiceMonitor without
the Prometheus Operator's CRDs) fails only when that object's turn comes: everything ordered
before it is already applied, and on a real cluster that left a StatefulSet with 4 Pending pods
and 8 Pending PVCs behind. Asking discovery first turns that into one error that names every
missing kind, the CRD that provides it and how to install it, with nothing written.

Discovery is read from the API's legacy per-group-version documents (`/api/v1`,
`/apis/<group>/<version>`), which every server version serves. A CRD installed moments ago can
be Established before the discovery documents list it, so a miss is read again once before it
counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from platform_defs.errors import CrdMissingError
from platform_defs.k8s.cluster import Cluster
from platform_defs.k8s.render import Document

# What provides the CRD groups the overlays use, and how to install it (versions checked on
# the Go module proxy, 2026-12: cert-manager v1.21.2, prometheus-operator v0.85.0).
CERT_MANAGER_VERSION = "v1.21.2"
PROMETHEUS_OPERATOR_VERSION = "v0.85.0"
PROVIDERS: dict[str, tuple[str, str]] = {
    "cert-manager.io": (
        f"cert-manager {CERT_MANAGER_VERSION} (its CRDs and controller; a Certificate also needs "
        "the Issuer named in manifests/overlays/prod/settings.env)",
        "kubectl apply -f https://github.com/cert-manager/cert-manager/releases/download/"
        f"{CERT_MANAGER_VERSION}/cert-manager.yaml",
    ),
    "monitoring.coreos.com": (
        f"the Prometheus Operator CRDs ({PROMETHEUS_OPERATOR_VERSION})",
        "kubectl apply --server-side -f https://github.com/prometheus-operator/"
        f"prometheus-operator/releases/download/{PROMETHEUS_OPERATOR_VERSION}/"
        "stripped-down-crds.yaml",
    ),
}


@dataclass(frozen=True)
class Missing:
    """One (apiVersion, kind) of the manifests the cluster does not serve."""

    api_version: str
    kind: str
    objects: tuple[str, ...]  # Kind/name of the rendered objects of this kind

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    def explain(self) -> str:
        group = self.group or "core"
        line = (
            f"- {self.kind} (group {group}, version {self.version}), needed by "
            f"{', '.join(self.objects)}"
        )
        provider = PROVIDERS.get(self.group)
        if provider is None:
            return (
                f"{line}: install the CRD or operator that serves {self.api_version} {self.kind}."
            )
        what, how = provider
        return f"{line}: provided by {what}. Install it with `{how}`."


def _discovery_path(api_version: str) -> str:
    return f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"


def served_kinds(cluster: Cluster, api_versions: Sequence[str]) -> dict[str, set[str]]:
    """For each group/version: the kinds its discovery document lists (empty if not served).
    Subresources (`deployments/status`) list their parent's kind, so they are skipped."""
    found: dict[str, set[str]] = {}
    for api_version in sorted(set(api_versions)):
        doc = cluster.get_path(_discovery_path(api_version)) or {}
        found[api_version] = {
            str(r["kind"]) for r in doc.get("resources") or [] if "/" not in str(r.get("name", ""))
        }
    return found


def missing(cluster: Cluster, docs: Sequence[Document]) -> list[Missing]:
    """The (apiVersion, kind) pairs of `docs` that discovery does not list, after one re-read."""
    wanted: dict[tuple[str, str], list[str]] = {}
    for doc in docs:
        key = (str(doc.get("apiVersion", "")), str(doc.get("kind", "")))
        name = (doc.get("metadata") or {}).get("name", "?")
        wanted.setdefault(key, []).append(f"{key[1]}/{name}")
    served = served_kinds(cluster, [v for v, _ in wanted])
    absent = [key for key in wanted if key[1] not in served[key[0]]]
    if absent:  # a CRD may have been installed just now: discovery catches up; ask once more
        again = served_kinds(cluster, [v for v, _ in absent])
        absent = [key for key in absent if key[1] not in again[key[0]]]
    return [Missing(v, k, tuple(wanted[(v, k)])) for v, k in sorted(absent)]


def require(cluster: Cluster, docs: Sequence[Document]) -> None:
    """Raise one CrdMissingError naming every kind the cluster does not serve; else nothing."""
    gaps = missing(cluster, docs)
    if not gaps:
        return
    kinds = ", ".join(f"{m.kind} ({m.api_version})" for m in gaps)
    lines = "\n".join(m.explain() for m in gaps)
    raise CrdMissingError(
        f"The cluster of context '{cluster.context}' does not serve {kinds}, which the "
        f"manifests use. Nothing was applied.\n{lines}\n"
        "Then run again; or choose an overlay that does not need it (PLATFORM_K8S_OVERLAY=dev)."
    )

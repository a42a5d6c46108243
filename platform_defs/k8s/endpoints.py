"""Which pods behind a Service are ready, read from its EndpointSlices (`discovery.k8s.io/v1`).

The legacy `Endpoints` API is deprecated (since v1.33) and is not what kube-proxy or any
current client reads: EndpointSlices are. A Service's slices carry the label
`kubernetes.io/service-name`; each endpoint has `conditions` (`ready`, `serving`, `terminating`;
a missing `ready` means ready) and a `targetRef` naming its pod. An endpoint may appear in two
slices while the controller moves it, so endpoints are counted once per pod (or address).

Why the pods matter too: on a real cluster the EndpointSlice controller publishes nothing for a
pod whose IP the API refuses (the API rejects loopback addresses in EndpointSlices), so a
Service with Running, Ready pods had no slice at all and the blocking check stopped the graph.
The verdict therefore also names the pods the Service selects that are in no slice, so the
message points at the controller, not at MinIO.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from platform_defs.k8s.cluster import Cluster

Obj = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
API = "discovery.k8s.io/v1"


@dataclass(frozen=True)
class Endpoint:
    pod: str  # targetRef name, or the address when the endpoint names no pod
    address: str
    ready: bool
    terminating: bool

    def __str__(self) -> str:
        why = "terminating" if self.terminating else "not ready"
        return f"{self.pod} ({self.address})" + ("" if self.ready else f": {why}")


@dataclass(frozen=True)
class ServiceEndpoints:
    service: str
    slices: int
    endpoints: tuple[Endpoint, ...]
    unpublished: tuple[str, ...]  # selected pods in no slice: "pod (phase, IP)"

    @property
    def ready(self) -> list[Endpoint]:
        return [e for e in self.endpoints if e.ready]

    @property
    def not_ready(self) -> list[Endpoint]:
        return [e for e in self.endpoints if not e.ready]

    @property
    def passed(self) -> bool:
        return bool(self.ready)

    def describe(self) -> str:
        total = len(self.endpoints) + len(self.unpublished)
        parts = [f"Service {self.service}: {len(self.ready)} of {total} endpoint(s) ready"]
        if self.not_ready:
            parts.append("not ready: " + ", ".join(str(e) for e in self.not_ready))
        if self.unpublished:
            parts.append(
                "in no EndpointSlice: "
                + ", ".join(self.unpublished)
                + " (the EndpointSlice controller of kube-controller-manager has not published "
                "them: a pod without an IP is still starting; a Running pod means the API "
                "refused its address, e.g. one in 127.0.0.0/8, see the controller's log)"
            )
        if not self.slices and not self.unpublished:
            parts.append("no EndpointSlice and no pod matches the Service's selector")
        return "; ".join(parts)


def _endpoints(slices: list[Obj]) -> list[Endpoint]:
    seen: dict[str, Endpoint] = {}
    for s in slices:
        if s.get("addressType") == "FQDN":
            continue
        for ep in s.get("endpoints") or []:
            conditions = ep.get("conditions") or {}
            address = ",".join(ep.get("addresses") or [])
            pod = str((ep.get("targetRef") or {}).get("name") or address)
            found = Endpoint(
                pod=pod,
                address=address,
                ready=conditions.get("ready") is not False,  # nil means ready (API docs)
                terminating=conditions.get("terminating") is True,
            )
            # A pod in two slices (a move in progress): ready wins, it serves from one of them.
            if pod not in seen or (found.ready and not seen[pod].ready):
                seen[pod] = found
    return sorted(seen.values(), key=lambda e: e.pod)


def evaluate(service: str, slices: list[Obj], pods: list[Obj]) -> ServiceEndpoints:
    """Pure: the Service's slices and the pods its selector matches -> the verdict."""
    endpoints = _endpoints(slices)
    published = {e.pod for e in endpoints}
    unpublished = []
    for pod in sorted(pods, key=lambda p: str(p["metadata"]["name"])):
        name = str(pod["metadata"]["name"])
        if name in published or (pod["metadata"].get("deletionTimestamp")):
            continue
        status = pod.get("status") or {}
        ip = status.get("podIP") or "no IP yet"
        unpublished.append(f"{name} ({status.get('phase', 'Unknown')}, {ip})")
    return ServiceEndpoints(service, len(slices), tuple(endpoints), tuple(unpublished))


def _selector(service: Obj | None) -> str:
    selector = ((service or {}).get("spec") or {}).get("selector") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


def read(cluster: Cluster, namespace: str, service: str) -> ServiceEndpoints:
    """The Service's EndpointSlices and selected pods from the live cluster."""
    slices = cluster.list(API, "EndpointSlice", namespace, f"{SERVICE_NAME_LABEL}={service}")
    selector = _selector(cluster.get("v1", "Service", service, namespace))
    pods = cluster.list("v1", "Pod", namespace, selector) if selector else []
    return evaluate(service, slices, pods)

"""Checks that only mean something on the `kubernetes` target: MinIO's workload, volumes and
Service, read from the live cluster.

They are defined only when PLATFORM_TARGET=kubernetes (see `assets.cluster`): on the
local target there is no Deployment, PVC or Service, and a green "not applicable" check would
read like evidence that something was verified. The asset graph is the same on both targets;
only these checks are added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import dagster as dg

from platform_defs.errors import NotOnThisTargetError, PlatformError
from platform_defs.k8s import endpoints, live
from platform_defs.k8s.cluster import Cluster
from platform_defs.resources.platform import PlatformResource
from platform_defs.targets.kubernetes import SERVICE

from ..platform.provision import analytics_namespace, object_store

T = TypeVar("T")


def _evaluate(
    platform: PlatformResource,
    read: Callable[[Cluster, str], T],
    verdict: Callable[[T], dg.AssetCheckResult],
) -> dg.AssetCheckResult:
    """Read one thing from the live cluster (in the platform's namespace) and judge it; an
    unreachable cluster or a refused read is a failed check saying why."""
    try:
        found = read(platform.target().cluster(), platform.settings().namespace)
    except NotOnThisTargetError:
        # Defensive: the checks are not defined on local, but settings may change after load.
        return dg.AssetCheckResult(passed=True, description="not applicable on the local target")
    except PlatformError as exc:
        return dg.AssetCheckResult(passed=False, description=str(exc))
    return verdict(found)


def _namespace_verdict(ns: live.Obj | None) -> dg.AssetCheckResult:
    phase = ((ns or {}).get("status") or {}).get("phase", "missing")
    return dg.AssetCheckResult(passed=phase == "Active", description=f"phase {phase}")


@dg.asset_check(
    asset=analytics_namespace,
    description="The namespace exists in the cluster and is Active (not Terminating).",
)
def namespace_active(platform: PlatformResource) -> dg.AssetCheckResult:
    return _evaluate(platform, lambda c, ns: c.get("v1", "Namespace", ns, None), _namespace_verdict)


def _workload_verdict(obj: live.Obj | None) -> dg.AssetCheckResult:
    if obj is None:
        return dg.AssetCheckResult(passed=False, description=f"no Deployment/StatefulSet {SERVICE}")
    r = live.replicas(obj)
    return dg.AssetCheckResult(
        passed=r.all_available,
        description=f"{r.kind}/{r.name}: {r.available}/{r.desired} available, {r.ready} ready",
        metadata={"desired": r.desired, "ready": r.ready, "available": r.available},
    )


@dg.asset_check(
    asset=object_store,
    blocking=True,
    description="MinIO's Deployment/StatefulSet has every desired replica available.",
)
def minio_workload_available(platform: PlatformResource) -> dg.AssetCheckResult:
    return _evaluate(platform, lambda c, ns: live.workload(c, ns, SERVICE), _workload_verdict)


def _volumes_verdict(phases: dict[str, str]) -> dg.AssetCheckResult:
    unbound = {name: phase for name, phase in phases.items() if phase != "Bound"}
    return dg.AssetCheckResult(
        passed=bool(phases) and not unbound,
        description=f"not bound: {unbound}" if unbound else f"{len(phases)} PVC(s) bound",
        metadata={"pvcs": dg.MetadataValue.json(phases)},
    )


@dg.asset_check(
    asset=object_store,
    blocking=True,
    description="Every PersistentVolumeClaim in the namespace is Bound.",
)
def minio_volumes_bound(platform: PlatformResource) -> dg.AssetCheckResult:
    return _evaluate(platform, lambda c, ns: live.pvc_phases(c, ns, ""), _volumes_verdict)


def _endpoints_verdict(found: endpoints.ServiceEndpoints) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=found.passed,
        description=found.describe(),
        metadata={
            "ready_endpoints": len(found.ready),
            "endpoint_slices": found.slices,
            "not_ready": dg.MetadataValue.json([str(e) for e in found.not_ready]),
            "unpublished_pods": dg.MetadataValue.json(list(found.unpublished)),
        },
    )


@dg.asset_check(
    asset=object_store,
    blocking=True,
    description="The MinIO Service has at least one ready endpoint in its EndpointSlices "
    "(discovery.k8s.io/v1); names the pods that are not ready or not published.",
)
def minio_service_has_endpoints(platform: PlatformResource) -> dg.AssetCheckResult:
    return _evaluate(platform, lambda c, ns: endpoints.read(c, ns, SERVICE), _endpoints_verdict)


CHECKS = [
    namespace_active,
    minio_workload_available,
    minio_volumes_bound,
    minio_service_has_endpoints,
]

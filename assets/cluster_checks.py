"""Checks that only mean something on the `kubernetes` target: MinIO's workload, volumes and
Service, read from the live cluster.

They are defined only when PLATFORM_TARGET=kubernetes (see `platform_defs.k8s.defs`): on the
local target there is no Deployment, PVC or Service, and a green "not applicable" check would
read like evidence that something was verified. The asset graph is the same on both targets;
only these checks are added.
"""

from __future__ import annotations

import dagster as dg

from assets.platform import analytics_namespace, object_store
from platform_defs.errors import PlatformError
from platform_defs.k8s import live
from platform_defs.resources.platform import PlatformResource
from platform_defs.targets.kubernetes import SERVICE, KubernetesTarget


def _target(platform: PlatformResource) -> KubernetesTarget | dg.AssetCheckResult:
    target = platform.target()
    if isinstance(target, KubernetesTarget):
        return target
    # Defensive: the checks are not defined on local, but settings may change after load.
    return dg.AssetCheckResult(passed=True, description="not applicable on the local target")


def _failed(exc: PlatformError) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, description=str(exc))


@dg.asset_check(
    asset=analytics_namespace,
    description="The namespace exists in the cluster and is Active (not Terminating).",
)
def namespace_active(platform: PlatformResource) -> dg.AssetCheckResult:
    target = _target(platform)
    if isinstance(target, dg.AssetCheckResult):
        return target
    try:
        ns = target.cluster().get("v1", "Namespace", platform.settings().namespace, None)
    except PlatformError as exc:
        return _failed(exc)
    phase = ((ns or {}).get("status") or {}).get("phase", "missing")
    return dg.AssetCheckResult(passed=phase == "Active", description=f"phase {phase}")


@dg.asset_check(
    asset=object_store,
    blocking=True,
    description="MinIO's Deployment/StatefulSet has every desired replica available.",
)
def minio_workload_available(platform: PlatformResource) -> dg.AssetCheckResult:
    target = _target(platform)
    if isinstance(target, dg.AssetCheckResult):
        return target
    try:
        obj = live.workload(target.cluster(), platform.settings().namespace, SERVICE)
    except PlatformError as exc:
        return _failed(exc)
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
    description="Every PersistentVolumeClaim in the namespace is Bound.",
)
def minio_volumes_bound(platform: PlatformResource) -> dg.AssetCheckResult:
    target = _target(platform)
    if isinstance(target, dg.AssetCheckResult):
        return target
    try:
        phases = live.pvc_phases(target.cluster(), platform.settings().namespace, "")
    except PlatformError as exc:
        return _failed(exc)
    unbound = {name: phase for name, phase in phases.items() if phase != "Bound"}
    return dg.AssetCheckResult(
        passed=bool(phases) and not unbound,
        description=f"not bound: {unbound}" if unbound else f"{len(phases)} PVC(s) bound",
        metadata={"pvcs": dg.MetadataValue.json(phases)},
    )


@dg.asset_check(
    asset=object_store,
    blocking=True,
    description="The MinIO Service has at least one ready endpoint (its selector finds pods).",
)
def minio_service_has_endpoints(platform: PlatformResource) -> dg.AssetCheckResult:
    target = _target(platform)
    if isinstance(target, dg.AssetCheckResult):
        return target
    try:
        ready = live.ready_endpoints(target.cluster(), platform.settings().namespace, SERVICE)
    except PlatformError as exc:
        return _failed(exc)
    return dg.AssetCheckResult(
        passed=ready > 0,
        description=f"Service {SERVICE}: {ready} ready endpoint(s)",
        metadata={"ready_endpoints": ready},
    )


CHECKS = [
    namespace_active,
    minio_workload_available,
    minio_volumes_bound,
    minio_service_has_endpoints,
]

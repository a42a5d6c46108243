"""Rollout status exactly as `kubectl rollout status` computes it, and a bounded wait.

The status functions are ports of kubectl's DeploymentStatusViewer and
StatefulSetStatusViewer (k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go), messages
included, so what Dagster logs reads like what an operator sees in a terminal. They are pure
functions of the object's JSON so each case kubectl distinguishes is a unit test.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class RolloutStatus:
    done: bool
    message: str
    failed: bool = False  # kubectl exits with an error instead of waiting (deadline, OnDelete)


def _int(mapping: Obj, key: str) -> int:
    return int(mapping.get(key) or 0)


def deployment_status(obj: Obj) -> RolloutStatus:
    name = obj["metadata"]["name"]
    spec, status = obj.get("spec", {}), obj.get("status") or {}
    if _int(obj["metadata"], "generation") > _int(status, "observedGeneration"):
        return RolloutStatus(False, "Waiting for deployment spec update to be observed...")
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return RolloutStatus(
                False, f'deployment "{name}" exceeded its progress deadline', failed=True
            )
    replicas = spec.get("replicas")
    updated = _int(status, "updatedReplicas")
    if replicas is not None and updated < replicas:
        return RolloutStatus(
            False,
            f'Waiting for deployment "{name}" rollout to finish: {updated} out of {replicas} '
            "new replicas have been updated...",
        )
    if _int(status, "replicas") > updated:
        return RolloutStatus(
            False,
            f'Waiting for deployment "{name}" rollout to finish: '
            f"{_int(status, 'replicas') - updated} old replicas are pending termination...",
        )
    available = _int(status, "availableReplicas")
    if available < updated:
        return RolloutStatus(
            False,
            f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} '
            "updated replicas are available...",
        )
    return RolloutStatus(True, f'deployment "{name}" successfully rolled out')


def statefulset_status(obj: Obj) -> RolloutStatus:
    spec, status = obj.get("spec", {}), obj.get("status") or {}
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return RolloutStatus(
            False, "rollout status is only available for RollingUpdate strategy type", True
        )
    observed = _int(status, "observedGeneration")
    if observed == 0 or _int(obj["metadata"], "generation") > observed:
        return RolloutStatus(False, "Waiting for statefulset spec update to be observed...")
    replicas = spec.get("replicas")
    ready = _int(status, "readyReplicas")
    if replicas is not None and ready < replicas:
        return RolloutStatus(False, f"Waiting for {replicas - ready} pods to be ready...")
    rolling = strategy.get("rollingUpdate")
    updated = _int(status, "updatedReplicas")
    if rolling is not None:
        partition = rolling.get("partition")
        if replicas is not None and partition is not None and updated < replicas - partition:
            return RolloutStatus(
                False,
                f"Waiting for partitioned roll out to finish: {updated} out of "
                f"{replicas - partition} new pods have been updated...",
            )
        return RolloutStatus(
            True, f"partitioned roll out complete: {updated} new pods have been updated..."
        )
    if status.get("updateRevision") != status.get("currentRevision"):
        return RolloutStatus(
            False,
            f"waiting for statefulset rolling update to complete {updated} pods at revision "
            f"{status.get('updateRevision')}...",
        )
    return RolloutStatus(
        True,
        f"statefulset rolling update complete {_int(status, 'currentReplicas')} pods at "
        f"revision {status.get('currentRevision')}...",
    )


def rollout_status(obj: Obj) -> RolloutStatus:
    kind = obj.get("kind")
    if kind == "Deployment":
        return deployment_status(obj)
    if kind == "StatefulSet":
        return statefulset_status(obj)
    raise ValueError(f"no rollout status for kind {kind}")


@dataclass(frozen=True)
class WaitResult:
    status: RolloutStatus
    seconds: float
    last: Obj | None


def wait(
    fetch: Callable[[], Obj | None],
    timeout: float,
    *,
    interval: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitResult:
    """Poll `fetch` until the rollout is done, kubectl says it failed, or `timeout` passes.

    Never raises for a slow rollout: the caller decides, with the last status in hand, how to
    explain it (see diagnose.py).
    """
    start = clock()
    status = RolloutStatus(False, "object not found yet")
    obj: Obj | None = None
    while True:
        obj = fetch()
        if obj is not None:
            status = rollout_status(obj)
            if status.done or status.failed:
                break
        if clock() - start >= timeout:
            break
        sleep(min(interval, max(0.0, timeout - (clock() - start))))
    return WaitResult(status, clock() - start, obj)

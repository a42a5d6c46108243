"""Rollout status for every case `kubectl rollout status` distinguishes, and the bounded wait:
from status objects in the API's shape and a fake clock (no server), so every case and bound is
exact. The wait on real controllers is in test_rollout_live.py, test_target_live.py,
test_rotation_live.py (a new generation rolled) and test_diagnose_live.py (progress deadline)."""

from __future__ import annotations

from typing import Any

import pytest

from platform_defs.k8s import rollout
from platform_defs.k8s.cluster import Cluster
from tests.k8s.fake_apiserver import FakeApiServer


def deployment(generation: int = 2, spec_replicas: int = 1, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "iceberg-minio", "namespace": "analytics", "generation": generation},
        "spec": {"replicas": spec_replicas, "strategy": {"type": "Recreate"}},
        "status": status,
    }


def statefulset(
    replicas: int = 4, partition: int | None = 0, rolling: bool = True, **status: Any
) -> dict[str, Any]:
    strategy: dict[str, Any] = {"type": "RollingUpdate"}
    if rolling:
        strategy["rollingUpdate"] = {} if partition is None else {"partition": partition}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "iceberg-minio", "namespace": "analytics", "generation": 3},
        "spec": {"replicas": replicas, "updateStrategy": strategy},
        "status": {"observedGeneration": 3, **status},
    }


DONE = {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}
DEADLINE = {
    "type": "Progressing",
    "status": "False",
    "reason": "ProgressDeadlineExceeded",
    "message": 'ReplicaSet "iceberg-minio-7d9f6c5b8d" has timed out progressing.',
}

DEPLOYMENT_CASES = [
    (
        "spec not observed",
        deployment(observedGeneration=1),
        False,
        False,
        "spec update to be observed",
    ),
    (
        "deadline",
        deployment(**{**DONE, "conditions": [DEADLINE]}),
        False,
        True,
        "exceeded its progress deadline",
    ),
    (
        "not updated",
        deployment(spec_replicas=3, **{**DONE, "replicas": 3, "updatedReplicas": 1}),
        False,
        False,
        "1 out of 3 new replicas have been updated",
    ),
    (
        "old pending termination",
        deployment(**{**DONE, "replicas": 2}),
        False,
        False,
        "1 old replicas are pending termination",
    ),
    (
        "not available",
        deployment(**{**DONE, "availableReplicas": 0}),
        False,
        False,
        "0 of 1 updated replicas are available",
    ),
    (
        "complete",
        deployment(**DONE),
        True,
        False,
        'deployment "iceberg-minio" successfully rolled out',
    ),
]


@pytest.mark.parametrize(
    ("case", "obj", "done", "failed", "message"),
    DEPLOYMENT_CASES,
    ids=[c[0] for c in DEPLOYMENT_CASES],
)
def test_deployment_status(
    case: str, obj: dict[str, Any], done: bool, failed: bool, message: str
) -> None:
    status = rollout.rollout_status(obj)
    assert (status.done, status.failed) == (done, failed)
    assert message in status.message


STS_CASES = [
    (
        "spec not observed",
        {**statefulset(), "status": {"observedGeneration": 2}},
        False,
        "statefulset spec update to be observed",
    ),
    (
        "never observed",
        {**statefulset(), "status": {}},
        False,
        "statefulset spec update to be observed",
    ),
    ("pods not ready", statefulset(readyReplicas=2), False, "Waiting for 2 pods to be ready"),
    (
        "partition pending",
        statefulset(partition=2, readyReplicas=4, updatedReplicas=1),
        False,
        "1 out of 2 new pods have been updated",
    ),
    (
        "partition complete",
        statefulset(partition=2, readyReplicas=4, updatedReplicas=2),
        True,
        "partitioned roll out complete: 2 new pods",
    ),
    (
        "revision pending",
        statefulset(
            rolling=False,
            readyReplicas=4,
            updatedReplicas=1,
            currentRevision="iceberg-minio-6f7",
            updateRevision="iceberg-minio-8a9",
        ),
        False,
        "waiting for statefulset rolling update to complete 1 pods at revision iceberg-minio-8a9",
    ),
    (
        "revision complete",
        statefulset(
            rolling=False,
            readyReplicas=4,
            currentReplicas=4,
            currentRevision="iceberg-minio-8a9",
            updateRevision="iceberg-minio-8a9",
        ),
        True,
        "statefulset rolling update complete 4 pods at revision iceberg-minio-8a9",
    ),
]


@pytest.mark.parametrize(
    ("case", "obj", "done", "message"), STS_CASES, ids=[c[0] for c in STS_CASES]
)
def test_statefulset_status(case: str, obj: dict[str, Any], done: bool, message: str) -> None:
    status = rollout.rollout_status(obj)
    assert status.done is done and not status.failed
    assert message in status.message


def test_statefulset_on_delete_is_not_waited_for() -> None:
    obj = statefulset()
    obj["spec"]["updateStrategy"] = {"type": "OnDelete"}
    status = rollout.rollout_status(obj)
    assert status.failed and "only available for RollingUpdate" in status.message


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_wait_is_bounded_and_returns_the_last_status() -> None:
    clock = FakeClock()
    calls = []

    def fetch() -> dict[str, Any]:
        calls.append(clock.now)
        return deployment(**{**DONE, "availableReplicas": 0})

    result = rollout.wait(fetch, 10, interval=2, clock=clock, sleep=clock.sleep)
    assert not result.status.done and "0 of 1 updated replicas" in result.status.message
    assert result.seconds == 10 and len(calls) == 6


def test_wait_stops_at_once_on_a_deadline_failure() -> None:
    clock = FakeClock()
    result = rollout.wait(
        lambda: deployment(**{**DONE, "conditions": [DEADLINE]}),
        600,
        clock=clock,
        sleep=clock.sleep,
    )
    assert result.status.failed and result.seconds == 0


def test_wait_follows_the_api_until_complete(cluster: Cluster, fake: FakeApiServer) -> None:
    """Each of the four in-between statuses read once, in order: on the stand-in because that
    exact sequence is timing a real controller does not repeat; the wait on the real
    controller is in test_rollout_live.py (and every live ensure_store)."""
    path = "/apis/apps/v1/namespaces/analytics/deployments/iceberg-minio"
    fake.put(deployment(generation=2, observedGeneration=1))
    fake.status_script[path] = [
        {"observedGeneration": 1},
        {**DONE, "updatedReplicas": 0, "replicas": 1},
        {**DONE, "availableReplicas": 0},
        DONE,
    ]
    result = rollout.wait(
        lambda: cluster.get("apps/v1", "Deployment", "iceberg-minio", "analytics"),
        timeout=10,
        interval=0.01,
    )
    assert result.status.done
    gets = [r for r in fake.requests if r.method == "GET" and r.path == path]
    assert len(gets) == 4

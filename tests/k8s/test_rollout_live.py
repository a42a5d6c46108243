"""The bounded rollout wait following a real Deployment controller on the loopback control plane
(kwok makes the pod Ready): right after the apply it reads a rollout not yet done, and returns
once the live status says the new generation is observed, updated and available. The exact
sequence of in-between statuses is timing and stays in test_rollout.py. Marked `cluster`."""

from __future__ import annotations

from typing import Any

import pytest

from platform_defs.k8s import apply, rollout
from platform_defs.k8s.cluster import Cluster

pytestmark = pytest.mark.cluster


def _deployment(namespace: str, image: str) -> dict[str, Any]:
    labels = {"app": "rolled"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "rolled", "namespace": namespace},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }


def test_wait_follows_the_real_controller_until_complete(api: Cluster, namespace: str) -> None:
    seen: list[rollout.RolloutStatus] = []

    def fetch() -> dict[str, Any] | None:
        found = api.get("apps/v1", "Deployment", "rolled", namespace)
        if found is not None:
            found.setdefault("kind", "Deployment")
            seen.append(rollout.rollout_status(found))
        return found

    for generation, image in ((1, "example.invalid/app:1"), (2, "example.invalid/app:2")):
        apply.apply_one(api, _deployment(namespace, image))
        seen.clear()
        result = rollout.wait(fetch, timeout=120, interval=0.2)

        assert result.status.done, result.status.message
        assert not seen[0].done, "read right after the apply, the rollout is not yet done"
        assert [s.done for s in seen].index(True) == len(seen) - 1, "returns at the first done"
        assert result.last is not None
        status = result.last["status"]
        assert result.last["metadata"]["generation"] == generation
        assert status["observedGeneration"] == generation
        assert status["updatedReplicas"] == status["availableReplicas"] == 2

"""The order the platform applies an overlay in, from the rendered documents alone (no server):
the Namespace first, workloads after what they mount. What the apply does on a server (one
server-side apply per object, owned by the platform's field manager, idempotent) is shown on
the real control plane in test_apply_live.py."""

from __future__ import annotations

import pytest

from platform_defs.k8s import apply, render


@pytest.mark.parametrize("which", ["dev", "prod"])
def test_workloads_come_after_what_they_mount(
    which: str, documents: dict[str, list[render.Document]]
) -> None:
    kinds = [d["kind"] for d in apply.ordered(documents[which])]
    workload = next(i for i, k in enumerate(kinds) if k in ("Deployment", "StatefulSet"))
    assert kinds[0] == "Namespace"
    assert all(k not in ("Secret", "PersistentVolumeClaim", "Service") for k in kinds[workload:])


class _StatusWriterBetween:
    """A cluster whose controller writes the object's status between the platform's read and
    its apply: the one interleaving a real server shows only by chance (seen on the loopback
    control plane during a rollout), so it is replayed here with plain objects."""

    def __init__(self, live: dict[str, object]) -> None:
        self.live = live

    def get(self, *_: object) -> dict[str, object]:
        return self.live

    def apply(self, doc: dict[str, object]) -> dict[str, object]:
        meta = dict(self.live["metadata"])  # type: ignore[call-overload]
        meta["resourceVersion"] = str(int(meta["resourceVersion"]) + 1)
        return {**self.live, "spec": doc["spec"], "metadata": meta, "status": {"readyReplicas": 1}}


def test_a_status_write_between_read_and_apply_is_not_a_change() -> None:
    live = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "m", "namespace": "analytics", "resourceVersion": "7"},
        "spec": {"replicas": 1},
        "status": {"readyReplicas": 0},
    }
    cluster = _StatusWriterBetween(live)
    result = apply.apply_one(cluster, live)  # type: ignore[arg-type]
    assert result.action == "unchanged" and result.resource_version == "8"
    cluster.live = {**live, "spec": {"replicas": 2}}  # someone scaled it: the apply restores 1
    assert apply.apply_one(cluster, live).action == "configured"  # type: ignore[arg-type]

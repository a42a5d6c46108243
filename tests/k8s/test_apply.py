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

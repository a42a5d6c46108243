"""The troubleshooting cases a real server cannot be made to show here, explained from recorded
API responses served by the stand-in API server and read back through the same client code the
target uses.

Why each stays on the stand-in: an image that cannot be pulled, a crash loop (with the log lines
`collect` fetches) and failing probes need a kubelet running containers; kwok runs none, it marks
every container running whatever its image. "No default StorageClass" would mean removing the
session cluster's default class under the other `cluster` tests. Everything else (missing
StorageClass, a provisioner that does not run, unschedulable pods, ingress without controller or
TLS Secret, the healthy state, the progress deadline) is tested on the real control plane in
test_diagnose_live.py."""

from __future__ import annotations

from typing import Any

import pytest

from platform_defs.k8s import diagnose
from platform_defs.k8s.cluster import Cluster
from tests.k8s.conftest import FIXTURES
from tests.k8s.fake_apiserver import FakeApiServer

CASES = [
    (
        "pvc_no_default_class",
        "PersistentVolumeClaim/iceberg-minio",
        ["no storageClassName", "no default StorageClass"],
    ),
    (
        "pod_image_pull",
        "Pod/iceberg-minio-7d9f6c5b8d-x2k4q container minio",
        [
            "cannot pull image quay.io/minio/minio:RELEASE.2099-01-01T00-00-00Z",
            "ImagePullBackOff",
            "not found",
            "`images:`",
        ],
    ),
    (
        "pod_crashloop",
        "Pod/iceberg-minio-7d9f6c5b8d-x2k4q container minio",
        [
            "keeps crashing (restarts: 5, last exit code 1, reason Error)",
            "| FATAL Unable to initialize backend: mkdir /data/.minio.sys: permission denied",
            "--previous",
        ],
    ),
    (
        "pod_probe_failed",
        "Pod/iceberg-minio-7d9f6c5b8d-x2k4q",
        [
            "Readiness probe failing (14 times)",
            "connection refused",
            "Liveness probe failing (6 times)",
            "startupProbe",
        ],
    ),
]


@pytest.mark.parametrize(("case", "subject", "phrases"), CASES, ids=[c[0] for c in CASES])
def test_case_is_explained_from_the_cluster_state(
    case: str, subject: str, phrases: list[str], cluster: Cluster, fake: FakeApiServer
) -> None:
    fake.load_fixture(FIXTURES / f"{case}.json")
    findings = diagnose.explain(diagnose.collect(cluster, "analytics"))
    text = diagnose.report(findings)
    assert any(f.subject == subject for f in findings), text
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} missing from:\n{text}"


def test_logs_are_only_fetched_for_crashing_containers(
    cluster: Cluster, fake: FakeApiServer
) -> None:
    fake.load_fixture(FIXTURES / "pod_crashloop.json")
    diagnose.collect(cluster, "analytics")
    logs = [r for r in fake.requests if r.path.endswith("/log")]
    assert [(r.path, r.query) for r in logs] == [
        (
            "/api/v1/namespaces/analytics/pods/iceberg-minio-7d9f6c5b8d-x2k4q/log",
            {"container": ["minio"], "previous": ["True"], "tailLines": ["20"]},
        )
    ]


def test_a_claim_waiting_for_its_first_consumer_points_at_the_pod() -> None:
    """What the real server shows (test_diagnose_live.py): with a WaitForFirstConsumer class a
    claim stays Pending while its pod is unscheduled; that is not the class's fault. Once the
    scheduler has picked a node (the selected-node annotation), a missing PV is."""
    sc = {
        "metadata": {"name": "local-path"},
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "WaitForFirstConsumer",
    }
    pvc: dict[str, Any] = {"metadata": {"name": "data"}, "spec": {"storageClassName": "local-path"}}
    snap = diagnose.Snapshot("analytics", pvcs=[pvc], storage_classes=[sc])
    (waiting,) = diagnose.explain(snap)
    assert "is Pending until a pod using it is scheduled" in waiting.problem
    pvc["metadata"]["annotations"] = {"volume.kubernetes.io/selected-node": "node-1"}
    (blocked,) = diagnose.explain(snap)
    assert "has no dynamic provisioner" in blocked.problem

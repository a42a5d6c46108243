"""Pod Security on the real kube-apiserver: the `analytics` Namespace enforces `restricted`, and
every pod the manifests make is admitted under it.

The manifests label the Namespace `pod-security.kubernetes.io/enforce: restricted` (and warn and
audit at the same level), so a pod that loses its hardening in a later change is refused by the
cluster, not merely flagged by our own policy tests. Whether a pod passes is the apiserver's
PodSecurity admission plugin's decision, which only a real server makes: each workload's pod
template (MinIO dev and prod, the REST catalog and its Postgres) is created as a Pod with
`dryRun=All` in a namespace labelled exactly as the rendered `analytics` Namespace is, so
admission runs and nothing is kept. A pod with the hardening stripped is refused in the same
namespace, which shows the enforcement is real here. Marked `cluster`.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from platform_defs.errors import KubernetesError
from platform_defs.k8s import cluster as k8s_cluster
from platform_defs.k8s import prepare, render
from platform_defs.k8s.render import Document
from tests.k8s.live_fixtures import Kubectl
from tests.manifests.conftest import copy_manifests

pytestmark = pytest.mark.cluster
PSA = "pod-security.kubernetes.io/"
WORKLOADS = {"Deployment", "StatefulSet"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Document]]:
    manifests = copy_manifests(tmp_path_factory.mktemp("psa-manifests"))
    out = {}
    for overlay in prepare.ALL_OVERLAYS:
        prepare.prepare(overlay, manifests_dir=manifests, env={})
        rendered = render.render(prepare.overlay_dir(manifests, overlay))
        out[overlay] = render.load_documents(rendered)
    return out


def _namespace_labels(docs: list[Document]) -> dict[str, str]:
    (ns,) = [d for d in docs if d["kind"] == "Namespace"]
    labels: dict[str, str] = ns["metadata"]["labels"]
    return labels


@pytest.fixture(scope="module")
def like_analytics(
    kubectl: Kubectl, rendered: dict[str, list[Document]]
) -> Iterator[tuple[str, dict[str, str]]]:
    """A namespace of the test's own with the rendered Namespace's Pod Security labels."""
    labels = {k: v for k, v in _namespace_labels(rendered["dev"]).items() if k.startswith(PSA)}
    name = f"t-psa-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name)
    kubectl("label", "namespace", name, *(f"{k}={v}" for k, v in labels.items()))
    yield name, labels
    kubectl("delete", "namespace", name, "--wait=false")


def _pods(docs: list[Document], namespace: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] in WORKLOADS:
            template = doc["spec"]["template"]
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"{doc['metadata']['name']}-psa",
                    "namespace": namespace,
                    "labels": template["metadata"].get("labels", {}),
                },
                "spec": copy.deepcopy(template["spec"]),
            }
            # A StatefulSet's pods get a volume per claim template, as its controller adds them.
            for claim in doc["spec"].get("volumeClaimTemplates", []):
                name = claim["metadata"]["name"]
                pod["spec"].setdefault("volumes", []).append(
                    {
                        "name": name,
                        "persistentVolumeClaim": {
                            "claimName": f"{name}-{doc['metadata']['name']}-0"
                        },
                    }
                )
            yield f"{doc['kind']}/{doc['metadata']['name']}", pod


def test_every_overlay_labels_analytics_restricted(rendered: dict[str, list[Document]]) -> None:
    for overlay, docs in rendered.items():
        labels = _namespace_labels(docs)
        for mode in ("enforce", "warn", "audit"):
            assert labels.get(f"{PSA}{mode}") == "restricted", (overlay, mode)


@pytest.mark.parametrize("overlay", prepare.ALL_OVERLAYS)
def test_every_pod_of_the_overlay_is_admitted_under_restricted(
    overlay: str,
    rendered: dict[str, list[Document]],
    api: k8s_cluster.Cluster,
    like_analytics: tuple[str, dict[str, str]],
) -> None:
    namespace, _ = like_analytics
    pods = list(_pods(rendered[overlay], namespace))
    assert pods, f"{overlay} renders no workload"
    for what, pod in pods:
        created = api.apply(pod, dry_run=True)  # admission runs; a refusal raises
        assert created["metadata"]["name"] == pod["metadata"]["name"], what


def test_a_pod_without_the_hardening_is_refused(
    rendered: dict[str, list[Document]],
    api: k8s_cluster.Cluster,
    like_analytics: tuple[str, dict[str, str]],
) -> None:
    namespace, _ = like_analytics
    _, pod = next(_pods(rendered["dev"], namespace))
    for container in pod["spec"]["containers"]:
        container.pop("securityContext", None)
    pod["spec"].pop("securityContext", None)
    with pytest.raises(KubernetesError, match='violates PodSecurity "restricted'):
        api.apply(pod, dry_run=True)


def test_no_overlay_directory_is_left_out(tmp_path: Path) -> None:
    """Every overlay in manifests/overlays is checked above (a new one is not forgotten)."""
    root = copy_manifests(tmp_path) / "overlays"
    assert {p.name for p in root.iterdir() if p.is_dir()} == set(prepare.ALL_OVERLAYS)

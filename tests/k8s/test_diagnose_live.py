"""Stuck rollouts on the real loopback control plane (tools/k8s_testenv): the situation is
created on kube-apiserver v1.37.2, the real scheduler and PV controller write the conditions and
events, and the platform's own rollout wait (`KubernetesTarget._wait`) raises the RolloutError
whose text the person on call reads. Its "What the cluster shows" part is diagnose.py reading
the live API, not recorded responses.

Each test first waits, bounded, for the event that makes the case visible (the scheduler's
`FailedScheduling`, the PV controller's `ProvisioningFailed`/`ExternalProvisioning`), then runs
the wait with a short PLATFORM_K8S_ROLLOUT_TIMEOUT_SECONDS: the diagnosis is collected when the
wait gives up, and asserting before the controllers have spoken would test the race, not the
diagnosis.

Not here, and why (they stay on recorded responses in test_diagnose.py): a bad image, a crash
loop and failing probes. kwok runs no containers: it marks a pod's containers running whatever
the image, so no kubelet ever reports ErrImagePull, CrashLoopBackOff or an Unhealthy probe.
"No default StorageClass" is not made live either: the session's cluster has a default class
that every other test relies on, and removing it under them would change their outcome.
Marked `cluster`.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from platform_defs.errors import RolloutError
from platform_defs.k8s import apply as k8s_apply
from platform_defs.k8s import cluster as k8s_cluster
from platform_defs.k8s import diagnose
from platform_defs.k8s.render import Document
from platform_defs.settings import load_settings
from platform_defs.targets.kubernetes import KubernetesTarget
from tests.k8s.live_fixtures import Kubectl
from tools.k8s_testenv import env, layout

pytestmark = pytest.mark.cluster
ROLLOUT_TIMEOUT = 3.0  # the wait only has to give up; the events are awaited before it
EVENT_TIMEOUT = 60.0
NODES = layout.NODE_COUNT  # kwok nodes the session registers


def _target(live_env: env.Running, namespace: str) -> KubernetesTarget:
    settings = load_settings(
        target="kubernetes",
        kubeconfig=live_env.kubeconfig,
        namespace=namespace,
        k8s_rollout_timeout_seconds=ROLLOUT_TIMEOUT,
    )
    return KubernetesTarget(settings)


def _dev_overlay(documents: dict[str, list[Document]], namespace: str) -> list[Document]:
    """The dev overlay's objects in the test's namespace (its Namespace object dropped)."""
    moved = []
    for doc in documents["dev"]:
        if doc["kind"] == "Namespace":
            continue
        doc = copy.deepcopy(doc)
        doc["metadata"]["namespace"] = namespace
        moved.append(doc)
    return moved


def _one(docs: list[Document], kind: str) -> Document:
    (doc,) = [d for d in docs if d["kind"] == kind]
    return doc


def _event(
    api: k8s_cluster.Cluster, namespace: str, kind: str, reasons: set[str], contains: str = ""
) -> dict[str, Any]:
    """The first event with one of `reasons` about an object of `kind` whose message contains
    `contains`; waits for it at most EVENT_TIMEOUT seconds."""
    deadline = time.monotonic() + EVENT_TIMEOUT
    seen: list[str] = []
    while True:
        events = api.list("v1", "Event", namespace)
        for event in events:
            involved = event.get("involvedObject") or {}
            message = str(event.get("message", ""))
            if (
                involved.get("kind") == kind
                and event.get("reason") in reasons
                and contains in message
            ):
                return event
        seen = [f"{e.get('reason')}: {e.get('message')}" for e in events]
        if time.monotonic() > deadline:
            pytest.fail(f"no {reasons} event on a {kind} within {EVENT_TIMEOUT:.0f} s; saw {seen}")
        time.sleep(0.5)


def _stuck(target: KubernetesTarget, api: k8s_cluster.Cluster, doc: Document) -> str:
    start = time.monotonic()
    with pytest.raises(RolloutError) as err:
        target._wait(api, doc)
    assert time.monotonic() - start < ROLLOUT_TIMEOUT + 15, "the wait is bounded by the setting"
    return str(err.value)


def _pending_pods(api: k8s_cluster.Cluster, namespace: str) -> list[str]:
    return [
        p["metadata"]["name"]
        for p in api.list("v1", "Pod", namespace)
        if (p.get("status") or {}).get("phase") == "Pending"
    ]


def test_missing_storage_class_is_named_with_the_classes_the_cluster_has(
    live_env: env.Running,
    api: k8s_cluster.Cluster,
    namespace: str,
    documents: dict[str, list[Document]],
) -> None:
    """The dev overlay with its PVC naming a class this cluster lacks (as when the overlay's
    `local-path` is applied to a cluster without it): the PVC stays Pending, the pod is
    unschedulable, and the error names the missing class and the ones that exist."""
    docs = _dev_overlay(documents, namespace)
    _one(docs, "PersistentVolumeClaim")["spec"]["storageClassName"] = "no-such-class"
    k8s_apply.apply_all(api, docs)
    _event(api, namespace, "PersistentVolumeClaim", {"ProvisioningFailed"}, "no-such-class")
    scheduling = _event(api, namespace, "Pod", {"FailedScheduling"})

    message = _stuck(_target(live_env, namespace), api, _one(docs, "Deployment"))

    assert f"Deployment/iceberg-minio in namespace {namespace}" in message
    assert f"did not finish within {ROLLOUT_TIMEOUT:.0f} s" in message
    assert "StorageClass 'no-such-class' does not exist (the cluster has: local-path)" in message
    (pod,) = _pending_pods(api, namespace)
    assert f"Pod/{pod}: cannot be scheduled: {scheduling['message']}" in message
    findings = diagnose.explain(diagnose.collect(api, namespace))
    assert [f.subject for f in findings][:2] == [
        "PersistentVolumeClaim/iceberg-minio",
        f"Pod/{pod}",
    ], "the claim first: it is why the pod cannot be scheduled"


def test_required_anti_affinity_beyond_the_node_count_is_explained(
    live_env: env.Running, api: k8s_cluster.Cluster, namespace: str
) -> None:
    """One replica more than the cluster has nodes, each required on its own node (the prod
    StatefulSet's rule): NODES pods run, one stays Pending, and the scheduler's reason reaches
    the error."""
    labels = {"app": "spread"}
    deployment: Document = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "spread", "namespace": namespace},
        "spec": {
            "replicas": NODES + 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "affinity": {
                        "podAntiAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "topologyKey": "kubernetes.io/hostname",
                                    "labelSelector": {"matchLabels": labels},
                                }
                            ]
                        }
                    },
                    "containers": [{"name": "app", "image": "registry.invalid/app:1"}],
                },
            },
        },
    }
    k8s_apply.apply_one(api, deployment)
    event = _event(api, namespace, "Pod", {"FailedScheduling"}, "anti-affinity")

    message = _stuck(_target(live_env, namespace), api, deployment)

    assert f"{NODES} of {NODES + 1} updated replicas are available" in message
    (pending,) = _pending_pods(api, namespace)
    assert f"Pod/{pending}: cannot be scheduled: {event['message']}" in message
    assert f"0/{NODES} nodes are available" in message
    assert "didn't match pod anti-affinity rules" in message


def test_node_selector_nobody_matches_and_the_claim_waiting_for_it(
    live_env: env.Running,
    api: k8s_cluster.Cluster,
    namespace: str,
    documents: dict[str, list[Document]],
) -> None:
    """The dev overlay with a nodeSelector no node has. Its PVC (local-path binds on first
    consumer) is Pending too, but only because the pod is not scheduled: the diagnosis must say
    so instead of blaming the StorageClass, and name the selector as the cause."""
    docs = _dev_overlay(documents, namespace)
    deployment = _one(docs, "Deployment")
    deployment["spec"]["template"]["spec"]["nodeSelector"] = {"disktype": "nvme"}
    k8s_apply.apply_all(api, docs)
    event = _event(api, namespace, "Pod", {"FailedScheduling"}, "node affinity/selector")
    _event(api, namespace, "PersistentVolumeClaim", {"WaitForFirstConsumer"})

    message = _stuck(_target(live_env, namespace), api, deployment)

    (pod,) = _pending_pods(api, namespace)
    assert f"Pod/{pod}: cannot be scheduled: {event['message']}" in message
    assert f"0/{NODES} nodes are available" in message
    assert "didn't match Pod's node affinity/selector" in message
    claim = "PersistentVolumeClaim/iceberg-minio: "
    assert f"{claim}is Pending until a pod using it is scheduled" in message
    assert "no dynamic provisioner" not in message, message


@pytest.fixture
def external_class(kubectl: Kubectl) -> Iterator[str]:
    """A StorageClass whose provisioner nobody runs (cluster-scoped, so named per test and
    deleted after it)."""
    name = f"external-{uuid.uuid4().hex[:6]}"
    yield name
    kubectl("delete", "storageclass", name, "--ignore-not-found")


def test_a_provisioner_that_does_not_run_is_named(
    live_env: env.Running,
    api: k8s_cluster.Cluster,
    namespace: str,
    external_class: str,
    documents: dict[str, list[Document]],
) -> None:
    """The dev overlay on a class whose provisioner (rancher.io/local-path, kind's) is not
    installed: the PV controller hands the claim to an external provisioner that never answers."""
    k8s_apply.apply_one(
        api,
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": external_class},
            "provisioner": "rancher.io/local-path",
            "volumeBindingMode": "Immediate",
        },
    )
    docs = _dev_overlay(documents, namespace)
    _one(docs, "PersistentVolumeClaim")["spec"]["storageClassName"] = external_class
    k8s_apply.apply_all(api, docs)
    _event(api, namespace, "PersistentVolumeClaim", {"ExternalProvisioning"}, "rancher.io")

    message = _stuck(_target(live_env, namespace), api, _one(docs, "Deployment"))

    assert "waiting for provisioner 'rancher.io/local-path'" in message
    assert "is not running" in message


def _bare_deployment(namespace: str, name: str, **spec: Any) -> Document:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeSelector": {"disktype": "nvme"},
                    "containers": [{"name": "app", "image": "registry.invalid/app:1"}],
                },
            },
            **spec,
        },
    }


def test_progress_deadline_fails_without_waiting_for_the_timeout(
    live_env: env.Running, api: k8s_cluster.Cluster, namespace: str
) -> None:
    """A Deployment that cannot progress (its pod is unschedulable) past its
    progressDeadlineSeconds: the real Deployment controller sets Progressing=False
    ProgressDeadlineExceeded, and the wait stops at once (as `kubectl rollout status` does)
    instead of sitting out PLATFORM_K8S_ROLLOUT_TIMEOUT_SECONDS."""
    deployment = _bare_deployment(namespace, "deadline", progressDeadlineSeconds=2)
    k8s_apply.apply_one(api, deployment)
    timeout = 120.0
    target = KubernetesTarget(
        load_settings(
            target="kubernetes",
            kubeconfig=live_env.kubeconfig,
            namespace=namespace,
            k8s_rollout_timeout_seconds=timeout,
        )
    )
    start = time.monotonic()
    with pytest.raises(RolloutError) as err:
        target._wait(api, deployment)
    assert time.monotonic() - start < timeout / 2
    message = str(err.value)
    assert 'deployment "deadline" exceeded its progress deadline' in message
    assert f"Deployment/deadline in namespace {namespace}" in message and " failed: " in message
    assert "didn't match Pod's node affinity/selector" in message


def test_ingress_without_controller_or_tls_secret_is_explained(
    api: k8s_cluster.Cluster, namespace: str, documents: dict[str, list[Document]]
) -> None:
    """The dev overlay's Ingresses on a cluster with no ingress controller (no IngressClass, as
    on this control plane) and without their TLS Secret (not applied here)."""
    ingresses = [d for d in _dev_overlay(documents, namespace) if d["kind"] == "Ingress"]
    assert ingresses
    k8s_apply.apply_all(api, ingresses)

    text = diagnose.report(diagnose.explain(diagnose.collect(api, namespace)))

    for ing in ingresses:
        name = ing["metadata"]["name"]
        wanted = ing["spec"]["ingressClassName"]
        assert f"Ingress/{name}: asks for ingress class '{wanted}'" in text, text
        for tls in ing["spec"].get("tls") or []:
            secret = tls["secretName"]
            assert f"uses TLS Secret '{secret}', which does not exist in {namespace}" in text


def test_a_rolled_out_overlay_has_no_findings(
    live_env: env.Running,
    api: k8s_cluster.Cluster,
    namespace: str,
    documents: dict[str, list[Document]],
) -> None:
    """The dev overlay (its Ingresses aside: no controller runs here) rolled out by the real
    controllers and kwok: the wait returns the replicas and the diagnosis finds nothing, so
    findings on a stuck rollout are not noise the healthy state also produces."""
    docs = [d for d in _dev_overlay(documents, namespace) if d["kind"] != "Ingress"]
    k8s_apply.apply_all(api, docs)
    target = KubernetesTarget(
        load_settings(
            target="kubernetes",
            kubeconfig=live_env.kubeconfig,
            namespace=namespace,
            k8s_rollout_timeout_seconds=120,
        )
    )
    replicas = target._wait(api, _one(docs, "Deployment"))
    assert (replicas.kind, replicas.ready) == ("Deployment", 1)
    snap = diagnose.collect(api, namespace)
    assert [p["status"]["phase"] for p in snap.pvcs] == ["Bound"]
    assert diagnose.explain(snap) == []

"""The fixes of issue 13 (drift on managed fields, the served-kinds check, EndpointSlice
readiness) on the real loopback control plane (tools/k8s_testenv), not on hand-written
responses: the objects are written by the platform's own apply code and by the real `kubectl`
(the venv's, with the env's kubeconfig and its discovery cache in the env's state directory),
and what the platform reads back is what kube-apiserver v1.37.2 recorded.

With K8S_RECORD_FIXTURES=1 the drift tests also write what they read (manifest, live GET, the
platform's forced dry-run apply) to fixtures/managed_fields/, which the offline tests in
test_drift_fields.py use: that is how those fixtures are recorded. Marked `cluster`.
"""

from __future__ import annotations

import copy
import datetime
import ipaddress
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from platform_defs.errors import CrdMissingError
from platform_defs.k8s import apply as k8s_apply
from platform_defs.k8s import cluster as k8s_cluster
from platform_defs.k8s import drift, endpoints
from platform_defs.k8s.render import Document
from tests import process_guard
from tests.k8s.conftest import FIXTURES
from tests.k8s.live_fixtures import Kubectl
from tools.k8s_testenv import env, layout, seed

pytestmark = pytest.mark.cluster
MANAGED = FIXTURES / "managed_fields"
RECORD = os.environ.get("K8S_RECORD_FIXTURES") == "1"


def _in_namespace(docs: list[Document], namespace: str) -> list[Document]:
    """The overlay's objects moved into the test's namespace (its Namespace object dropped), so
    tests sharing the session's cluster never touch each other's objects."""
    moved = []
    for doc in docs:
        if doc["kind"] == "Namespace":
            continue
        doc = copy.deepcopy(doc)
        doc["metadata"]["namespace"] = namespace
        moved.append(doc)
    return moved


def _one(docs: list[Document], kind: str) -> Document:
    (doc,) = [d for d in docs if d["kind"] == kind]
    return doc


def _live(api: k8s_cluster.Cluster, doc: Document) -> dict[str, Any]:
    meta = doc["metadata"]
    found = api.get(doc["apiVersion"], doc["kind"], meta["name"], meta["namespace"])
    assert found is not None, f"{doc['kind']}/{meta['name']} is not on the server"
    return found


def _record(name: str, story: str, api: k8s_cluster.Cluster, doc: Document) -> None:
    """With K8S_RECORD_FIXTURES=1: the manifest, the live object and the platform's forced
    dry-run apply of it, as the offline drift tests read them."""
    if not RECORD:
        return
    version = api.probe()
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    case = {
        "_note": (
            f"Recorded from kube-apiserver {version} on the loopback testenv "
            f"(tools/k8s_testenv) on {today} by tests/k8s/test_fixes_live.py "
            "with K8S_RECORD_FIXTURES=1; not edited by hand."
        ),
        "_story": story,
        "manifest": doc,
        "live": _live(api, doc),
        "dry_run": api.apply(doc, dry_run=True),
    }
    (MANAGED / f"{name}.json").write_text(json.dumps(case, indent=1, sort_keys=False) + "\n")


def _rolled_out(kubectl: Kubectl, namespace: str, what: str) -> None:
    kubectl("-n", namespace, "rollout", "status", what, "--timeout=120s", timeout=150)


def _by_subject(found: list[drift.Drift]) -> dict[str, drift.Drift]:
    return {d.subject: d for d in found}


# ---- 1. drift -------------------------------------------------------------------------------
def test_scale_is_changed_label_is_foreign_and_the_repair_restores_and_removes(
    api: k8s_cluster.Cluster,
    kubectl: Kubectl,
    namespace: str,
    documents: dict[str, list[Document]],
) -> None:
    """The dev overlay applied by the platform; then `kubectl scale` and `kubectl label` as a
    person would type them. The managers are the ones kubectl v1.37 really sends."""
    docs = _in_namespace(documents["dev"], namespace)
    k8s_apply.apply_all(api, docs)
    deployment = _one(docs, "Deployment")
    _rolled_out(kubectl, namespace, "deployment/iceberg-minio")
    assert drift.compare(api, docs) == [], "an overlay just applied has no drift"
    _record(
        "deployment_as_applied",
        "right after the platform's apply of the dev overlay and MinIO's rollout.",
        api,
        deployment,
    )

    kubectl("-n", namespace, "scale", "deployment/iceberg-minio", "--replicas=2")
    kubectl("-n", namespace, "label", "deployment/iceberg-minio", "team=data")

    found = _by_subject(drift.compare(api, docs))
    assert list(found) == ["Deployment/iceberg-minio"]
    scaled = found["Deployment/iceberg-minio"]
    (changed,) = scaled.of_kind("changed")
    assert changed.path == "spec.replicas"
    assert changed.text.startswith("spec.replicas: live 2, manifests 1 (changed by ")
    (foreign,) = scaled.of_kind("foreign")
    assert foreign.path == "metadata.labels.team" and foreign.removable
    assert scaled.of_kind("conflict") == []
    # The field managers kubectl v1.37 records (checked here, assumed by the offline fixtures).
    entries = {
        (m["manager"], m.get("subresource", ""), m["operation"])
        for m in _live(api, deployment)["metadata"]["managedFields"]
    }
    assert ("kubectl", "scale", "Update") in entries, entries
    assert ("kubectl-label", "", "Update") in entries, entries
    assert (changed.manager, foreign.manager) == ("kubectl", "kubectl-label")
    _record(
        "deployment_scaled_and_labelled",
        "the platform applied `manifest`; then `kubectl scale deploy/iceberg-minio "
        "--replicas=2` and `kubectl label deploy/iceberg-minio team=data` (kubectl v1.37).",
        api,
        deployment,
    )

    # The repair (what ensure_store runs): a forced re-apply takes spec.replicas back ...
    k8s_apply.apply_all(api, docs)
    assert _live(api, deployment)["spec"]["replicas"] == 1
    left = drift.compare(api, docs)
    assert [(f.kind, f.path) for d in left for f in d.fields] == [
        ("foreign", "metadata.labels.team")
    ]
    assert not left[0].needs_repair(remove_foreign=False), "a foreign label alone is left"
    assert _live(api, deployment)["metadata"]["labels"]["team"] == "data"
    # ... and with PLATFORM_K8S_REMOVE_FOREIGN_FIELDS it also removes the foreign label
    # (KubernetesTarget._remove_foreign calls exactly this after the apply).
    assert left[0].needs_repair(remove_foreign=True)
    assert drift.remove_foreign(api, docs, left) == 1
    assert "team" not in _live(api, deployment)["metadata"]["labels"]
    assert drift.compare(api, docs) == []


def test_a_second_applier_forcing_a_field_is_a_conflict(
    api: k8s_cluster.Cluster,
    kubectl: Kubectl,
    namespace: str,
    documents: dict[str, list[Document]],
    tmp_path: Path,
) -> None:
    docs = _in_namespace(documents["dev"], namespace)
    k8s_apply.apply_all(api, docs)
    service = _one(docs, "Service")
    other = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": service["metadata"]["name"],
            "labels": {
                "app.kubernetes.io/name": service["metadata"]["labels"]["app.kubernetes.io/name"]
            },
        },
        "spec": {"ports": [{"port": 9000, "protocol": "TCP", "targetPort": 9443}]},
    }
    path = tmp_path / "other.json"
    path.write_text(json.dumps(other))
    args = ["apply", "--server-side", "--field-manager=argocd-controller"]
    with pytest.raises(RuntimeError, match="conflict"):
        kubectl("-n", namespace, *args, "-f", str(path))
    kubectl("-n", namespace, *args, "--force-conflicts", "-f", str(path))

    found = _by_subject(drift.compare(api, docs))
    assert list(found) == ["Service/iceberg-minio"]
    (conflict,) = found["Service/iceberg-minio"].fields
    assert conflict.kind == "conflict" and conflict.manager == "argocd-controller"
    assert conflict.path == "spec.ports[port=9000,protocol=TCP].targetPort"
    assert "live 9443, manifests 'api' (conflict: argocd-controller (Apply) applies it" in (
        conflict.text
    )
    _record(
        "service_conflict",
        "another applier (`kubectl apply --server-side --field-manager=argocd-controller "
        "--force-conflicts`) set targetPort 9443 on port 9000 and the name label with the "
        "same value (shared ownership, not drift).",
        api,
        service,
    )
    k8s_apply.apply_all(api, docs)
    assert drift.compare(api, docs) == [], "the forced re-apply took the field back"


# ---- 3. every kind served before any write --------------------------------------------------
@pytest.fixture
def env_without_certificates(tmp_path: Path) -> Iterator[env.Running]:
    """A second, short-lived control plane (~12 s) whose cert-manager Certificate CRD is
    deleted: the session's cluster is shared, so its CRDs are never taken away."""
    state = tmp_path / "no-cert-manager"
    running = env.up(state, on_start=process_guard.register)
    try:
        seed.kubectl(state, running.kubeconfig, ["delete", "crd", "certificates.cert-manager.io"])
        # Discovery drops the kind once the CRD is gone: wait for that, not for a time.
        seed.kubectl(
            state,
            running.kubeconfig,
            ["wait", "--for=delete", "crd/certificates.cert-manager.io", "--timeout=60s"],
        )
        yield running
    finally:
        env.down(state)


def test_prod_overlay_without_the_certificate_crd_fails_before_any_write(
    env_without_certificates: env.Running, documents: dict[str, list[Document]]
) -> None:
    api = k8s_cluster.connect(
        k8s_cluster.ClusterTarget(kubeconfig=env_without_certificates.kubeconfig, timeout=10.0)
    )
    docs = documents["prod"]
    assert "Certificate" in {d["kind"] for d in docs}
    with pytest.raises(CrdMissingError) as raised:
        k8s_apply.apply_all(api, docs)
    message = str(raised.value)
    assert "does not serve Certificate (cert-manager.io/v1)" in message
    assert "Nothing was applied." in message and "cert-manager.yaml" in message
    assert "Issuer" not in message.split("\n")[0], "Issuer is still served: not named"
    for doc in docs:
        meta = doc["metadata"]
        if doc["kind"] == "Certificate":
            continue
        assert api.get(doc["apiVersion"], doc["kind"], meta["name"], meta.get("namespace")) is (
            None
        ), f"{doc['kind']}/{meta['name']} was written before the check"


# ---- 4. EndpointSlices ----------------------------------------------------------------------
def _web(name: str, replicas: int, node_selector: dict[str, str] | None = None) -> Document:
    pod: dict[str, Any] = {
        "containers": [
            {"name": "app", "image": "example.invalid/app:1", "ports": [{"containerPort": 8080}]}
        ]
    }
    if node_selector:
        pod["nodeSelector"] = node_selector
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web", "variant": name}},
            "template": {"metadata": {"labels": {"app": "web", "variant": name}}, "spec": pod},
        },
    }


def test_endpoints_check_reads_ready_pods_on_test_net_and_names_the_unscheduled_one(
    api: k8s_cluster.Cluster, kubectl: Kubectl, namespace: str
) -> None:
    """Two Ready pods under kwok get TEST-NET addresses in the Service's EndpointSlice; a third
    pod the Service selects cannot be scheduled (no node has its label), so it has no IP and
    the EndpointSlice controller publishes nothing for it: the check names it "in no
    EndpointSlice". A published but not-ready endpoint (a pod with an IP and Ready=False) is
    not shown live: kwok's pod stages make every pod with an IP Ready and would overwrite a
    hand-set condition; that case stays on recorded slices in test_endpoints.py."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    ready = {**_web("ready", 2), "metadata": {"name": "ready", "namespace": namespace}}
    stuck = {
        **_web("stuck", 1, {"lakehouse.test/none": "true"}),
        "metadata": {"name": "stuck", "namespace": namespace},
    }
    for doc in (service, ready, stuck):
        k8s_apply.apply_one(api, doc)
    kubectl(
        "-n", namespace, "wait", "--for=condition=Available", "deployment/ready", "--timeout=90s"
    )
    kubectl(
        "-n",
        namespace,
        "wait",
        "--for=condition=PodScheduled=false",
        "pod",
        "-l",
        "variant=stuck",
        "--timeout=60s",
    )
    # The slice follows the pods: watch until both Ready pods are published.
    resource = api.resource(endpoints.API, "EndpointSlice")
    selector = f"{endpoints.SERVICE_NAME_LABEL}=web"
    for event in resource.watch(namespace=namespace, label_selector=selector, timeout=90):
        eps = event["object"].to_dict().get("endpoints") or []
        if sum(bool((e.get("conditions") or {}).get("ready")) for e in eps) == 2:
            break
    else:
        raise AssertionError("the EndpointSlice never listed the 2 Ready pods")

    verdict = endpoints.read(api, namespace, "web")

    assert verdict.passed and verdict.slices >= 1
    assert len(verdict.ready) == 2 and verdict.not_ready == []
    net = ipaddress.ip_network(layout.POD_CIDR)
    assert all(ipaddress.ip_address(e.address) in net for e in verdict.ready), verdict.ready
    assert all(e.pod.startswith("ready-") for e in verdict.ready)
    (unpublished,) = verdict.unpublished
    assert unpublished.startswith("stuck-") and "(Pending, no IP yet)" in unpublished
    assert verdict.describe().startswith("Service web: 2 of 3 endpoint(s) ready")


def test_prod_statefulset_defaults_are_not_drift_on_the_real_server(
    api: k8s_cluster.Cluster,
    kubectl: Kubectl,
    namespace: str,
    documents: dict[str, list[Document]],
) -> None:
    """The prod overlay (its Certificate left out: cert-manager does not run here) applied and
    its 4-replica StatefulSet rolled out with 8 PVCs bound through `local-path`: the server's
    defaults (the PVC retention policy, the pod template's and the claim templates' fields) are
    owned by no manager and are not drift."""
    docs = [d for d in _in_namespace(documents["prod"], namespace) if d["kind"] != "Certificate"]
    statefulset = _one(docs, "StatefulSet")
    # prod's settings.env names STORAGE_CLASS=standard (a person's choice per cluster) and each
    # drive claims 100Gi; this cluster has `local-path` and a pool of 16Gi PVs. As rendered, the
    # 8 PVCs stay Pending (ProvisioningFailed, then "didn't find available persistent volumes").
    for claim in statefulset["spec"]["volumeClaimTemplates"]:
        assert claim["spec"]["storageClassName"] == "standard"
        claim["spec"]["storageClassName"] = layout.STORAGE_CLASS
        claim["spec"]["resources"]["requests"]["storage"] = seed.PV_SIZE
    assert "rollingUpdate" not in statefulset["spec"]["updateStrategy"]
    k8s_apply.apply_all(api, docs)
    kubectl(
        "-n",
        namespace,
        "rollout",
        "status",
        "statefulset/iceberg-minio",
        "--timeout=120s",
        timeout=150,
    )
    live = _live(api, statefulset)
    # Found here: with `type: RollingUpdate` set and no `rollingUpdate`, v1.37 defaults no
    # partition (it does only when updateStrategy is empty, see test_testenv.py).
    assert live["spec"]["updateStrategy"] == {"type": "RollingUpdate"}
    assert live["spec"]["persistentVolumeClaimRetentionPolicy"]["whenScaled"] == "Retain"
    assert live["status"]["updatedReplicas"] == live["status"]["readyReplicas"] == 4
    assert drift.compare(api, docs) == []
    _record(
        "statefulset_server_defaults",
        "right after the platform's apply of the prod overlay (Certificate left out) and the "
        "StatefulSet's rollout: the server defaulted "
        "persistentVolumeClaimRetentionPolicy, the pod template's and the "
        "volumeClaimTemplates' fields; none of them is drift. "
        "With `type: RollingUpdate` given, no rollingUpdate.partition is defaulted.",
        api,
        statefulset,
    )

"""The loopback control plane behaves as a real cluster where the platform depends on it: a
real kube-apiserver (server-side apply, managedFields, defaulting), pods that become Ready
under kwok, EndpointSlices with routable-looking (TEST-NET) addresses, PVCs that bind on first
consumer through `local-path`, the CRDs the overlays use, and a `down` that stops exactly its
own processes. Marked `cluster`: run by `make test`, never skipped on CI."""

from __future__ import annotations

import http.server
import ipaddress
import json
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from platform_defs.k8s import apply as k8s_apply
from platform_defs.k8s import cluster as k8s_cluster
from platform_defs.k8s import portforward
from tests import process_guard
from tests.k8s.live_fixtures import Kubectl
from tools.k8s_testenv import env, layout, procs

pytestmark = pytest.mark.cluster


def _apply(kubectl: Kubectl, namespace: str, doc: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / f"{doc['kind']}-{doc['metadata']['name']}.json"
    path.write_text(json.dumps(doc))
    kubectl("-n", namespace, "apply", "--server-side", "--field-manager=test", "-f", str(path))


def _watch_until(
    api: k8s_cluster.Cluster,
    kind: tuple[str, str],
    namespace: str,
    selector: str,
    done: Callable[[dict[str, Any]], bool],
    timeout: int = 90,
) -> dict[str, Any]:
    """The first object (listed now or arriving on the watch) for which `done` holds."""
    resource = api.resource(*kind)
    for event in resource.watch(namespace=namespace, label_selector=selector, timeout=timeout):
        obj = event["object"].to_dict()
        if event["type"] in ("ADDED", "MODIFIED") and done(obj):
            return dict(obj)
    raise AssertionError(f"no {kind[1]} matching {selector} within {timeout}s")


def _service(app: str, port: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": app},
        "spec": {"selector": {"app": app}, "ports": [{"port": port, "targetPort": 8080}]},
    }


def _deployment(name: str, replicas: int, volume_claim: str | None = None) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "containers": [
            {"name": "app", "image": "example.invalid/app:1", "ports": [{"containerPort": 8080}]}
        ]
    }
    if volume_claim:
        pod["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": volume_claim}}]
        pod["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod},
        },
    }


def test_kubectl_version_parses_the_stamped_server_version(kubectl: Kubectl) -> None:
    version = json.loads(kubectl("version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"] == layout.K8S_VERSION
    assert version["serverVersion"]["minor"] == "37"


def test_four_kwok_nodes_are_ready_with_loopback_kubelet_address(api: k8s_cluster.Cluster) -> None:
    nodes = api.list("v1", "Node")
    assert len(nodes) == layout.NODE_COUNT
    for node in nodes:
        conditions = {c["type"]: c["status"] for c in node["status"]["conditions"]}
        assert conditions["Ready"] == "True", node["metadata"]["name"]
        addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
        assert addresses["InternalIP"] == "127.0.0.1"


def test_the_crds_the_overlays_use_are_served(api: k8s_cluster.Cluster) -> None:
    for api_version, kind in (
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("cert-manager.io/v1", "Certificate"),
        ("cert-manager.io/v1", "Issuer"),
    ):
        assert api.resource(api_version, kind).kind == kind
        assert api.list(api_version, kind) == []


def test_default_storage_class_is_local_path_wait_for_first_consumer(
    api: k8s_cluster.Cluster,
) -> None:
    classes = api.list("storage.k8s.io/v1", "StorageClass")
    (default,) = [
        c
        for c in classes
        if c["metadata"].get("annotations", {}).get("storageclass.kubernetes.io/is-default-class")
        == "true"
    ]
    assert default["metadata"]["name"] == "local-path"
    assert default["volumeBindingMode"] == "WaitForFirstConsumer"


def test_platform_server_side_apply_records_its_field_manager_and_real_defaults(
    api: k8s_cluster.Cluster, namespace: str
) -> None:
    doc = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "ssa", "namespace": namespace},
        "spec": {
            "replicas": 1,
            "serviceName": "ssa",
            "selector": {"matchLabels": {"app": "ssa"}},
            "template": {
                "metadata": {"labels": {"app": "ssa"}},
                "spec": {"containers": [{"name": "c", "image": "example.invalid/c:1"}]},
            },
        },
    }
    first = k8s_apply.apply_one(api, doc)
    second = k8s_apply.apply_one(api, doc)
    assert (first.action, second.action) == ("created", "unchanged")
    live = api.get("apps/v1", "StatefulSet", "ssa", namespace)
    assert live is not None
    # Not first.resource_version == second's: the StatefulSet controller writes the status
    # between the two applies, which moves resourceVersion (seen on CI). The generation counts
    # spec changes only: the second apply made none.
    assert live["metadata"]["generation"] == 1
    managers = {(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]}
    assert (k8s_cluster.FIELD_MANAGER, "Apply") in managers
    # Defaulting only a real server does: the platform never sent a partition.
    assert live["spec"]["updateStrategy"]["rollingUpdate"]["partition"] == 0


def test_deployment_pods_become_ready_and_get_endpoint_slices_on_test_net(
    kubectl: Kubectl, namespace: str, tmp_path: Path, api: k8s_cluster.Cluster
) -> None:
    _apply(kubectl, namespace, _deployment("web", 2), tmp_path)
    _apply(kubectl, namespace, _service("web", 80), tmp_path)
    kubectl("-n", namespace, "wait", "--for=condition=Available", "deployment/web", "--timeout=90s")
    slice_ = _watch_until(
        api,
        ("discovery.k8s.io/v1", "EndpointSlice"),
        namespace,
        "kubernetes.io/service-name=web",
        lambda obj: (
            sum(bool(e["conditions"].get("ready")) for e in obj.get("endpoints") or []) == 2
        ),
    )
    pods = api.list("v1", "Pod", namespace, selector="app=web")
    assert [p["status"]["phase"] for p in pods] == ["Running", "Running"]
    addresses = [a for e in slice_["endpoints"] for a in e["addresses"]]
    assert len(addresses) == 2
    assert all(ipaddress.ip_address(a) in ipaddress.ip_network(layout.POD_CIDR) for a in addresses)
    (svc,) = [api.get("v1", "Service", "web", namespace)]
    assert svc is not None
    assert ipaddress.ip_address(svc["spec"]["clusterIP"]) in ipaddress.ip_network(
        layout.SERVICE_CIDR
    )


def test_pvc_binds_through_local_path_only_when_a_pod_consumes_it(
    kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "8Gi"}}},
    }
    _apply(kubectl, namespace, claim, tmp_path)
    events = kubectl(
        "-n", namespace, "wait", "--for=jsonpath={.spec.storageClassName}=local-path", "pvc/data"
    )
    assert "condition met" in events
    phase = kubectl("-n", namespace, "get", "pvc/data", "-o", "jsonpath={.status.phase}")
    assert phase == "Pending"
    _apply(kubectl, namespace, _deployment("db", 1, volume_claim="data"), tmp_path)
    kubectl(
        "-n", namespace, "wait", "--for=jsonpath={.status.phase}=Bound", "pvc/data", "--timeout=90s"
    )
    kubectl("-n", namespace, "wait", "--for=condition=Available", "deployment/db", "--timeout=90s")
    volume = kubectl("-n", namespace, "get", "pvc/data", "-o", "jsonpath={.spec.volumeName}")
    assert volume.startswith("local-path-pv-")


def test_dev_overlay_applies_on_the_real_server_twice_without_change(
    api: k8s_cluster.Cluster, documents: dict[str, list[dict[str, Any]]], kubectl: Kubectl
) -> None:
    """The platform's own ordered server-side apply of the rendered dev overlay: every object
    is created under the platform's field manager, and a second apply changes nothing."""
    docs = documents["dev"]
    # Into the overlay's own `analytics`, which an earlier test may have left terminating.
    kubectl("delete", "namespace", "analytics", "--ignore-not-found", "--wait=true", timeout=180)
    first = k8s_apply.apply_all(api, docs)
    assert {a.action for a in first} <= {"created", "configured"}
    second = k8s_apply.apply_all(api, docs)
    assert [a.action for a in second] == ["unchanged"] * len(docs)
    for doc in docs:
        meta = doc["metadata"]
        live = api.get(doc["apiVersion"], doc["kind"], meta["name"], meta.get("namespace"))
        assert live is not None, doc["kind"]
        managers = {m["manager"] for m in live["metadata"]["managedFields"]}
        assert k8s_cluster.FIELD_MANAGER in managers, (doc["kind"], managers)
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    where = ["-n", deployment["metadata"]["namespace"]]
    kubectl(
        *where,
        "rollout",
        "status",
        f"deployment/{deployment['metadata']['name']}",
        "--timeout=120s",
        timeout=150,
    )


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello from the loopback target"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_platform_port_forward_reaches_the_loopback_target_through_kwok(
    live_env: env.Running,
    api: k8s_cluster.Cluster,
    kubectl: Kubectl,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The platform's own `kubectl port-forward` to a Service: the apiserver resolves the
    Service to a Ready pod and asks kwok (the pod's node), which forwards to 127.0.0.1."""
    monkeypatch.setenv("KUBECACHEDIR", str(live_env.state / "kubecache"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", live_env.forward_port), _Hello)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        _apply(kubectl, namespace, _deployment("store", 1), tmp_path)
        _apply(kubectl, namespace, _service("store", 9000), tmp_path)
        kubectl(
            "-n",
            namespace,
            "wait",
            "--for=condition=Available",
            "deployment/store",
            "--timeout=90s",
        )
        forward = portforward.ensure(
            api.context, live_env.kubeconfig, namespace, "store", 9000, timeout=30
        )
        with urllib.request.urlopen(forward.url, timeout=10) as answer:
            assert answer.read() == b"hello from the loopback target"
    finally:
        portforward.stop_all()
        httpd.shutdown()
        httpd.server_close()


def test_down_stops_exactly_the_processes_it_started(
    tmp_path: Path, live_env: env.Running, api: k8s_cluster.Cluster
) -> None:
    second = env.up(tmp_path / "second", on_start=process_guard.register)
    try:
        assert {p.name for p in second.processes} == {
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kwok",
        }
        assert all(procs.is_running(p) for p in second.processes)
    finally:
        outcome = env.down(tmp_path / "second")
    assert set(outcome.values()) <= {"terminated", "killed"}
    assert not any(procs.is_running(p) for p in second.processes)
    assert all(procs.is_running(p) for p in live_env.processes)
    assert api.probe() == layout.K8S_VERSION

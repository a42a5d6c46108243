"""The kubernetes target end to end on the real loopback control plane: the namespace and the
store provisioned through PlatformResource (applied by server-side apply, rolled out by the real
Deployment controller, kwok making MinIO's pod Ready), its metadata, the credentials read back
from the live Secret, the in-cluster and https endpoints, what it says before provisioning, an
unknown context and a namespace the overlay does not create; and `rest_catalog` reporting the
rest-catalog component before and after it is applied.

All on `analytics` (the overlay's namespace; the target refuses any other), emptied before each
test by `live_k8s_env` (tests/k8s/live_fixtures.py). A crash loop cannot be shown here (kwok
runs no containers): that case stays on the stand-in in test_target.py. Marked `cluster`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from assets.platform.provision import analytics_namespace
from assets.warehouse.rest_catalog import rest_catalog, rest_catalog_access_control
from platform_defs.errors import PlatformError
from platform_defs.k8s import apply, prepare, render
from platform_defs.k8s.cluster import FIELD_MANAGER, Cluster
from platform_defs.resources.platform import PlatformResource
from platform_defs.targets.kubernetes import KubernetesTarget
from tests.k8s.live_fixtures import CONTEXT, TARGET_NAMESPACE, Kubectl, live_target

pytestmark = pytest.mark.cluster


def _rv(api: Cluster, api_version: str, kind: str, name: str, ns: str | None) -> str:
    found = api.get(api_version, kind, name, ns)
    assert found is not None, f"{kind}/{name} is not on the server"
    return str(found["metadata"]["resourceVersion"])


def test_unknown_context_is_named(
    live_k8s_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_KUBE_CONTEXT", "kind-nope")
    with pytest.raises(PlatformError, match="kind-nope"):
        live_target().cluster()


def test_namespace_asset_materializes_through_the_cluster(
    live_k8s_env: dict[str, str], api: Cluster
) -> None:
    result = dg.materialize([analytics_namespace], resources={"platform": PlatformResource()})
    assert result.success
    meta = result.asset_materializations_for_node("analytics_namespace")[0].metadata
    assert meta["kind"].value == "kubernetes-namespace"
    assert meta["context"].value == CONTEXT
    assert meta["applied"].value == [{"object": "Namespace/analytics", "action": "created"}]
    namespace = api.get("v1", "Namespace", TARGET_NAMESPACE, None)
    assert namespace is not None and namespace["status"]["phase"] == "Active"
    (entry,) = [m for m in namespace["metadata"]["managedFields"] if m["manager"] == FIELD_MANAGER]
    assert entry["operation"] == "Apply"
    # Only the Namespace was written: nothing else of the overlay is there yet.
    assert api.get("apps/v1", "Deployment", "iceberg-minio", TARGET_NAMESPACE) is None
    version = namespace["metadata"]["resourceVersion"]

    again = dg.materialize([analytics_namespace], resources={"platform": PlatformResource()})
    meta = again.asset_materializations_for_node("analytics_namespace")[0].metadata
    assert meta["created"].value is False and meta["changed"].value is False
    assert _rv(api, "v1", "Namespace", TARGET_NAMESPACE, None) == version


def test_store_is_applied_waited_for_and_reported(
    live_k8s_env: dict[str, str], api: Cluster
) -> None:
    info = live_target().ensure_store()

    assert info.action == "applied" and info.backend == "minio"
    assert info.version == "RELEASE.2025-09-07T16-13-09Z"
    details = info.details
    assert details["context"] == CONTEXT
    assert details["ready_replicas"] == {"Deployment/iceberg-minio": 1}
    assert details["in_cluster_endpoint"] == "http://iceberg-minio.analytics.svc.cluster.local:9000"
    assert details["external_endpoint"] == "http://127.0.0.1:9"
    assert {a["action"] for a in details["applied"]} == {"created"}
    # Waited for the real controller: the live Deployment is rolled out when it returns.
    deployment = api.get("apps/v1", "Deployment", "iceberg-minio", TARGET_NAMESPACE)
    assert deployment is not None
    status = deployment["status"]
    assert status["observedGeneration"] == deployment["metadata"]["generation"]
    assert status["updatedReplicas"] == status["availableReplicas"] == 1
    # The credentials are the prepare tool's, read back from the live Secret the pods use.
    generated = Path(live_k8s_env["PLATFORM_MANIFESTS_DIR"]) / "overlays/dev/generated"
    root = json.loads((generated / "root-credentials.json").read_text())
    assert info.endpoint.credentials.access_key == root["access_key"]
    assert info.endpoint.credentials.secret_key == root["secret_key"]
    versions = {a["object"]: _object_rv(api, a["object"]) for a in details["applied"]}

    again = live_target().ensure_store()
    assert again.action == "unchanged" and again.details["changed_objects"] == 0
    assert {a["object"]: _object_rv(api, a["object"]) for a in details["applied"]} == versions


def _object_rv(api: Cluster, object_id: str) -> str:
    kind, name = object_id.split("/")[0], object_id.split("/")[-1]  # Kind[/namespace]/name
    api_version = {
        "Namespace": "v1",
        "Secret": "v1",  # pragma: allowlist secret (the kind's name, no value)
        "Service": "v1",
        "ConfigMap": "v1",
        "PersistentVolumeClaim": "v1",
        "Deployment": "apps/v1",
        "NetworkPolicy": "networking.k8s.io/v1",
        "Ingress": "networking.k8s.io/v1",
        "PodDisruptionBudget": "policy/v1",
    }[kind]
    return _rv(api, api_version, kind, name, None if kind == "Namespace" else TARGET_NAMESPACE)


def test_service_access_inside_the_cluster(
    live_provisioned: KubernetesTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_K8S_STORE_ACCESS", "auto")
    monkeypatch.delenv("PLATFORM_K8S_STORE_URL")
    target = live_target()
    target.cluster()  # connected through the kubeconfig: this process has no service account
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    assert target.access() == "service"
    endpoint = target.endpoint()
    assert endpoint.url == "http://iceberg-minio.analytics.svc.cluster.local:9000"
    assert endpoint.credentials == live_provisioned.endpoint().credentials


def test_https_url_gets_the_generated_ca(
    live_provisioned: KubernetesTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_K8S_STORE_URL", "https://minio.ml-platform.local")
    endpoint = live_target().endpoint()
    assert endpoint.ca_bundle is not None and endpoint.ca_bundle.name == "ca.crt"
    assert endpoint.console_url == "https://minio-console.ml-platform.local"


def test_store_endpoint_before_provisioning_says_what_to_do(
    live_k8s_env: dict[str, str],
) -> None:
    with pytest.raises(PlatformError, match="Materialize `object_store`"):
        live_target().endpoint()


def test_namespace_mismatch_is_a_settings_error(
    live_k8s_env: dict[str, str], api: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_NAMESPACE", "lakehouse")
    with pytest.raises(PlatformError, match="PLATFORM_NAMESPACE=lakehouse"):
        live_target().ensure_namespace()
    assert api.get("v1", "Namespace", "lakehouse", None) is None
    assert api.get("v1", "Namespace", TARGET_NAMESPACE, None) is None, "refused before a write"


# ---- rest_catalog -----------------------------------------------------------------------------
def _materialize_catalog() -> dict[str, Any]:
    result = dg.materialize(
        [rest_catalog, rest_catalog_access_control], resources={"platform": PlatformResource()}
    )
    assert result.success
    (check,) = result.get_asset_check_evaluations()
    assert check.passed and check.metadata["enforced"].value is False
    return {
        k: v.value
        for k, v in result.asset_materializations_for_node("rest_catalog")[0].metadata.items()
    }


def test_catalog_not_applied_says_which_overlay_to_apply(
    live_provisioned: KubernetesTarget,
) -> None:
    meta = _materialize_catalog()
    assert meta["started"] is False
    assert "make install-data-components OVERLAY=dev-rest-catalog" in meta["reason"]


def _catalog_documents(target: KubernetesTarget) -> list[render.Document]:
    manifests = target.settings.resolved_manifests_dir
    prepare.prepare("dev-rest-catalog", manifests_dir=manifests, env={})
    return render.load_documents(render.render(manifests / "overlays" / "dev-rest-catalog"))


def test_the_dev_rest_catalog_overlay_applies_as_rendered(
    live_provisioned: KubernetesTarget,
) -> None:
    """The real server refused this overlay once (422: the rest-catalog component's labels
    transformer relabelled MinIO's pod template, not its selector); the stand-in accepted it."""
    applied = apply.apply_all(live_provisioned.cluster(), _catalog_documents(live_provisioned))
    assert {"Deployment/iceberg-minio", "Deployment/iceberg-rest-catalog"} <= {
        f"{a.kind}/{a.name}" for a in applied
    }


def test_applied_catalog_reports_the_service_url(
    live_provisioned: KubernetesTarget, kubectl: Kubectl
) -> None:
    """The catalog component's own objects applied, rolled out by the real controller; the
    asset reports the Service URL and the live replicas."""
    docs = [
        d
        for d in _catalog_documents(live_provisioned)
        if d["metadata"]["name"].startswith("iceberg-rest-catalog")
    ]
    assert {d["kind"] for d in docs} >= {"Deployment", "Service", "StatefulSet"}
    apply.apply_all(live_provisioned.cluster(), docs)
    (deployment,) = [
        d
        for d in docs
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "iceberg-rest-catalog"
    ]
    kubectl(
        "-n",
        TARGET_NAMESPACE,
        "rollout",
        "status",
        "deployment/iceberg-rest-catalog",
        "--timeout=120s",
        timeout=150,
    )

    meta = _materialize_catalog()

    assert meta["started"] is True
    assert meta["url"] == "http://iceberg-rest-catalog.analytics.svc.cluster.local:8181"
    (svc,) = [
        d
        for d in docs
        if d["kind"] == "Service" and d["metadata"]["name"] == "iceberg-rest-catalog"
    ]
    assert meta["url"].endswith(f":{svc['spec']['ports'][0]['port']}")
    replicas = deployment["spec"]["replicas"]
    assert replicas == 2, "the dev-rest-catalog overlay runs two replicas"
    assert meta["ready_replicas"] == replicas and meta["desired_replicas"] == replicas
    assert "NetworkPolicy only" in meta["access_control"]

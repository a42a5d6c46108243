"""`bootstrap_platform` on the `kubernetes` target, end to end on the loopback control plane.

The real kube-apiserver gets the namespace and MinIO by server-side apply; kwok makes the pod
Ready, so the rollout wait, the PVC binding and the Service's EndpointSlice are the real
controllers' doing; the store is reached through the platform's own `kubectl port-forward`,
which kwok sends to 127.0.0.1:<forward_port>, where `tests/k8s/minio_router.py` answers: a real
SeaweedFS started with the root keys the prepare step generated for MinIO's Secret, and a
stand-in for MinIO's admin API that turns the platform's grants into SeaweedFS identities.

What runs: every asset of the job except `lake_inventory`, with all their checks (the cluster
checks included). `lake_inventory` is the Spark step as a Pipes pod; kwok runs no container, so
the pod would be created and never report. Playing the pod's part here would mean running its
Spark with the pod's environment, which names the in-cluster Service URL and Secret references
the test would have to rewrite: the test would then exercise its own rewriting rather than the
platform. The pod's creation and observation are covered in test_portforward_and_pipes.py.

Twice: the second run must change no object (every applied object's resourceVersion, the
identity Secrets included, is the same after it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from platform_defs.credentials import Credentials
from platform_defs.k8s import cluster as k8s_cluster
from platform_defs.k8s import portforward, prepare, render
from platform_defs.settings import load_settings
from tests.k8s.minio_router import AdminStandIn, Router
from tests.manifests.conftest import copy_manifests
from tests.s3_servers import local_store_server
from tools.k8s_testenv import env

pytestmark = pytest.mark.cluster
# The Spark Pipes pod: created but never run under kwok (see the module docstring).
NOT_RUN = {dg.AssetKey("lake_inventory")}
NAMESPACE = "analytics"


@pytest.fixture
def store_behind_forward(
    live_env: env.Running, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, Router]]:
    """Prepared manifests, SeaweedFS with MinIO's generated root keys, and the router on kwok's
    forward port; the PLATFORM_* of the kubernetes target pointing at the live cluster."""
    manifests = copy_manifests(tmp_path / "scratch")
    prepared = prepare.prepare("dev", manifests_dir=manifests, env={})
    raw = json.loads((prepared.generated_dir / "root-credentials.json").read_text())
    root = Credentials(raw["access_key"], raw["secret_key"])
    settings_env = {
        "PLATFORM_TARGET": "kubernetes",
        "PLATFORM_KUBECONFIG": str(live_env.kubeconfig),
        "PLATFORM_MANIFESTS_DIR": str(manifests),
        "PLATFORM_K8S_OVERLAY": "dev",
        "PLATFORM_K8S_STORE_ACCESS": "port-forward",
        "PLATFORM_K8S_ROLLOUT_TIMEOUT_SECONDS": "120",
    }
    for key, value in settings_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KUBECACHEDIR", str(live_env.state / "kubecache"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    bucket = load_settings().bucket
    with local_store_server(tmp_path / "weed", "seaweedfs", root) as server:
        assert server.store is not None
        s3_port = int(server.endpoint.url.rsplit(":", 1)[1])
        router = Router(live_env.forward_port, s3_port, AdminStandIn(server.store, bucket, root))
        try:
            yield manifests, router
        finally:
            portforward.stop_all()
            router.close()


def _job() -> dg.JobDefinition:
    """`bootstrap_platform`'s own selection without `lake_inventory`, in the code location's
    definitions. Those were loaded once per session at first import; loaded under the local
    target they lack the cluster checks, which are added here as the kubernetes target adds
    them."""
    from assets.cluster_checks import CHECKS
    from platform_defs import definitions
    from platform_defs.jobs import bootstrap_platform

    job = dg.define_asset_job(
        "bootstrap_platform_but_spark",
        selection=bootstrap_platform.selection - dg.AssetSelection.assets(*NOT_RUN),
        executor_def=dg.in_process_executor,
    )
    checks = [] if definitions.settings.target == "kubernetes" else list(CHECKS)
    extra = dg.Definitions(jobs=[job], asset_checks=checks)
    return dg.Definitions.merge(definitions.defs, extra).resolve_job_def(job.name)


def _run() -> dg.ExecuteInProcessResult:
    return _job().execute_in_process(instance=dg.DagsterInstance.ephemeral())


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def _meta(result: dg.ExecuteInProcessResult, key: str) -> dict[str, Any]:
    (mat,) = result.asset_materializations_for_node(key)
    return {k: v.value for k, v in mat.metadata.items()}


def _versions(api: k8s_cluster.Cluster, docs: list[render.Document]) -> dict[str, str]:
    """resourceVersion of every object the platform applies: the rendered overlay and every
    Secret in the namespace (root's, TLS, the identities' own that service_identities writes)."""
    out = {}
    for doc in docs:
        meta = doc["metadata"]
        live = api.get(doc["apiVersion"], doc["kind"], meta["name"], meta.get("namespace"))
        assert live is not None, f"{doc['kind']}/{meta['name']} is not on the cluster"
        out[f"{doc['kind']}/{meta['name']}"] = live["metadata"]["resourceVersion"]
    for secret in api.list("v1", "Secret", NAMESPACE):
        out[f"Secret/{secret['metadata']['name']}"] = secret["metadata"]["resourceVersion"]
    return out


def test_bootstrap_dev_end_to_end_and_a_second_run_changes_nothing(
    live_env: env.Running, store_behind_forward: tuple[Path, Router]
) -> None:
    manifests, router = store_behind_forward
    assets = {a.to_user_string() for a in _job().asset_layer.selected_asset_keys}
    assert assets == {
        "platform_preflight",
        "analytics_namespace",
        "object_store",
        "datalake_bucket",
        "service_identities",
        "iceberg_warehouse",
        "rest_catalog",
    }
    first = _run()
    assert first.success
    checks = _checks(first)
    assert checks and all(checks.values()), checks
    for name in (
        "minio_service_has_endpoints",
        "minio_workload_available",
        "object_store_healthy",
        "datalake_bucket_writable",
        "service_identities_least_privilege",
    ):
        assert checks.get(name) is True, (name, checks)
    store = _meta(first, "object_store")
    assert store["ready_replicas"] == {"Deployment/iceberg-minio": 1}
    assert store["external_endpoint"].startswith("http://127.0.0.1:")
    assert _meta(first, "datalake_bucket")["created"] is True
    assert _meta(first, "service_identities")["managed_by"] == "minio-admin-api"
    assert "POST idp/builtin/policy/attach" in router.admin.calls
    assert router.relayed > 0, "no S3 request reached SeaweedFS through the port-forward"

    api = k8s_cluster.connect(k8s_cluster.ClusterTarget(kubeconfig=live_env.kubeconfig))
    docs = render.load_documents(render.render(manifests / "overlays" / "dev"))
    before = _versions(api, docs)
    assert any(name.startswith("Secret/") and "spark" in name for name in before), before

    second = _run()
    assert second.success
    assert all(_checks(second).values()), _checks(second)
    assert _meta(second, "object_store")["action"] == "unchanged"
    assert _meta(second, "datalake_bucket")["created"] is False
    assert _meta(second, "service_identities")["created"] == "(none)"
    assert _versions(api, docs) == before

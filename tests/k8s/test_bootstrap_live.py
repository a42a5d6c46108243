"""`bootstrap_platform` on the `kubernetes` target, end to end on the loopback control plane.

The real kube-apiserver gets the namespace and MinIO by server-side apply; kwok makes the pod
Ready, so the rollout wait, the PVC binding and the Service's EndpointSlice are the real
controllers' doing; the store is reached through the platform's own `kubectl port-forward`,
which kwok sends to 127.0.0.1:<forward_port>, where `tests/k8s/minio_router.py` answers: a real
SeaweedFS started with the root keys the prepare step generated for MinIO's Secret, and a
stand-in for MinIO's admin API that turns the platform's grants into SeaweedFS identities.

What runs: every asset of the job and all their checks (the cluster checks included), the Spark
step too. `lake_inventory` creates its Pipes pod through the real apiserver with
`PipesK8sClient`; kwok schedules it and marks it Running but runs no container, so the test plays
the kubelet for it and for nothing else (`tests/k8s/spark_kubelet.py`): it runs the container's
command (the real Spark job, local Spark) with the pod's environment, the Secret values the pod
references read from the live `spark` identity Secret (asserted: never root's), and the Service
URL resolved to the router as cluster DNS would; it writes the output to the CRI log file kwok
serves for the container, and reports the exit through kwok's `container-exit` stage. So the
Pipes messages reach Dagster through the real apiserver -> kwok log path, the materialization's
metadata (row count, checks) is the Spark job's, and the Iceberg table is written through the
router to SeaweedFS with the spark identity's keys. Why play it rather than leave the step out:
the step is the job's only consumer of the identities, the Secret wiring and the Pipes path.

Twice: the second run must change no object (every applied object's resourceVersion, the
identity Secrets included, is the same after it), and then there is no drift. The Pipes pod is
new in each run (created and deleted by the step, as on any cluster); it is not an applied
object and is the only object left out of that comparison.

The prod overlay runs as its operator would run it on this cluster: settings.env names the
cluster's StorageClass (`local-path`) and the cluster has volumes of prod's drive size. Its
Certificate is applied (the CRD is served) but never issued: no cert-manager controller runs,
and nothing in the bootstrap waits for it (the TLS Secret is the Ingresses', not MinIO's).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from platform_defs import identities
from platform_defs.credentials import Credentials
from platform_defs.iceberg.table_metadata import ROW_COUNT
from platform_defs.k8s import cluster as k8s_cluster
from platform_defs.k8s import identity_secrets, portforward, prepare, render
from platform_defs.resources.platform import PlatformResource
from platform_defs.settings import load_settings
from platform_defs.targets.kubernetes import KubernetesTarget
from tests.k8s.minio_router import AdminStandIn, Router
from tests.k8s.spark_kubelet import SparkKubelet
from tests.manifests.conftest import copy_manifests
from tests.s3_servers import local_store_server
from tools.k8s_testenv import env, seed

pytestmark = pytest.mark.cluster
NAMESPACE = "analytics"
STORAGE_CLASS = "local-path"  # the session's default StorageClass (tools/k8s_testenv/seed.py)
PROD_DRIVES, PROD_DRIVE_SIZE = 8, "100Gi"  # prod: 4 pods x 2 drives of 100Gi
WORKLOAD = {"dev": "Deployment/iceberg-minio", "prod": "StatefulSet/iceberg-minio"}
REPLICAS = {"dev": 1, "prod": 4}


def _kubectl(live_env: env.Running, *args: str) -> str:
    return seed.kubectl(live_env.state, live_env.kubeconfig, list(args), timeout=180)


def _fresh_namespace(live_env: env.Running) -> None:
    """No `analytics` left by an earlier test (the dev overlay test of test_testenv.py applies
    there too): each bootstrap starts on an empty namespace, as on a new cluster."""
    _kubectl(live_env, "delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true")


def _prod_storage(live_env: env.Running, manifests: Path, tmp_path: Path) -> list[str]:
    """What the operator of a prod cluster provides: settings.env names this cluster's
    StorageClass, and there are volumes as large as prod's drives (8 x 100Gi; the session's
    pool has 16Gi ones). Nothing is written to them: kwok runs no container."""
    env_file = manifests / "overlays" / "prod" / "settings.env"
    text = env_file.read_text()
    assert "STORAGE_CLASS=standard" in text
    env_file.write_text(text.replace("STORAGE_CLASS=standard", f"STORAGE_CLASS={STORAGE_CLASS}"))
    names = [f"prod-drive-{uuid.uuid4().hex[:6]}-{i}" for i in range(PROD_DRIVES)]
    volumes = []
    for name in names:
        pv = seed.volume(0, tmp_path / "pv")
        pv["metadata"] = {"name": name}
        pv["spec"]["capacity"]["storage"] = PROD_DRIVE_SIZE
        pv["spec"]["hostPath"]["path"] = str(tmp_path / "pv" / name)
        volumes.append(pv)
    listing = tmp_path / "prod-volumes.json"
    listing.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": volumes}))
    _kubectl(live_env, "apply", "--server-side", "--field-manager=test", "-f", str(listing))
    return names


@pytest.fixture(params=["dev", "prod"])
def store_behind_forward(
    request: pytest.FixtureRequest,
    live_env: env.Running,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[str, Path, Router, SparkKubelet]]:
    """Prepared manifests of the overlay, SeaweedFS with MinIO's generated root keys, the
    router on kwok's forward port and the Spark container's kubelet stand-in; the PLATFORM_* of
    the kubernetes target pointing at the live cluster. Stops the stand-in, the router and
    SeaweedFS and deletes the namespace (and prod's volumes)."""
    overlay = str(request.param)
    manifests = copy_manifests(tmp_path / "scratch")
    prepared = prepare.prepare(overlay, manifests_dir=manifests, env={})
    raw = json.loads((prepared.generated_dir / "root-credentials.json").read_text())
    root = Credentials(raw["access_key"], raw["secret_key"])
    settings_env = {
        "PLATFORM_TARGET": "kubernetes",
        "PLATFORM_KUBECONFIG": str(live_env.kubeconfig),
        "PLATFORM_MANIFESTS_DIR": str(manifests),
        "PLATFORM_K8S_OVERLAY": overlay,
        "PLATFORM_K8S_STORE_ACCESS": "port-forward",
        "PLATFORM_K8S_ROLLOUT_TIMEOUT_SECONDS": "120",
    }
    for key, value in settings_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KUBECACHEDIR", str(live_env.state / "kubecache"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    bucket = load_settings().bucket
    _fresh_namespace(live_env)
    volumes = _prod_storage(live_env, manifests, tmp_path) if overlay == "prod" else []
    try:
        with local_store_server(tmp_path / "weed", "seaweedfs", root) as server:
            assert server.store is not None
            s3_port = int(server.endpoint.url.rsplit(":", 1)[1])
            admin = AdminStandIn(server.store, bucket, root)
            router = Router(live_env.forward_port, s3_port, admin)
            store_url = f"http://127.0.0.1:{live_env.forward_port}"  # the pod behind the Service
            kubelet = SparkKubelet(live_env.kubeconfig, live_env.state, NAMESPACE, store_url)
            try:
                yield overlay, manifests, router, kubelet
            finally:
                kubelet.close()
                portforward.stop_all()
                router.close()
    finally:
        _fresh_namespace(live_env)
        if volumes:
            _kubectl(live_env, "delete", "pv", *volumes, "--ignore-not-found", "--wait=false")


def _job() -> dg.JobDefinition:
    """`bootstrap_platform`'s own selection, in the code location's definitions. Those were loaded once per session at first import; loaded under the local
    target they lack the cluster checks, which are added here as the kubernetes target adds
    them."""
    from assets.cluster.checks import CHECKS
    from assets.platform.jobs import bootstrap_platform
    from platform_defs import definitions

    job = dg.define_asset_job(
        "bootstrap_platform_on_kwok",
        selection=bootstrap_platform.selection,
        executor_def=dg.in_process_executor,
    )
    checks = [] if definitions.settings.target == "kubernetes" else list(CHECKS)
    extra = dg.Definitions(jobs=[job], asset_checks=checks)
    return dg.Definitions.merge(definitions.defs, extra).resolve_job_def(job.name)


def _run() -> dg.ExecuteInProcessResult:
    instance = dg.DagsterInstance.ephemeral()
    result = _job().execute_in_process(instance=instance, raise_on_error=False)
    _PIPES_WARNINGS[result.run_id] = [
        str(e.user_message)
        for e in instance.all_logs(result.run_id)
        if str(e.user_message).startswith("[pipes] did not receive")
    ]
    return result


# Per run: Dagster's warnings that the Spark process's messages (or its `closed`) never came.
_PIPES_WARNINGS: dict[str, list[str]] = {}


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


def _assert_spark_step(result: dg.ExecuteInProcessResult, kubelet: SparkKubelet, runs: int) -> None:
    """The Spark step ran once more in its own pod, read only the spark identity's Secret, and
    the materialization's metadata is what its Pipes messages carried."""
    assert len(kubelet.ran) == runs, kubelet.ran
    ran = kubelet.ran[-1]
    assert ran.exit_code == 0, ran
    spark_secret = identity_secrets.secret_name(identities.SPARK)
    assert ran.secrets_read == {spark_secret}, ran.secrets_read
    assert not any("root" in name for name in ran.secrets_read), ran.secrets_read
    meta = _meta(result, "lake_inventory")
    assert isinstance(meta.get(ROW_COUNT), int) and meta[ROW_COUNT] > 0, meta
    assert meta.get("spark_skipped") is not True, meta
    assert _PIPES_WARNINGS[result.run_id] == [], "the Pipes closed message did not come through"


def test_bootstrap_end_to_end_and_a_second_run_changes_nothing(
    live_env: env.Running, store_behind_forward: tuple[str, Path, Router, SparkKubelet]
) -> None:
    overlay, manifests, router, kubelet = store_behind_forward
    assets = {a.to_user_string() for a in _job().asset_layer.selected_asset_keys}
    assert assets == {
        "platform_preflight",
        "analytics_namespace",
        "object_store",
        "datalake_bucket",
        "service_identities",
        "iceberg_warehouse",
        "rest_catalog",
        "lake_inventory",
    }
    first = _run()
    assert kubelet.errors == [], kubelet.errors
    assert first.success
    checks = _checks(first)
    assert checks and all(checks.values()), checks
    for name in (
        "minio_service_has_endpoints",
        "minio_workload_available",
        "object_store_healthy",
        "datalake_bucket_writable",
        "service_identities_least_privilege",
        "lake_inventory_no_duplicate_prefixes",
        "readable_by_pyiceberg",
        "spark_and_pyiceberg_agree",
    ):
        assert checks.get(name) is True, (name, checks)
    store = _meta(first, "object_store")
    assert store["ready_replicas"] == {WORKLOAD[overlay]: REPLICAS[overlay]}
    assert store["external_endpoint"].startswith("http://127.0.0.1:")
    assert _meta(first, "datalake_bucket")["created"] is True
    assert _meta(first, "service_identities")["managed_by"] == "minio-admin-api"
    assert "POST idp/builtin/policy/attach" in router.admin.calls
    assert router.relayed > 0, "no S3 request reached SeaweedFS through the port-forward"
    _assert_spark_step(first, kubelet, runs=1)

    api = k8s_cluster.connect(k8s_cluster.ClusterTarget(kubeconfig=live_env.kubeconfig))
    docs = render.load_documents(render.render(manifests / "overlays" / overlay))
    before = _versions(api, docs)
    assert any(name.startswith("Secret/") and "spark" in name for name in before), before

    second = _run()
    assert kubelet.errors == [], kubelet.errors
    assert second.success
    assert all(_checks(second).values()), _checks(second)
    assert _meta(second, "object_store")["action"] == "unchanged"
    assert _meta(second, "datalake_bucket")["created"] is False
    assert _meta(second, "service_identities")["created"] == "(none)"
    _assert_spark_step(second, kubelet, runs=2)
    assert _versions(api, docs) == before
    target = PlatformResource().target()
    assert isinstance(target, KubernetesTarget)
    assert target.drift() == [], "the live objects differ from the rendered overlay"

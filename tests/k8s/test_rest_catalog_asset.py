"""`rest_catalog` on the kubernetes target, against the stand-in API server: it reports the
in-cluster URL once the rest-catalog component is applied, and says how to apply it before."""

from __future__ import annotations

from typing import Any

import dagster as dg

from assets.warehouse.rest_catalog import rest_catalog, rest_catalog_access_control
from platform_defs.k8s import apply, prepare, render
from platform_defs.resources.platform import PlatformResource
from platform_defs.targets.kubernetes import KubernetesTarget
from tests.k8s.conftest import READY
from tests.k8s.fake_apiserver import FakeApiServer

CATALOG_DEPLOYMENT = "/apis/apps/v1/namespaces/analytics/deployments/iceberg-rest-catalog"


def _materialize() -> dict[str, Any]:
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


def test_not_applied_says_which_overlay_to_apply(provisioned: KubernetesTarget) -> None:
    meta = _materialize()
    assert meta["started"] is False
    assert "make install-data-components OVERLAY=dev-rest-catalog" in meta["reason"]


def test_applied_component_reports_the_service_url(
    provisioned: KubernetesTarget, fake: FakeApiServer
) -> None:
    manifests = provisioned.settings.resolved_manifests_dir
    prepare.prepare("dev-rest-catalog", manifests_dir=manifests, env={})
    docs = render.load_documents(render.render(manifests / "overlays" / "dev-rest-catalog"))
    fake.status_script[CATALOG_DEPLOYMENT] = [{**READY, "replicas": 2, "readyReplicas": 2}]
    apply.apply_all(provisioned.cluster(), docs)

    meta = _materialize()

    assert meta["started"] is True
    assert meta["url"] == "http://iceberg-rest-catalog.analytics.svc.cluster.local:8181"
    svc = next(
        d
        for d in docs
        if d["kind"] == "Service" and d["metadata"]["name"] == "iceberg-rest-catalog"
    )
    assert meta["url"].endswith(f":{svc['spec']['ports'][0]['port']}")
    assert meta["ready_replicas"] == 2 and meta["desired_replicas"] == 2
    assert "NetworkPolicy only" in meta["access_control"]

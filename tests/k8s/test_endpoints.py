"""The Service-endpoints check reads EndpointSlices (discovery.k8s.io/v1) and names the pods that
are not ready or not published, from EndpointSlice/Pod lists in a real server's format
(fixtures/endpointslices_*.json, pod IPs from 192.0.2.0/24)."""

from __future__ import annotations

import json

import pytest

from assets.cluster.checks import minio_service_has_endpoints
from platform_defs.k8s import endpoints
from platform_defs.resources.platform import PlatformResource
from platform_defs.targets.kubernetes import KubernetesTarget
from tests.k8s.conftest import FIXTURES
from tests.k8s.fake_apiserver import FakeApiServer


def _lists(name: str) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    data = json.loads((FIXTURES / f"endpointslices_{name}.json").read_text())
    by_kind = {item["kind"]: item["items"] for item in data["lists"]}
    slices = [
        s
        for s in by_kind["EndpointSliceList"]
        if s["metadata"]["labels"]["kubernetes.io/service-name"] == "iceberg-minio"
    ]
    return slices, by_kind["PodList"]


def test_partly_ready_names_the_pods_that_are_not() -> None:
    found = endpoints.evaluate("iceberg-minio", *_lists("partly_ready"))
    assert found.passed and found.slices == 1
    assert [str(e) for e in found.ready] == [
        "iceberg-minio-0 (192.0.2.11)",
        "iceberg-minio-1 (192.0.2.12)",
    ]
    assert [str(e) for e in found.not_ready] == ["iceberg-minio-2 (192.0.2.13): not ready"]
    assert found.unpublished == ("iceberg-minio-3 (Pending, no IP yet)",)
    text = found.describe()
    assert text.startswith("Service iceberg-minio: 2 of 4 endpoint(s) ready")
    assert "not ready: iceberg-minio-2 (192.0.2.13): not ready" in text


def test_no_slice_for_ready_pods_points_at_the_controller() -> None:
    found = endpoints.evaluate("iceberg-minio", *_lists("none_published"))
    assert not found.passed and found.slices == 0
    text = found.describe()
    assert "0 of 2 endpoint(s) ready" in text
    assert "in no EndpointSlice: iceberg-minio-0 (Running, 127.0.0.11)" in text
    assert "127.0.0.0/8" in text and "kube-controller-manager" in text


def test_a_pod_in_two_slices_counts_once_and_terminating_is_named() -> None:
    found = endpoints.evaluate("iceberg-minio", *_lists("rolling"))
    assert found.slices == 2
    assert [str(e) for e in found.endpoints] == [
        "iceberg-minio-0 (192.0.2.11): terminating",
        "iceberg-minio-1 (192.0.2.12)",
    ]
    assert found.passed and found.unpublished == ()


def test_a_missing_ready_condition_means_ready() -> None:
    """The API: "A nil value should be interpreted as true"."""
    slice_ = {"addressType": "IPv4", "endpoints": [{"addresses": ["192.0.2.40"], "conditions": {}}]}
    found = endpoints.evaluate("s", [slice_], [])
    assert [str(e) for e in found.ready] == ["192.0.2.40 (192.0.2.40)"]


@pytest.mark.parametrize(("fixture", "passed"), [("partly_ready", True), ("none_published", False)])
def test_the_check_reads_slices_never_the_legacy_endpoints(
    provisioned: KubernetesTarget, fake: FakeApiServer, fixture: str, passed: bool
) -> None:
    """Which API the check reads (and with which selectors) is visible only in a request log:
    on the stand-in because the testenv's kube-apiserver keeps no audit log. The check's
    verdicts on real slices are in test_fixes_live.py and test_drift_and_checks_live.py; a
    published not-ready endpoint is not shown there (kwok makes every pod with an IP Ready)."""
    fake.load_fixture(FIXTURES / f"endpointslices_{fixture}.json")
    fake.requests.clear()
    result = minio_service_has_endpoints(platform=PlatformResource())
    assert result.passed is passed
    paths = [r.path for r in fake.requests]
    assert "/apis/discovery.k8s.io/v1/namespaces/analytics/endpointslices" in paths
    assert not [p for p in paths if "/endpoints" in p and "endpointslices" not in p]
    (listing,) = [r for r in fake.requests if r.path.endswith("/endpointslices")]
    assert listing.query["labelSelector"] == ["kubernetes.io/service-name=iceberg-minio"]
    (pods,) = [r for r in fake.requests if r.path.endswith("/pods")]
    assert pods.query["labelSelector"] == [
        "app.kubernetes.io/instance=iceberg-minio,app.kubernetes.io/name=minio"
    ]
    if passed:
        assert result.metadata["ready_endpoints"].value == 2
        assert result.metadata["not_ready"].value == ["iceberg-minio-2 (192.0.2.13): not ready"]
    else:
        assert "in no EndpointSlice" in (result.description or "")

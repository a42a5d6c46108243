"""Both overlays render offline and pass strict schema validation for old and new Kubernetes.

kubernetes-validate has no schemas for CRDs (cert-manager's Certificate, the Prometheus
Operator's ServiceMonitor): it warns and skips them. The tests accept exactly those warnings
and check the CRD objects' few important fields by hand instead.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from platform_defs.errors import ManifestError
from platform_defs.k8s import prepare, render

from .conftest import OVERLAYS, Rendered

K8S_VERSIONS = ("1.31.0", "1.37.0")
CRD_KINDS = ("Certificate", "ServiceMonitor")


def _validate(text: str, version: str, tmp_path: Path) -> tuple[int, list[str]]:
    path = tmp_path / "rendered.yaml"
    path.write_text(text)
    tool = render.find_tool("kubernetes-validate")
    proc = subprocess.run(
        [str(tool), "--strict", "-k", version, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, (proc.stdout + proc.stderr).splitlines()


def _assert_valid(text: str, version: str, tmp_path: Path) -> None:
    code, lines = _validate(text, version, tmp_path)
    docs = render.load_documents(text)
    errors = [ln for ln in lines if not ln.startswith(("INFO", "WARN"))]
    assert code == 0 and not errors, "\n".join(lines)
    warnings = [ln for ln in lines if ln.startswith("WARN")]
    for line in warnings:
        assert any(f"schema for kind {k} " in line for k in CRD_KINDS), line
    crd_docs = [d for d in docs if d["kind"] in CRD_KINDS]
    assert len(warnings) == len(crd_docs)
    passed = [ln for ln in lines if ln.startswith("INFO") and " passed " in ln]
    assert len(passed) == len(docs) - len(crd_docs)


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_passes_strict_validation(
    rendered: dict[str, Rendered], overlay: str, version: str, tmp_path: Path
) -> None:
    _assert_valid(rendered[overlay].text, version, tmp_path)


def test_strict_validation_is_really_strict(rendered: dict[str, Rendered], tmp_path: Path) -> None:
    """Guards the test above: an unknown field must make the validator fail."""
    doc = rendered["dev"].one("Deployment", "iceberg-minio")
    bad = yaml.safe_load(yaml.safe_dump(doc))
    bad["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    code, lines = _validate(yaml.safe_dump(bad), K8S_VERSIONS[-1], tmp_path)
    assert code != 0, lines


@pytest.fixture(scope="module")
def with_monitoring(prepared_manifests: Path) -> Rendered:
    """The dev overlay plus the optional ServiceMonitor component."""
    path = prepared_manifests / "overlays" / "dev-monitoring"
    path.mkdir(exist_ok=True)
    (path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [../dev]\ncomponents: [../../components/monitoring]\n"
    )
    text = render.render(path)
    return Rendered("dev-monitoring", path, text, render.load_documents(text))


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_monitoring_component_renders_and_only_warns_for_its_crd(
    with_monitoring: Rendered, version: str, tmp_path: Path
) -> None:
    _assert_valid(with_monitoring.text, version, tmp_path)


def test_service_monitor_scrapes_the_client_service_once(with_monitoring: Rendered) -> None:
    sm = with_monitoring.one("ServiceMonitor", "iceberg-minio")
    selector = sm["spec"]["selector"]["matchLabels"]
    services = [
        s
        for s in with_monitoring.kinds("Service")
        if selector.items() <= s["metadata"]["labels"].items()
    ]
    assert [s["metadata"]["name"] for s in services] == ["iceberg-minio"]
    port_names = {p["name"] for p in services[0]["spec"]["ports"]}
    assert {e["port"] for e in sm["spec"]["endpoints"]} <= port_names
    assert all(e["path"].startswith("/minio/v2/metrics/") for e in sm["spec"]["endpoints"])
    assert sm["spec"]["namespaceSelector"]["matchNames"] == ["analytics"]


def test_prod_certificate_covers_the_ingress_hosts(rendered: dict[str, Rendered]) -> None:
    prod = rendered["prod"]
    cert = prod.one("Certificate", "minio-tls")
    ingresses = prod.kinds("Ingress")
    hosts = {h for i in ingresses for t in i["spec"]["tls"] for h in t["hosts"]}
    assert set(cert["spec"]["dnsNames"]) == hosts == set(prepare.HOSTS)
    secret_names = {t["secretName"] for i in ingresses for t in i["spec"]["tls"]}
    assert secret_names == {cert["spec"]["secretName"]}
    settings = dict(
        line.split("=", 1)
        for line in (prod.path / "settings.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    issuer = cert["spec"]["issuerRef"]
    assert issuer["name"] == settings["CERT_ISSUER_NAME"]
    assert issuer["kind"] == settings["CERT_ISSUER_KIND"] in ("Issuer", "ClusterIssuer")
    assert not prod.kinds("ConfigMap"), "the settings ConfigMap is local-config only"


def test_rendering_without_prepare_explains_what_to_run(scratch_manifests: Path) -> None:
    with pytest.raises(ManifestError, match=r"platform_defs\.k8s\.prepare --overlay dev"):
        render.render(scratch_manifests / "overlays" / "dev")

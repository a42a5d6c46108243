"""The rendered objects do what the issue asks: names, ports, probes, storage, topology."""

from __future__ import annotations

from typing import Any

import yaml

from platform_defs.k8s import prepare

from .conftest import REPO, Rendered

IMAGE = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def _workload(r: Rendered) -> dict[str, Any]:
    return r.one("Deployment" if r.overlay == "dev" else "StatefulSet", "iceberg-minio")


def test_namespace_and_service_give_the_guides_endpoint(rendered: dict[str, Rendered]) -> None:
    for r in rendered.values():
        ns = r.one("Namespace", "analytics")
        assert ns["metadata"]["labels"]["component"] == "data-infrastructure"
        assert ns["metadata"]["labels"]["tier"] == "data"
        svc = r.one("Service", "iceberg-minio")
        assert svc["metadata"]["namespace"] == "analytics"
        assert {p["name"]: p["port"] for p in svc["spec"]["ports"]} == {
            "api": 9000,
            "console": 9001,
        }
        pod_labels = _workload(r)["spec"]["template"]["metadata"]["labels"]
        assert svc["spec"]["selector"].items() <= pod_labels.items()
        assert all(
            d["metadata"].get("namespace") == "analytics"
            for d in r.docs
            if d["kind"] != "Namespace"
        )


def test_probes_env_and_security_of_the_minio_container(rendered: dict[str, Rendered]) -> None:
    for r in rendered.values():
        workload = _workload(r)
        c = _container(workload)
        assert c["image"] == IMAGE
        assert c["livenessProbe"]["httpGet"]["path"] == "/minio/health/live"
        assert c["readinessProbe"]["tcpSocket"]["port"] in (9000, "api")
        startup = c["startupProbe"]
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 300, "slow starts survive"
        env = _env(c)
        assert env["MINIO_PROMETHEUS_AUTH_TYPE"] == "public"
        assert env["MINIO_SERVER_URL"] == f"https://{prepare.API_HOST}"
        assert env["MINIO_BROWSER_REDIRECT_URL"] == f"https://{prepare.CONSOLE_HOST}"
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["fsGroup"] == 1000
        assert pod["securityContext"]["fsGroupChangePolicy"] == "OnRootMismatch"
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]
        assert pod["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
        # The console verifies MINIO_SERVER_URL with the ingress CA mounted as --certs-dir/CAs.
        assert "--certs-dir=/etc/minio/certs" in c["args"]
        assert "emptyDir" in volumes[mounts["/etc/minio/certs"]]
        ca = volumes[mounts["/etc/minio/certs/CAs"]]["secret"]
        assert ca["items"] == [{"key": "ca.crt", "path": "ca.crt"}] and ca["optional"] is True
        tls_names = {t["secretName"] for i in r.kinds("Ingress") for t in i["spec"]["tls"]}
        assert tls_names == {ca["secretName"]}


def test_dev_is_single_node_on_local_path(rendered: dict[str, Rendered]) -> None:
    dev = rendered["dev"]
    deploy = dev.one("Deployment", "iceberg-minio")
    assert deploy["spec"]["replicas"] == 1
    assert deploy["spec"]["strategy"] == {"type": "Recreate"}
    pvc = dev.one("PersistentVolumeClaim", "iceberg-minio")
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "8Gi"
    assert pvc["spec"]["storageClassName"] == "local-path"
    anti = deploy["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in anti
    res = _container(deploy)["resources"]
    assert res == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "1000m", "memory": "1Gi"},
    }
    assert not dev.kinds("StatefulSet")


def test_prod_is_distributed_with_hard_anti_affinity(rendered: dict[str, Rendered]) -> None:
    prod = rendered["prod"]
    sts = prod.one("StatefulSet", "iceberg-minio")
    assert sts["spec"]["replicas"] >= 4
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    hl = prod.one("Service", "iceberg-minio-hl")
    assert hl["spec"]["clusterIP"] == "None" and hl["spec"]["publishNotReadyAddresses"] is True
    anti = sts["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert (
        anti["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"]
        == "kubernetes.io/hostname"
    )
    assert not prod.kinds("Deployment") and not prod.kinds("PersistentVolumeClaim")
    assert _container(sts)["resources"]["limits"]["memory"] == "8Gi"
    for claim in sts["spec"]["volumeClaimTemplates"]:
        assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"
        assert claim["spec"]["storageClassName"] == "standard"


def test_prod_network_policy_is_stricter_than_dev(rendered: dict[str, Rendered]) -> None:
    def peers(r: Rendered) -> list[dict[str, Any]]:
        np = r.one("NetworkPolicy", "iceberg-minio")
        return [p for rule in np["spec"]["ingress"] for p in rule["from"]]

    assert {} in [p.get("podSelector") for p in peers(rendered["dev"])]
    assert all(p.get("podSelector") != {} for p in peers(rendered["prod"]))
    monitoring = [
        p for p in peers(rendered["prod"]) if "namespaceSelector" in p and "monitoring" in str(p)
    ]
    assert monitoring and all("podSelector" in p for p in monitoring)


def test_ingresses_route_hosts_and_protect_only_the_console(rendered: dict[str, Rendered]) -> None:
    for r in rendered.values():
        api = r.one("Ingress", "minio-ingress")
        console = r.one("Ingress", "minio-console-ingress")
        assert api["spec"]["rules"][0]["host"] == prepare.API_HOST
        assert console["spec"]["rules"][0]["host"] == prepare.CONSOLE_HOST
        assert "nginx.ingress.kubernetes.io/auth-type" not in api["metadata"]["annotations"]
        notes = console["metadata"]["annotations"]
        assert notes["nginx.ingress.kubernetes.io/auth-type"] == "basic"
        auth = r.one("Secret", notes["nginx.ingress.kubernetes.io/auth-secret"])
        assert set(auth["data"]) == {"auth"}


def test_every_secret_reference_resolves(rendered: dict[str, Rendered]) -> None:
    for r in rendered.values():
        names = {s["metadata"]["name"] for s in r.kinds("Secret")}
        if r.overlay == "prod":
            names.add(r.one("Certificate", "minio-tls")["spec"]["secretName"])
        pod = _workload(r)["spec"]["template"]["spec"]
        refs = {
            e["valueFrom"]["secretKeyRef"]["name"]
            for e in pod["containers"][0]["env"]
            if "valueFrom" in e
        }
        refs |= {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
        refs |= {t["secretName"] for i in r.kinds("Ingress") for t in i["spec"]["tls"]}
        assert refs <= names, refs - names
        if r.overlay == "dev":
            tls_secret = next(s for s in r.kinds("Secret") if s["type"] == "kubernetes.io/tls")
            assert set(tls_secret["data"]) == {"tls.crt", "tls.key", "ca.crt"}


def test_environment_values_live_only_in_overlays() -> None:
    """Storage classes are an environment choice; the shared pieces must not pick one."""
    shared = [
        *sorted((REPO / "manifests/base").rglob("*.yaml")),
        *sorted((REPO / "manifests/components").rglob("*.yaml")),
    ]
    assert shared
    for path in shared:
        for doc in yaml.safe_load_all(path.read_text()):
            assert "'storageClassName'" not in repr(doc), path
    for overlay in ("dev", "prod"):
        kust = yaml.safe_load(
            (REPO / "manifests/overlays" / overlay / "kustomization.yaml").read_text()
        )
        assert kust["images"] == [
            {"name": "quay.io/minio/minio", "newTag": IMAGE.rsplit(":", 1)[1]}
        ]

"""The optional REST catalog component: what it renders, how it is locked down, what catches a
broken copy. Rendered through the committed `<overlay>-rest-catalog` overlays, prepared by the
tool, as a user would apply them."""

from __future__ import annotations

import base64
import copy
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from platform_defs.k8s import prepare
from platform_defs.k8s.render import Document
from tools import catalog_policies
from tools import manifest_policies as policies

from .conftest import CATALOG_OVERLAYS, REPO, Rendered
from .test_policies import CONTAINER_CASES
from .test_render import K8S_VERSIONS, _assert_valid

CATALOG_IMAGE = "docker.io/apache/iceberg-rest-fixture:1.10.0"
POSTGRES_IMAGE = "docker.io/library/postgres:17.6"
CATALOG_URL = "http://iceberg-rest-catalog.analytics.svc.cluster.local:8181"
CATALOG_OBJECTS = {
    "Deployment/iceberg-rest-catalog",
    "StatefulSet/iceberg-rest-catalog-postgres",
    "Service/iceberg-rest-catalog",
    "Service/iceberg-rest-catalog-postgres",
    "NetworkPolicy/iceberg-rest-catalog",
    "NetworkPolicy/iceberg-rest-catalog-postgres",
    "PodDisruptionBudget/iceberg-rest-catalog",
    "PodDisruptionBudget/iceberg-rest-catalog-postgres",
    "Secret/iceberg-rest-catalog-postgres",
}


def _ids(r: Rendered) -> set[str]:
    """Kind/name, with generated Secrets' content hash cut off."""
    out = set()
    for d in r.docs:
        name = d["metadata"]["name"]
        if d["kind"] == "Secret" and name.startswith("iceberg-rest-catalog-postgres-"):
            name = "iceberg-rest-catalog-postgres"
        out.add(f"{d['kind']}/{name}")
    return out


def _pod(doc: Document) -> dict[str, Any]:
    pod: dict[str, Any] = doc["spec"]["template"]["spec"]
    return pod


def _c(doc: Document) -> dict[str, Any]:
    containers: list[dict[str, Any]] = _pod(doc)["containers"]
    assert len(containers) == 1
    return containers[0]


def _env(doc: Document) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in _c(doc)["env"]}


def _workloads(r: Rendered) -> tuple[Document, Document]:
    return (
        r.one("Deployment", "iceberg-rest-catalog"),
        r.one("StatefulSet", "iceberg-rest-catalog-postgres"),
    )


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("overlay", CATALOG_OVERLAYS)
def test_catalog_overlay_passes_strict_validation(
    rendered_catalog: dict[str, Rendered], overlay: str, version: str, tmp_path: Path
) -> None:
    _assert_valid(rendered_catalog[overlay].text, version, tmp_path)


@pytest.mark.parametrize("overlay", CATALOG_OVERLAYS)
def test_catalog_overlay_is_its_base_plus_exactly_the_catalog(
    rendered: dict[str, Rendered], rendered_catalog: dict[str, Rendered], overlay: str
) -> None:
    base = rendered[prepare.REST_CATALOG_OVERLAYS[overlay]]
    assert _ids(rendered_catalog[overlay]) == _ids(base) | CATALOG_OBJECTS
    assert not _ids(base) & CATALOG_OBJECTS, "dev/prod themselves do not include the catalog"
    assert policies.check_rendered(rendered_catalog[overlay].docs) == []


@pytest.mark.parametrize("overlay", CATALOG_OVERLAYS)
def test_the_component_leaves_its_base_overlays_objects_as_they_are(
    rendered: dict[str, Rendered], rendered_catalog: dict[str, Rendered], overlay: str
) -> None:
    """A Component's transformers reach every object of the overlay using it: a `labels`
    transformer there once relabelled MinIO's pod template (instance=iceberg-rest-catalog)
    while its selector kept iceberg-minio, which the real kube-apiserver refuses."""
    base = {
        (d["kind"], d["metadata"]["name"]): d
        for d in rendered[prepare.REST_CATALOG_OVERLAYS[overlay]].docs
    }
    with_catalog = {(d["kind"], d["metadata"]["name"]): d for d in rendered_catalog[overlay].docs}
    changed = [f"{k}/{n}" for (k, n), doc in base.items() if with_catalog.get((k, n)) != doc]
    assert changed == []
    for doc in rendered_catalog[overlay].docs:
        if "selector" in doc.get("spec", {}) and "template" in doc["spec"]:
            selector = doc["spec"]["selector"]["matchLabels"]
            labels = doc["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= labels.items(), f"{doc['kind']}/{doc['metadata']['name']}"


@pytest.mark.parametrize("overlay", CATALOG_OVERLAYS)
def test_both_containers_are_hardened_and_pinned(
    rendered_catalog: dict[str, Rendered], overlay: str
) -> None:
    catalog, postgres = _workloads(rendered_catalog[overlay])
    assert _c(catalog)["image"] == CATALOG_IMAGE
    assert _c(postgres)["image"] == POSTGRES_IMAGE
    for doc, uid in ((catalog, 1000), (postgres, 999)):
        pod, c = _pod(doc), _c(doc)
        sc = c["securityContext"]
        assert pod["securityContext"]["runAsNonRoot"] is True and sc["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == uid
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        assert set(c["resources"]) == {"requests", "limits"}
        assert all(c[p] for p in ("startupProbe", "livenessProbe", "readinessProbe"))
        mounts = {m["mountPath"] for m in c["volumeMounts"]}
        assert "/tmp" in mounts, "a read-only root needs a writable /tmp"
    assert _c(catalog)["readinessProbe"]["httpGet"] == {"path": "/v1/config", "port": "http"}
    assert _c(postgres)["readinessProbe"]["exec"]["command"][0] == "pg_isready"
    pg_mounts = {m["mountPath"]: m["name"] for m in _c(postgres)["volumeMounts"]}
    assert {"/var/run/postgresql", "/var/lib/postgresql/data"} <= set(pg_mounts)
    assert _env(postgres)["PGDATA"].startswith("/var/lib/postgresql/data/")
    claims = {t["metadata"]["name"] for t in postgres["spec"]["volumeClaimTemplates"]}
    assert pg_mounts["/var/lib/postgresql/data"] in claims
    for name in ("iceberg-rest-catalog", "iceberg-rest-catalog-postgres"):
        pdb = rendered_catalog[overlay].one("PodDisruptionBudget", name)
        assert pdb["spec"] == {
            "maxUnavailable": 1,
            "selector": pdb["spec"]["selector"],
        }


def test_images_are_restated_in_the_overlays() -> None:
    for overlay in CATALOG_OVERLAYS:
        kust = yaml.safe_load(
            (REPO / "manifests/overlays" / overlay / "kustomization.yaml").read_text()
        )
        pins = {i["name"]: i["newTag"] for i in kust["images"]}
        assert pins == {
            image.rsplit(":", 1)[0]: image.rsplit(":", 1)[1]
            for image in (CATALOG_IMAGE, POSTGRES_IMAGE)
        }


@pytest.mark.parametrize("overlay", CATALOG_OVERLAYS)
def test_catalog_talks_to_its_postgres_and_minio_by_service_dns(
    rendered_catalog: dict[str, Rendered], overlay: str
) -> None:
    r = rendered_catalog[overlay]
    catalog, postgres = _workloads(r)
    env = _env(catalog)
    svc = r.one("Service", "iceberg-rest-catalog")
    assert (
        f"http://{svc['metadata']['name']}.analytics.svc.cluster.local:"
        + str(svc["spec"]["ports"][0]["port"])
        == CATALOG_URL
    )
    assert (
        svc["spec"]["selector"].items() <= catalog["spec"]["template"]["metadata"]["labels"].items()
    )
    pg_svc = r.one("Service", "iceberg-rest-catalog-postgres")
    assert postgres["spec"]["serviceName"] == pg_svc["metadata"]["name"]
    assert env["CATALOG_URI"] == (
        "jdbc:postgresql://iceberg-rest-catalog-postgres.analytics.svc.cluster.local:5432/"
        + _env(postgres)["POSTGRES_DB"]
    )
    assert env["CATALOG_JDBC_USER"] == _env(postgres)["POSTGRES_USER"]
    assert env["CATALOG_S3_ENDPOINT"] == "http://iceberg-minio.analytics.svc.cluster.local:9000"
    assert env["CATALOG_IO__IMPL"] == "org.apache.iceberg.aws.s3.S3FileIO"
    assert env["AWS_ACCESS_KEY_ID"]["secretKeyRef"]["name"] == "iceberg-minio-spark"


@pytest.mark.parametrize("overlay", CATALOG_OVERLAYS)
def test_the_postgres_password_is_generated_never_committed(
    rendered_catalog: dict[str, Rendered], overlay: str
) -> None:
    r = rendered_catalog[overlay]
    catalog, postgres = _workloads(r)
    secret = next(
        s for s in r.kinds("Secret") if s["metadata"]["name"].startswith("iceberg-rest-catalog-")
    )
    name = secret["metadata"]["name"]
    assert name != "iceberg-rest-catalog-postgres", "content-hash name rolls the pods on change"
    password_file = r.path / "generated" / prepare.POSTGRES_PASSWORD_FILE
    assert password_file.stat().st_mode & 0o777 == 0o600
    assert (password_file.parent.stat().st_mode & 0o777) == 0o700
    assert base64.b64decode(secret["data"]["postgres-password"]) == password_file.read_bytes()
    assert policies.secrets_from_generated([secret], password_file.parent) == []
    assert _env(catalog)["CATALOG_JDBC_PASSWORD"]["secretKeyRef"] == {
        "name": name,
        "key": "postgres-password",
    }
    volumes = {v["name"]: v for v in _pod(postgres)["volumes"]}
    mounted = next(
        m for m in _c(postgres)["volumeMounts"] if volumes.get(m["name"], {}).get("secret")
    )
    assert volumes[mounted["name"]]["secret"]["secretName"] == name
    assert _env(postgres)["POSTGRES_PASSWORD_FILE"] == f"{mounted['mountPath']}/postgres-password"
    assert "POSTGRES_PASSWORD" not in _env(postgres), "never as a plain env value"
    tracked = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "manifests"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not [p for p in tracked if p.endswith(prepare.POSTGRES_PASSWORD_FILE)]


def test_prepare_keeps_the_postgres_password_across_rotation(scratch_manifests: Path) -> None:
    first = prepare.prepare("dev-rest-catalog", manifests_dir=scratch_manifests, env={})
    password = first.generated_dir / prepare.POSTGRES_PASSWORD_FILE
    assert f"dev-rest-catalog/generated/{prepare.POSTGRES_PASSWORD_FILE}" in first.written
    assert "dev/generated/root-password" in first.written, "the base overlay is prepared too"
    root = scratch_manifests / "overlays/dev/generated/root-password"
    before, root_before = password.read_bytes(), root.read_bytes()
    assert len(before) >= 32 and root_before
    password.chmod(0o644)
    again = prepare.prepare("dev-rest-catalog", manifests_dir=scratch_manifests, env={})
    assert again.written == [] and password.stat().st_mode & 0o777 == 0o600
    prepare.prepare("dev-rest-catalog", manifests_dir=scratch_manifests, env={}, rotate=True)
    assert password.read_bytes() == before, "Postgres reads it only at initdb"
    assert root.read_bytes() != root_before, "the base overlay's secrets do rotate"


# --- NetworkPolicies: who reaches the catalog and its database ---------------------------


def _peers(np: Document) -> list[dict[str, Any]]:
    return [p for rule in np["spec"]["ingress"] for p in rule["from"]]


@pytest.mark.parametrize("overlay", CATALOG_OVERLAYS)
def test_only_dagster_spark_and_ingress_reach_the_catalog(
    rendered_catalog: dict[str, Rendered], overlay: str
) -> None:
    r = rendered_catalog[overlay]
    catalog, postgres = _workloads(r)
    catalog_labels = catalog["spec"]["template"]["metadata"]["labels"]
    pg_labels = postgres["spec"]["template"]["metadata"]["labels"]
    np = r.one("NetworkPolicy", "iceberg-rest-catalog")
    assert np["spec"]["podSelector"]["matchLabels"].items() <= catalog_labels.items()
    assert not np["spec"]["podSelector"]["matchLabels"].items() <= pg_labels.items()
    assert [p["port"] for rule in np["spec"]["ingress"] for p in rule["ports"]] == [8181]
    assert _peers(np) == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
        },
        {"podSelector": {"matchLabels": {"lakehouse.platform/s3-client": "true"}}},
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dagster"}},
            "podSelector": {"matchLabels": {"lakehouse.platform/s3-client": "true"}},
        },
    ]
    egress = {p["port"] for rule in np["spec"]["egress"] for p in rule["ports"]}
    assert egress == {53, 5432, 9000}
    # The Dagster run pods carry the label the catalog admits (manifests/dagster/values.yaml).
    values = (REPO / "manifests/dagster/values.yaml").read_text()
    assert 'lakehouse.platform/s3-client: "true"' in values


@pytest.mark.parametrize("overlay", CATALOG_OVERLAYS)
def test_only_the_catalog_reaches_postgres(
    rendered_catalog: dict[str, Rendered], overlay: str
) -> None:
    r = rendered_catalog[overlay]
    catalog, postgres = _workloads(r)
    np = r.one("NetworkPolicy", "iceberg-rest-catalog-postgres")
    pg_labels = postgres["spec"]["template"]["metadata"]["labels"]
    assert np["spec"]["podSelector"]["matchLabels"].items() <= pg_labels.items()
    (peer,) = _peers(np)
    assert set(peer) == {"podSelector"}, "same namespace only"
    catalog_labels = catalog["spec"]["template"]["metadata"]["labels"]
    assert peer["podSelector"]["matchLabels"].items() <= catalog_labels.items()
    assert np["spec"]["egress"] == [] and set(np["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert [p["port"] for rule in np["spec"]["ingress"] for p in rule["ports"]] == [5432]


@pytest.mark.parametrize("overlay", CATALOG_OVERLAYS)
def test_minio_admits_the_catalog(rendered_catalog: dict[str, Rendered], overlay: str) -> None:
    """In prod MinIO admits only labelled S3 clients: the catalog pods must carry the label."""
    r = rendered_catalog[overlay]
    catalog, _ = _workloads(r)
    labels = catalog["spec"]["template"]["metadata"]["labels"]
    minio = r.one("NetworkPolicy", "iceberg-minio")
    local = [
        p["podSelector"].get("matchLabels", {})
        for p in _peers(minio)
        if "podSelector" in p and "namespaceSelector" not in p
    ]
    assert any(sel.items() <= labels.items() for sel in local), local


Breakage = Callable[[dict[str, Document]], None]
NP_CASES: list[tuple[str, Breakage]] = [
    (
        "iceberg-rest-catalog-postgres ingress[0]: peer {'podSelector': {}}",
        lambda d: d["pg"]["spec"]["ingress"][0]["from"].__setitem__(0, {"podSelector": {}}),
    ),
    (
        "iceberg-rest-catalog-postgres ingress[0]: peer",
        lambda d: d["pg"]["spec"]["ingress"][0]["from"].append(
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dagster"}}}
        ),
    ),
    (
        "iceberg-rest-catalog ingress[0]: peer",
        lambda d: d["catalog"]["spec"]["ingress"][0]["from"].append({"podSelector": {}}),
    ),
    (
        "iceberg-rest-catalog ingress[0]: peer",
        lambda d: d["catalog"]["spec"]["ingress"][0]["from"][1]["podSelector"].update(
            matchLabels={"app": "anything"}
        ),
    ),
    (
        "does not select exactly",
        lambda d: d["pg"]["spec"]["podSelector"]["matchLabels"].update(
            {"app.kubernetes.io/name": "other"}
        ),
    ),
    ("NetworkPolicy/iceberg-rest-catalog is missing", lambda d: d.pop("catalog")),
]


@pytest.fixture
def catalog_docs(rendered_catalog: dict[str, Rendered]) -> dict[str, Document]:
    r = rendered_catalog["prod-rest-catalog"]
    catalog, postgres = _workloads(r)
    return copy.deepcopy(
        {
            "deployment": catalog,
            "statefulset": postgres,
            "catalog": r.one("NetworkPolicy", "iceberg-rest-catalog"),
            "pg": r.one("NetworkPolicy", "iceberg-rest-catalog-postgres"),
        }
    )


@pytest.mark.parametrize(("message", "breakage"), NP_CASES)
def test_catalog_network_policy_policy_catches(
    catalog_docs: dict[str, Document], message: str, breakage: Breakage
) -> None:
    assert policies.rest_catalog_network_policies(list(catalog_docs.values())) == []
    breakage(catalog_docs)
    violations = policies.rest_catalog_network_policies(list(catalog_docs.values()))
    assert any(message in v for v in violations), violations


def test_catalog_policy_ignores_overlays_without_the_catalog(
    rendered: dict[str, Rendered],
) -> None:
    assert policies.rest_catalog_network_policies(rendered["dev"].docs) == []


@pytest.mark.parametrize(
    ("message", "breakage"),
    [
        (
            "iceberg-rest-catalog ingress[0]: port 5432",
            lambda d: d["catalog"]["spec"]["ingress"][0]["ports"].append({"port": 5432}),
        ),
        (
            "iceberg-rest-catalog-postgres egress[0]: port 53",
            lambda d: d["pg"]["spec"]["egress"].append(
                {"to": [{"podSelector": {}}], "ports": [{"port": 53}]}
            ),
        ),
        (
            "iceberg-rest-catalog egress[1]: port 443",
            lambda d: d["catalog"]["spec"]["egress"][1]["ports"].append({"port": 443}),
        ),
    ],
)
def test_port_policy_uses_each_policys_own_ports(
    catalog_docs: dict[str, Document], message: str, breakage: Breakage
) -> None:
    docs = [catalog_docs["catalog"], catalog_docs["pg"]]
    assert policies.network_policy_ports(docs) == []
    breakage(catalog_docs)
    violations = policies.network_policy_ports(docs)
    assert any(message in v for v in violations), violations


@pytest.mark.parametrize("kind", ["deployment", "statefulset"])
# The same breakages the MinIO Deployment is tested with, on the catalog's two workloads.
@pytest.mark.parametrize(("policy", "message", "breakage"), CONTAINER_CASES)
def test_policies_catch_a_broken_catalog_workload(
    catalog_docs: dict[str, Document],
    kind: str,
    policy: policies.Policy,
    message: str,
    breakage: Callable[[Document], Any],
) -> None:
    doc = catalog_docs[kind]
    assert policy([doc]) == []
    breakage(doc)
    assert any(message in v for v in policy([doc])), policy([doc])


def test_minio_topology_policy_skips_postgres_but_not_minio(
    catalog_docs: dict[str, Document], rendered_catalog: dict[str, Rendered]
) -> None:
    assert policies.distributed_minio_topology([catalog_docs["statefulset"]]) == []
    minio = copy.deepcopy(rendered_catalog["prod-rest-catalog"].one("StatefulSet", "iceberg-minio"))
    minio["spec"]["replicas"] = 5
    assert policies.distributed_minio_topology([minio])


def test_policy_tables_name_the_rendered_policies(rendered_catalog: dict[str, Rendered]) -> None:
    names = {
        d["metadata"]["name"] for d in rendered_catalog["dev-rest-catalog"].kinds("NetworkPolicy")
    }
    assert set(catalog_policies.POLICY_PORTS) <= names

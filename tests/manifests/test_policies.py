"""Both overlays pass every policy, and every policy catches a deliberately bad manifest.

The bad manifests are the real rendered objects with one thing broken, so a policy that
passes the overlays but misses the breakage cannot hide behind an unrealistic fixture.
"""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from platform_defs import credentials
from platform_defs.k8s.render import Document
from tools import manifest_policies as policies

from .conftest import OVERLAYS, REPO, Rendered


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_overlay_passes_every_policy(rendered: dict[str, Rendered], overlay: str) -> None:
    assert policies.check_rendered(rendered[overlay].docs) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_secrets_come_from_generated_files(
    rendered: dict[str, Rendered], overlay: str
) -> None:
    r = rendered[overlay]
    assert r.kinds("Secret")
    assert policies.secrets_from_generated(r.docs, r.path / "generated") == []


def _committed_yaml() -> list[Path]:
    proc = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "manifests"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip("not a git checkout")
    return [REPO / p for p in proc.stdout.split() if p.endswith((".yaml", ".yml"))]


def _scalars(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*_scalars(k), *_scalars(v))]
    if isinstance(node, list):
        return [s for item in node for s in _scalars(item)]
    return [str(node)] if node is not None else []


def test_committed_yaml_holds_no_secret() -> None:
    files = _committed_yaml()
    assert files, "manifests are committed"
    assert not [p for p in files if "generated" in p.parts], "generated/ must stay untracked"
    for path in files:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert policies.committed_secret_sources(path, docs) == []
        leaked = [s for s in _scalars(docs) if credentials.is_publicly_known(s)]
        assert leaked == [], path


# --- each policy against one deliberately broken object --------------------------------


@pytest.fixture
def deployment(rendered: dict[str, Rendered]) -> Document:
    return copy.deepcopy(rendered["dev"].one("Deployment", "iceberg-minio"))


def _c(doc: Document) -> dict[str, Any]:
    container: dict[str, Any] = doc["spec"]["template"]["spec"]["containers"][0]
    return container


def _pod(doc: Document) -> dict[str, Any]:
    pod: dict[str, Any] = doc["spec"]["template"]["spec"]
    return pod


Breakage = Callable[[Document], None]
CONTAINER_CASES: list[tuple[policies.Policy, str, Breakage]] = [
    (
        policies.run_as_non_root,
        "runAsNonRoot",
        lambda d: (
            _c(d)["securityContext"].pop("runAsNonRoot"),
            _pod(d)["securityContext"].pop("runAsNonRoot"),
        ),
    ),
    (
        policies.run_as_non_root,
        "runAsUser is 0",
        lambda d: _c(d)["securityContext"].update(runAsUser=0),
    ),
    (
        policies.read_only_root_filesystem,
        "readOnlyRootFilesystem",
        lambda d: _c(d)["securityContext"].update(readOnlyRootFilesystem=False),
    ),
    (
        policies.drop_all_capabilities,
        "drop does not contain ALL",
        lambda d: _c(d)["securityContext"]["capabilities"].update(drop=["NET_RAW"]),
    ),
    (
        policies.drop_all_capabilities,
        "adds capabilities",
        lambda d: _c(d)["securityContext"]["capabilities"].update(add=["NET_ADMIN"]),
    ),
    (
        policies.no_privilege_escalation,
        "allowPrivilegeEscalation",
        lambda d: _c(d)["securityContext"].update(allowPrivilegeEscalation=True),
    ),
    (
        policies.no_privilege_escalation,
        "seccompProfile",
        lambda d: (
            _c(d)["securityContext"].pop("seccompProfile"),
            _pod(d)["securityContext"].pop("seccompProfile"),
        ),
    ),
    (
        policies.resource_limits,
        "resources.limits lacks cpu, memory",
        lambda d: _c(d)["resources"].pop("limits"),
    ),
    (
        policies.resource_limits,
        "resources.requests lacks memory",
        lambda d: _c(d)["resources"]["requests"].pop("memory"),
    ),
    (policies.probes, "no livenessProbe", lambda d: _c(d).pop("livenessProbe")),
    (policies.probes, "no readinessProbe", lambda d: _c(d).pop("readinessProbe")),
    (
        policies.pinned_images,
        "not pinned",
        lambda d: _c(d).update(image="quay.io/minio/minio:latest"),
    ),
    (policies.pinned_images, "not pinned", lambda d: _c(d).update(image="quay.io/minio/minio")),
    (
        policies.pinned_images,
        "no longer serves",
        lambda d: _c(d).update(image="minio/minio:RELEASE.2025-09-07T16-13-09Z"),
    ),
    (
        policies.pinned_images,
        "no longer serves",
        lambda d: _c(d).update(image="docker.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"),
    ),
    (
        policies.pinned_images,
        "no longer serves",
        lambda d: _c(d).update(image="docker.io/bitnami/minio:2025.7.23"),
    ),
    (
        policies.pinned_images,
        "no longer serves",
        lambda d: _c(d).update(image="bitnami/minio:2025.7.23"),
    ),
    (policies.required_labels, "label tier missing", lambda d: d["metadata"]["labels"].pop("tier")),
    (
        policies.required_labels,
        "pod template: label app.kubernetes.io/part-of missing",
        lambda d: d["spec"]["template"]["metadata"]["labels"].pop("app.kubernetes.io/part-of"),
    ),
    (
        policies.required_labels,
        "expected 'data-infrastructure'",
        lambda d: d["metadata"]["labels"].update(component="minio"),
    ),
]


@pytest.mark.parametrize(("policy", "message", "breakage"), CONTAINER_CASES)
def test_policy_catches_a_broken_deployment(
    deployment: Document, policy: policies.Policy, message: str, breakage: Breakage
) -> None:
    assert policy([deployment]) == []
    breakage(deployment)
    violations = policy([deployment])
    assert any(message in v for v in violations), violations
    assert all(v.startswith("Deployment/iceberg-minio") for v in violations)


def test_every_rendered_policy_has_a_catching_test() -> None:
    covered = {case[0] for case in CONTAINER_CASES} | {
        policies.pdb_single_budget,
        policies.network_policy_ports,
        policies.distributed_minio_topology,
        # Caught in test_rest_catalog.py.
        policies.rest_catalog_network_policies,
    }
    assert set(policies.RENDERED_POLICIES) <= covered


def test_pinned_by_digest_is_accepted(deployment: Document) -> None:
    _c(deployment)["image"] = "registry.example/minio/minio@sha256:" + "a" * 64
    assert policies.pinned_images([deployment]) == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"minAvailable": 1, "maxUnavailable": 1}, "set exactly one"),
        ({}, "neither"),
    ],
)
def test_pdb_policy(rendered: dict[str, Rendered], spec: dict[str, Any], message: str) -> None:
    pdb = copy.deepcopy(rendered["dev"].one("PodDisruptionBudget", "iceberg-minio"))
    assert policies.pdb_single_budget([pdb]) == []
    pdb["spec"].pop("maxUnavailable")
    pdb["spec"].update(spec)
    assert any(message in v for v in policies.pdb_single_budget([pdb]))


NP_CASES: list[tuple[str, Breakage]] = [
    (
        "port 22",
        lambda np: np["spec"]["ingress"][0]["ports"].append({"port": 22, "protocol": "TCP"}),
    ),
    ("opens every port", lambda np: np["spec"]["ingress"][1].pop("ports")),
    ("every peer", lambda np: np["spec"]["ingress"][2].pop("from")),
    ("port range", lambda np: np["spec"]["ingress"][0]["ports"][0].update(endPort=9100)),
    ("port 5432", lambda np: np["spec"]["egress"][0]["ports"].append({"port": 5432})),
    ("deny by default", lambda np: np["spec"].update(policyTypes=["Ingress"])),
    (
        "ipBlock 0.0.0.0/0",
        lambda np: np["spec"]["egress"][1]["to"].append({"ipBlock": {"cidr": "0.0.0.0/0"}}),
    ),
]


@pytest.mark.parametrize(("message", "breakage"), NP_CASES)
def test_network_policy_policy(
    rendered: dict[str, Rendered], message: str, breakage: Breakage
) -> None:
    np = copy.deepcopy(rendered["prod"].one("NetworkPolicy", "iceberg-minio"))
    assert policies.network_policy_ports([np]) == []
    breakage(np)
    assert any(message in v for v in policies.network_policy_ports([np])), (
        policies.network_policy_ports([np])
    )


def test_network_policy_missing_entirely(deployment: Document) -> None:
    assert any("no NetworkPolicy" in v for v in policies.network_policy_ports([deployment]))


def _topology(rendered: dict[str, Rendered]) -> tuple[Document, Document]:
    prod = rendered["prod"]
    return (
        copy.deepcopy(prod.one("StatefulSet", "iceberg-minio")),
        copy.deepcopy(prod.one("Service", "iceberg-minio-hl")),
    )


def test_prod_server_arguments_match_replicas_and_volumes(rendered: dict[str, Rendered]) -> None:
    sts, headless = _topology(rendered)
    replicas = sts["spec"]["replicas"]
    claims = [t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]]
    arg = next(a for a in _c(sts)["args"] if a.startswith("http://"))
    assert arg == (
        f"http://iceberg-minio-{{0...{replicas - 1}}}.iceberg-minio-hl.analytics.svc.cluster.local"
        f"/data{{0...{len(claims) - 1}}}"
    )
    mounts = {m["name"]: m["mountPath"] for m in _c(sts)["volumeMounts"]}
    assert [mounts[c] for c in claims] == [f"/data{i}" for i in range(len(claims))]
    assert policies.distributed_minio_topology([sts, headless]) == []


TOPOLOGY_CASES: list[tuple[str, Breakage]] = [
    ("replicas=5", lambda s: s["spec"].update(replicas=5)),
    (
        "spans 3 pods",
        lambda s: _c(s)["args"].__setitem__(1, _c(s)["args"][1].replace("{0...3}", "{0...2}")),
    ),
    (
        "/data2 is not a mounted",
        lambda s: _c(s)["args"].__setitem__(1, _c(s)["args"][1].replace("{0...1}", "{0...2}")),
    ),
    (
        "different count",
        lambda s: s["spec"]["volumeClaimTemplates"].append({"metadata": {"name": "data9"}}),
    ),
    ("no headless Service", lambda s: s["spec"].update(serviceName="other")),
    ("expected one", lambda s: _c(s).update(args=["server", "/data0"])),
]


@pytest.mark.parametrize(("message", "breakage"), TOPOLOGY_CASES)
def test_distributed_topology_policy(
    rendered: dict[str, Rendered], message: str, breakage: Breakage
) -> None:
    sts, headless = _topology(rendered)
    breakage(sts)
    violations = policies.distributed_minio_topology([sts, headless])
    assert any(message in v for v in violations), violations


def test_secrets_policy_catches_a_literal(rendered: dict[str, Rendered]) -> None:
    r = rendered["dev"]
    secret = copy.deepcopy(r.one("Secret", "minio-console-basic-auth"))
    assert policies.secrets_from_generated([secret], r.path / "generated") == []
    secret["data"]["auth"] = "dXNlcjpwbGFpbgo="
    secret["stringData"] = {"extra": "typed-by-hand"}
    violations = policies.secrets_from_generated([secret], r.path / "generated")
    assert any("data.auth does not come from" in v for v in violations)
    assert any("stringData" in v for v in violations)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dg=="}},
            "carries data committed",
        ),
        (
            {"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "v"}},
            "carries data committed",
        ),
        (
            {"secretGenerator": [{"name": "s", "literals": ["k=v"]}]},
            "literals put the secret in git",
        ),
        ({"secretGenerator": [{"name": "s", "files": ["k=secrets/k"]}]}, "not under generated/"),
        ({"secretGenerator": [{"name": "s", "envs": ["creds.env"]}]}, "not under generated/"),
        ([{"op": "add", "path": "/data/k", "value": "dg=="}], "patch writes /data/k"),
    ],
)
def test_committed_secret_policy(doc: Any, message: str) -> None:
    violations = policies.committed_secret_sources(Path("kustomization.yaml"), [doc])
    assert any(message in v for v in violations), violations

"""Offline policies for rendered manifests: each returns violations, an empty list means pass.

No cluster runs here, so admission controllers and Pod Security cannot catch a regression;
these checks do it on the YAML that would be applied. Each policy is a plain function of the
parsed documents so a test can hand it a deliberately bad object and see it fail.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from platform_defs.k8s.render import Document, object_id
from tools.catalog_policies import (
    POLICY_PORTS,
    WORKLOAD_KINDS,
    rest_catalog_network_policies,
)

Policy = Callable[[Sequence[Document]], list[str]]

REQUIRED_LABELS: Mapping[str, str | None] = {
    "app.kubernetes.io/name": None,
    "app.kubernetes.io/instance": None,
    "app.kubernetes.io/component": None,
    "app.kubernetes.io/part-of": None,
    "app.kubernetes.io/managed-by": None,
    "component": "data-infrastructure",
    "tier": "data",
}
INGRESS_PORTS = frozenset({9000, 9001})
# DNS, the ingress controller (console -> MINIO_SERVER_URL), distributed peers.
EGRESS_PORTS = frozenset({53, 443, 9000})
# Registries/repositories that stopped serving these images (see manifests/README.md).
_DEAD_IMAGE = re.compile(r"^(docker\.io/|index\.docker\.io/)?(minio|bitnami|bitnamilegacy)/")


def pod_specs(docs: Sequence[Document]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(object id, pod spec) for every workload and bare Pod."""
    for doc in docs:
        kind = doc.get("kind")
        spec = doc.get("spec") or {}
        if kind == "Pod":
            yield object_id(doc), spec
        elif kind == "CronJob":
            yield object_id(doc), spec["jobTemplate"]["spec"]["template"]["spec"]
        elif kind in WORKLOAD_KINDS:
            yield object_id(doc), spec.get("template", {}).get("spec", {})


def containers(
    docs: Sequence[Document], *, init: bool = True
) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(object id + container name, container, pod spec) for every container."""
    for oid, pod in pod_specs(docs):
        groups = ["containers", "initContainers"] if init else ["containers"]
        for group in groups:
            for c in pod.get(group) or []:
                yield f"{oid} container {c.get('name')}", c, pod


def _effective(c: dict[str, Any], pod: dict[str, Any], key: str) -> Any:
    """A securityContext field as Kubernetes resolves it: container first, then pod."""
    own = (c.get("securityContext") or {}).get(key)
    return own if own is not None else (pod.get("securityContext") or {}).get(key)


def run_as_non_root(docs: Sequence[Document]) -> list[str]:
    out = []
    for where, c, pod in containers(docs):
        if _effective(c, pod, "runAsNonRoot") is not True:
            out.append(f"{where}: runAsNonRoot is not true")
        if _effective(c, pod, "runAsUser") == 0:
            out.append(f"{where}: runAsUser is 0 (root)")
    return out


def read_only_root_filesystem(docs: Sequence[Document]) -> list[str]:
    return [
        f"{where}: readOnlyRootFilesystem is not true"
        for where, c, _ in containers(docs)
        if (c.get("securityContext") or {}).get("readOnlyRootFilesystem") is not True
    ]


def drop_all_capabilities(docs: Sequence[Document]) -> list[str]:
    out = []
    for where, c, _ in containers(docs):
        caps = (c.get("securityContext") or {}).get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append(f"{where}: capabilities.drop does not contain ALL")
        if caps.get("add"):
            out.append(f"{where}: adds capabilities {caps['add']}")
    return out


def no_privilege_escalation(docs: Sequence[Document]) -> list[str]:
    out = []
    for where, c, pod in containers(docs):
        sc = c.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{where}: allowPrivilegeEscalation is not false")
        if sc.get("privileged"):
            out.append(f"{where}: privileged")
        seccomp = _effective(c, pod, "seccompProfile") or {}
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            out.append(f"{where}: seccompProfile is not RuntimeDefault")
    return out


def resource_limits(docs: Sequence[Document]) -> list[str]:
    out = []
    for where, c, _ in containers(docs):
        res = c.get("resources") or {}
        for section in ("requests", "limits"):
            missing = [r for r in ("cpu", "memory") if r not in (res.get(section) or {})]
            if missing:
                out.append(f"{where}: resources.{section} lacks {', '.join(missing)}")
    return out


def probes(docs: Sequence[Document]) -> list[str]:
    """Liveness and readiness on every long-running container (init containers exit)."""
    return [
        f"{where}: no {probe}"
        for where, c, _ in containers(docs, init=False)
        for probe in ("livenessProbe", "readinessProbe")
        if not c.get(probe)
    ]


def pdb_single_budget(docs: Sequence[Document]) -> list[str]:
    """Exactly one of minAvailable/maxUnavailable; the API rejects both, neither is useless."""
    out = []
    for doc in docs:
        if doc.get("kind") != "PodDisruptionBudget":
            continue
        spec = doc.get("spec") or {}
        fields = [f for f in ("minAvailable", "maxUnavailable") if f in spec]
        if len(fields) != 1:
            out.append(f"{object_id(doc)}: sets {fields or 'neither'}; set exactly one")
    return out


def _rule_ports(rule: dict[str, Any], allowed: frozenset[int], where: str) -> list[str]:
    ports = rule.get("ports")
    if not ports:
        return [f"{where}: rule without ports opens every port"]
    out = []
    for p in ports:
        port = p.get("port")
        if not isinstance(port, int) or port not in allowed:
            out.append(f"{where}: port {port!r} is not one of {sorted(allowed)}")
        if "endPort" in p:
            out.append(f"{where}: port range {port}-{p['endPort']}")
    return out


def network_policy_ports(
    docs: Sequence[Document],
    ingress_ports: frozenset[int] = INGRESS_PORTS,
    egress_ports: frozenset[int] = EGRESS_PORTS,
) -> list[str]:
    """Deny by default, and open only the intended ports to named peers."""
    out = []
    policies = [d for d in docs if d.get("kind") == "NetworkPolicy"]
    if any(pod_specs(docs)) and not policies:
        out.append("no NetworkPolicy: pods accept traffic from anywhere")
    for doc in policies:
        oid, spec = object_id(doc), doc.get("spec") or {}
        own_in, own_out = POLICY_PORTS.get(
            (doc.get("metadata") or {}).get("name", ""), (ingress_ports, egress_ports)
        )
        types = set(spec.get("policyTypes") or [])
        if types != {"Ingress", "Egress"}:
            out.append(
                f"{oid}: policyTypes {sorted(types)}; both Ingress and Egress deny by default"
            )
        for direction, peer_key, allowed in (
            ("ingress", "from", own_in),
            ("egress", "to", own_out),
        ):
            for i, rule in enumerate(spec.get(direction) or []):
                where = f"{oid} {direction}[{i}]"
                out += _rule_ports(rule, allowed, where)
                peers = rule.get(peer_key)
                if not peers:
                    out.append(f"{where}: no `{peer_key}` means every peer")
                for peer in peers or []:
                    if "ipBlock" in peer and peer["ipBlock"].get("cidr") in ("0.0.0.0/0", "::/0"):
                        out.append(f"{where}: ipBlock {peer['ipBlock']['cidr']}")
    return out


def pinned_images(docs: Sequence[Document]) -> list[str]:
    out = []
    for where, c, _ in containers(docs):
        image = str(c.get("image") or "")
        name, _, digest = image.partition("@")
        last = name.rsplit("/", 1)[-1]
        tag = last.partition(":")[2]
        if not digest and tag in ("", "latest"):
            out.append(f"{where}: image {image!r} is not pinned (no tag, or `latest`)")
        if _DEAD_IMAGE.match(name) or name.startswith(("minio/", "bitnami/")):
            out.append(f"{where}: image {image!r} comes from a repository that no longer serves it")
    return out


def required_labels(docs: Sequence[Document]) -> list[str]:
    """Standard labels on every object and pod template, with the fixed `component`/`tier`."""

    def check(where: str, labels: Mapping[str, str]) -> list[str]:
        found = []
        for key, value in REQUIRED_LABELS.items():
            if key not in labels:
                found.append(f"{where}: label {key} missing")
            elif value is not None and labels[key] != value:
                found.append(f"{where}: label {key}={labels[key]!r}, expected {value!r}")
        return found

    out = []
    for doc in docs:
        out += check(object_id(doc), (doc.get("metadata") or {}).get("labels") or {})
        template = (doc.get("spec") or {}).get("template")
        if doc.get("kind") in WORKLOAD_KINDS and template:
            out += check(f"{object_id(doc)} pod template", template["metadata"].get("labels", {}))
    return out


def secrets_from_generated(docs: Sequence[Document], generated_dir: Path) -> list[str]:
    """Every rendered Secret value is the content of a file the prepare tool wrote."""
    files = {p.read_bytes() for p in generated_dir.iterdir() if p.is_file()}
    out = []
    for doc in docs:
        if doc.get("kind") != "Secret":
            continue
        if doc.get("stringData"):
            out.append(f"{object_id(doc)}: stringData is a literal, not a generated file")
        for key, value in (doc.get("data") or {}).items():
            if base64.b64decode(value) not in files:
                out.append(f"{object_id(doc)}: data.{key} does not come from {generated_dir}")
    return out


def committed_secret_sources(path: Path, docs: Sequence[Any]) -> list[str]:
    """For a file in git: no Secret data, and secretGenerators read only `generated/` files.

    A JSON 6902 patch file is a list of operations; one that writes `/data` or `/stringData`
    would smuggle a value into whatever Secret it targets.
    """
    out = []
    for doc in docs:
        if isinstance(doc, list):
            out += [
                f"{path}: patch writes {op.get('path')}"
                for op in doc
                if str(op.get("path", "")).startswith(("/data", "/stringData"))
            ]
            continue
        if doc.get("kind") == "Secret" and (doc.get("data") or doc.get("stringData")):
            out.append(f"{path}: {object_id(doc)} carries data committed to git")
        for gen in doc.get("secretGenerator") or []:
            where = f"{path}: secretGenerator {gen.get('name')}"
            if gen.get("literals"):
                out.append(f"{where}: literals put the secret in git")
            for src in list(gen.get("files") or []) + list(gen.get("envs") or []):
                file_part = str(src).split("=", 1)[-1]
                if not file_part.startswith("generated/"):
                    out.append(f"{where}: {file_part} is not under generated/ (gitignored)")
    return out


_SERVER_ARG = re.compile(
    r"^http://(?P<sts>[a-z0-9-]+)-\{0\.\.\.(?P<last>\d+)\}\.(?P<svc>[a-z0-9-]+)\."
    r"(?P<ns>[a-z0-9-]+)\.svc\.cluster\.local(?P<path>/[a-z0-9_-]*)\{(?P<lo>\d+)\.\.\.(?P<hi>\d+)\}$"
)


def distributed_minio_topology(docs: Sequence[Document]) -> list[str]:
    """A MinIO StatefulSet's server argument names exactly its pods and its volumes."""
    out = []
    headless = {
        (d["metadata"]["name"], d["metadata"].get("namespace"))
        for d in docs
        if d.get("kind") == "Service" and (d.get("spec") or {}).get("clusterIP") == "None"
    }
    for doc in docs:
        if doc.get("kind") != "StatefulSet":
            continue
        pod_labels = doc["spec"]["template"]["metadata"].get("labels") or {}
        if pod_labels.get("app.kubernetes.io/name") != "minio":
            continue  # e.g. the REST catalog's Postgres
        oid, spec, meta = object_id(doc), doc["spec"], doc["metadata"]
        c = spec["template"]["spec"]["containers"][0]
        args = [a for a in c.get("args") or [] if a.startswith("http")]
        if len(args) != 1 or not (m := _SERVER_ARG.match(args[0])):
            out.append(f"{oid}: expected one `http://<sts>-{{0...N}}.<svc>...` arg, got {args}")
            continue
        if m["sts"] != meta["name"] or m["svc"] != spec.get("serviceName"):
            out.append(f"{oid}: arg names {m['sts']}/{m['svc']}, not its own name/serviceName")
        if m["ns"] != meta.get("namespace"):
            out.append(f"{oid}: arg namespace {m['ns']} != {meta.get('namespace')}")
        if (spec.get("serviceName"), meta.get("namespace")) not in headless:
            out.append(f"{oid}: no headless Service {spec.get('serviceName')}")
        if int(m["last"]) + 1 != spec.get("replicas"):
            out.append(
                f"{oid}: arg spans {int(m['last']) + 1} pods, replicas={spec.get('replicas')}"
            )
        claims = {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates") or []}
        mounts = {v["mountPath"]: v["name"] for v in c.get("volumeMounts") or []}
        for i in range(int(m["lo"]), int(m["hi"]) + 1):
            path = f"{m['path']}{i}"
            if mounts.get(path) not in claims:
                out.append(f"{oid}: drive {path} is not a mounted volumeClaimTemplate")
        if len(claims) != int(m["hi"]) - int(m["lo"]) + 1:
            out.append(f"{oid}: {len(claims)} volumeClaimTemplates, arg lists a different count")
    return out


RENDERED_POLICIES: tuple[Policy, ...] = (
    run_as_non_root,
    read_only_root_filesystem,
    drop_all_capabilities,
    no_privilege_escalation,
    resource_limits,
    probes,
    pdb_single_budget,
    network_policy_ports,
    pinned_images,
    required_labels,
    distributed_minio_topology,
    rest_catalog_network_policies,
)


def check_rendered(docs: Sequence[Document]) -> list[str]:
    """All policies that need only the rendered documents."""
    return [v for policy in RENDERED_POLICIES for v in policy(docs)]

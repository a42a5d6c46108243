"""Why a rollout did not finish, read from the cluster's own state.

"Timed out waiting for rollout" tells the person on call nothing. This module lists what
`kubectl describe` would have shown them, in the order of the data-infrastructure guide's
troubleshooting list: a PVC not bound (no such storage class, no default class, no provisioner),
a pod not starting (image pull error, crash loop with its last log lines, failing probes,
unschedulable, missing config), an ingress without a controller or without its TLS Secret.
`explain` is a pure function of API JSON (a `Snapshot`), so every case is tested from recorded
API responses; `collect` fetches that JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from platform_defs.k8s.cluster import Cluster

Obj = dict[str, Any]
_PULL = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
_CONFIG = {"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}
_DEFAULT_SC = "storageclass.kubernetes.io/is-default-class"
_DEFAULT_IC = "ingressclass.kubernetes.io/is-default-class"
_SELECTED_NODE = "volume.kubernetes.io/selected-node"  # the scheduler's choice for a WFFC claim


@dataclass(frozen=True)
class Finding:
    subject: str  # Kind/name
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"- {self.subject}: {self.problem} Fix: {self.fix}"


@dataclass
class Snapshot:
    """The API objects `explain` reads: `items` of each list, and container logs."""

    namespace: str
    pvcs: list[Obj] = field(default_factory=list)
    storage_classes: list[Obj] = field(default_factory=list)
    pods: list[Obj] = field(default_factory=list)
    events: list[Obj] = field(default_factory=list)
    ingresses: list[Obj] = field(default_factory=list)
    ingress_classes: list[Obj] = field(default_factory=list)
    secrets: list[Obj] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)  # "pod/container" -> last lines


def _name(obj: Obj) -> str:
    return str(obj["metadata"]["name"])


def _events_for(snap: Snapshot, kind: str, name: str) -> list[Obj]:
    return [
        e
        for e in snap.events
        if (e.get("involvedObject") or {}).get("kind") == kind
        and (e.get("involvedObject") or {}).get("name") == name
    ]


# ---- PersistentVolumeClaims ---------------------------------------------------------------
def _pvc_findings(snap: Snapshot) -> Iterator[Finding]:
    classes = {_name(sc): sc for sc in snap.storage_classes}
    for pvc in snap.pvcs:
        if (pvc.get("status") or {}).get("phase") == "Bound":
            continue
        yield _pvc_finding(snap, pvc, classes)


def _pvc_finding(snap: Snapshot, pvc: Obj, classes: dict[str, Obj]) -> Finding:
    subject = f"PersistentVolumeClaim/{_name(pvc)}"
    wanted = (pvc.get("spec") or {}).get("storageClassName")
    if wanted is None:
        defaults = [n for n, sc in classes.items() if _annotation(sc, _DEFAULT_SC) == "true"]
        if not defaults:
            return Finding(
                subject,
                "is Pending: it names no storageClassName and the cluster has no default "
                "StorageClass, so nothing will provision a volume.",
                "set storageClassName in the overlay's PVC patch, or mark a class default "
                f"(annotation {_DEFAULT_SC}=true).",
            )
        wanted = defaults[0]
    sc = classes.get(wanted)
    if sc is None:
        known = ", ".join(sorted(classes)) or "none"
        return Finding(
            subject,
            f"is Pending: StorageClass '{wanted}' does not exist (the cluster has: {known}).",
            "install it (on kind: `kubectl apply -f manifests/kind/storageclass-local-path.yaml`)"
            " or set an existing class in the overlay.",
        )
    return _provisioner_finding(snap, subject, pvc, sc)


def _provisioner_finding(snap: Snapshot, subject: str, pvc: Obj, sc: Obj) -> Finding:
    provisioner = sc.get("provisioner", "?")
    events = _events_for(snap, "PersistentVolumeClaim", _name(pvc))
    latest = events[-1].get("message", "") if events else ""
    provisioning = {"ExternalProvisioning", "ProvisioningFailed"}
    if (
        sc.get("volumeBindingMode") == "WaitForFirstConsumer"
        and not _annotation(pvc, _SELECTED_NODE)
        and not any(e.get("reason") in provisioning for e in events)
    ):
        # Seen on a real server: with such a class a claim is Pending *because* its pod is not
        # scheduled (no node selected yet), whatever the provisioner; blaming the class would
        # send the reader to the wrong object.
        return Finding(
            subject,
            f"is Pending until a pod using it is scheduled: StorageClass '{_name(sc)}' binds "
            "on first consumer (WaitForFirstConsumer) and no node has been selected yet.",
            "fix why the pod cannot be scheduled (below); the claim then binds by itself.",
        )
    if provisioner == "kubernetes.io/no-provisioner":
        return Finding(
            subject,
            f"is Pending: StorageClass '{_name(sc)}' has no dynamic provisioner "
            "(kubernetes.io/no-provisioner), so only a pre-created PersistentVolume can bind.",
            "create a matching PersistentVolume, or use a class with a provisioner.",
        )
    if any(e.get("reason") == "ProvisioningFailed" for e in events):
        failed = [e for e in events if e.get("reason") == "ProvisioningFailed"][-1]
        return Finding(
            subject,
            f"is Pending: provisioner {provisioner} failed: {failed.get('message')}",
            "fix the provisioner's problem above (quota, capacity, permissions) and re-apply.",
        )
    if any(e.get("reason") == "ExternalProvisioning" for e in events):
        return Finding(
            subject,
            f"is Pending: waiting for provisioner '{provisioner}', which has not created a "
            "volume: the provisioner (CSI driver or local-path-provisioner) is not running.",
            f"install/start the provisioner for '{provisioner}' (kind ships local-path-"
            "provisioner in kube-system; `kubectl -n kube-system get pods`).",
        )
    return Finding(
        subject,
        f"is Pending with StorageClass '{_name(sc)}' ({provisioner}). {latest}".strip(),
        f"`kubectl -n {snap.namespace} describe pvc {_name(pvc)}`.",
    )


def _annotation(obj: Obj, key: str) -> str | None:
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(key)


# ---- Pods ---------------------------------------------------------------------------------
def _pod_findings(snap: Snapshot) -> Iterator[Finding]:
    for pod in snap.pods:
        subject = f"Pod/{_name(pod)}"
        status = pod.get("status") or {}
        for cond in status.get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("reason") == "Unschedulable":
                yield Finding(
                    subject,
                    f"cannot be scheduled: {cond.get('message')}",
                    "free or add nodes, or relax requests/affinity (an unbound PVC is "
                    "explained above).",
                )
        statuses = (status.get("initContainerStatuses") or []) + (
            status.get("containerStatuses") or []
        )
        for cs in statuses:
            found = _container_finding(snap, pod, cs)
            if found:
                yield found
        yield from _probe_findings(snap, pod)


def _container_finding(snap: Snapshot, pod: Obj, cs: Obj) -> Finding | None:
    subject = f"Pod/{_name(pod)} container {cs.get('name')}"
    waiting = (cs.get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason")
    if reason in _PULL:
        return Finding(
            subject,
            f"cannot pull image {cs.get('image')} ({reason}): {waiting.get('message', '')}",
            "check the image name and tag in the overlay's `images:`, that the registry is "
            "reachable from the nodes, and imagePullSecrets for a private registry.",
        )
    if reason == "CrashLoopBackOff":
        last = (cs.get("lastState") or {}).get("terminated") or {}
        log = snap.logs.get(f"{_name(pod)}/{cs.get('name')}", "").rstrip()
        return Finding(
            subject,
            f"keeps crashing (restarts: {cs.get('restartCount', 0)}, last exit code "
            f"{last.get('exitCode', '?')}, reason {last.get('reason', '?')}). "
            f"Last log lines:\n{_indent(log or '(empty)')}\n",
            f"read the log above; `kubectl -n {snap.namespace} logs {_name(pod)} -c "
            f"{cs.get('name')} --previous` shows all of it.",
        )
    if reason in _CONFIG:
        return Finding(
            subject,
            f"cannot start ({reason}): {waiting.get('message', '')}",
            "create what it references (a Secret/ConfigMap key) or fix the reference.",
        )
    return None


def _probe_findings(snap: Snapshot, pod: Obj) -> Iterator[Finding]:
    failing: dict[str, Obj] = {}
    for event in _events_for(snap, "Pod", _name(pod)):
        message = str(event.get("message", ""))
        if event.get("reason") == "Unhealthy" and "probe failed" in message:
            failing[message.split(" probe failed", 1)[0]] = event
    for probe, event in failing.items():
        yield Finding(
            f"Pod/{_name(pod)}",
            f"{probe} probe failing ({event.get('count', 1)} times): {event.get('message')}",
            "check the probe's port and path against the container; a slow first start needs "
            "a larger startupProbe failureThreshold, not a longer liveness probe.",
        )


def _indent(text: str) -> str:
    return "\n".join(f"    | {line}" for line in text.splitlines())


# ---- Ingress ------------------------------------------------------------------------------
def _ingress_findings(snap: Snapshot) -> Iterator[Finding]:
    classes = {_name(c) for c in snap.ingress_classes}
    defaults = [_name(c) for c in snap.ingress_classes if _annotation(c, _DEFAULT_IC) == "true"]
    secrets = {_name(s) for s in snap.secrets}
    for ing in snap.ingresses:
        subject = f"Ingress/{_name(ing)}"
        spec = ing.get("spec") or {}
        wanted = spec.get("ingressClassName") or _annotation(ing, "kubernetes.io/ingress.class")
        if (wanted and wanted not in classes) or (not wanted and not defaults):
            yield Finding(
                subject,
                f"asks for ingress class '{wanted or '(default)'}' but the cluster has no such "
                "IngressClass: no ingress controller serves it, so the external URL cannot work.",
                "install the controller (`make setup-cluster` installs ingress-nginx on kind) "
                "or use a port-forward (PLATFORM_K8S_STORE_ACCESS=port-forward).",
            )
        elif not ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            yield Finding(
                subject,
                f"has no address: the controller for class '{wanted or defaults[0]}' has not "
                "admitted it (is the controller running?).",
                "`kubectl get pods -A -l app.kubernetes.io/component=controller`.",
            )
        for tls in spec.get("tls") or []:
            secret = tls.get("secretName")
            if secret and secret not in secrets:
                yield Finding(
                    subject,
                    f"uses TLS Secret '{secret}', which does not exist in {snap.namespace}.",
                    "dev: run `python -m platform_defs.k8s.prepare --overlay dev` and re-apply; "
                    "prod: `kubectl -n analytics describe certificate` shows why cert-manager "
                    "has not issued it.",
                )


def explain(snap: Snapshot) -> list[Finding]:
    """Everything wrong that the snapshot shows, PVCs first (they block pods)."""
    return [*_pvc_findings(snap), *_pod_findings(snap), *_ingress_findings(snap)]


def _items(cluster: Cluster, api_version: str, kind: str, namespace: str | None) -> list[Obj]:
    return cluster.list(api_version, kind, namespace)


def collect(cluster: Cluster, namespace: str) -> Snapshot:
    """Read what `explain` needs; logs only for crash-looping containers."""
    snap = Snapshot(
        namespace=namespace,
        pvcs=_items(cluster, "v1", "PersistentVolumeClaim", namespace),
        storage_classes=_items(cluster, "storage.k8s.io/v1", "StorageClass", None),
        pods=_items(cluster, "v1", "Pod", namespace),
        events=_items(cluster, "v1", "Event", namespace),
        ingresses=_items(cluster, "networking.k8s.io/v1", "Ingress", namespace),
        ingress_classes=_items(cluster, "networking.k8s.io/v1", "IngressClass", None),
        secrets=_items(cluster, "v1", "Secret", namespace),
    )
    for pod in snap.pods:
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            if ((cs.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff":
                key = f"{_name(pod)}/{cs['name']}"
                snap.logs[key] = cluster.pod_log(_name(pod), namespace, cs["name"], previous=True)
    return snap


def report(findings: list[Finding]) -> str:
    if not findings:
        return "The cluster shows no known cause (PVCs bound, pods without errors, ingress set)."
    return "\n".join(str(f) for f in findings)

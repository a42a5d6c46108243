"""Read the live MinIO objects: its credentials, replicas and volumes (Service endpoints:
`endpoints.py`).

The credentials are read from the Secret the *running* workload references (its
`MINIO_ROOT_USER`/`MINIO_ROOT_PASSWORD` secretKeyRefs), not guessed from a name: the Secret's
name carries a content hash that changes on rotation, and the pods are what clients talk to.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from platform_defs import credentials
from platform_defs.credentials import Credentials
from platform_defs.errors import StoreUnreachableError
from platform_defs.k8s.cluster import Cluster

Obj = dict[str, Any]
WORKLOAD_API = "apps/v1"
_ENV_KEYS = ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD")


@dataclass(frozen=True)
class Replicas:
    kind: str
    name: str
    desired: int
    ready: int
    available: int

    @property
    def all_available(self) -> bool:
        return self.desired > 0 and self.available >= self.desired


def workload(cluster: Cluster, namespace: str, name: str) -> Obj | None:
    """The MinIO Deployment (single-node) or StatefulSet (distributed), whichever exists."""
    for kind in ("Deployment", "StatefulSet"):
        found = cluster.get(WORKLOAD_API, kind, name, namespace)
        if found is not None:
            found.setdefault("kind", kind)
            return found
    return None


def replicas(obj: Obj) -> Replicas:
    status = obj.get("status") or {}
    ready = int(status.get("readyReplicas") or 0)
    # StatefulSets report availableReplicas too (since 1.22); fall back to ready.
    available = int(status.get("availableReplicas", ready) or 0)
    desired = int((obj.get("spec") or {}).get("replicas", 1))
    return Replicas(obj["kind"], obj["metadata"]["name"], desired, ready, available)


def _secret_refs(obj: Obj) -> dict[str, tuple[str, str]]:
    refs: dict[str, tuple[str, str]] = {}
    for container in obj["spec"]["template"]["spec"].get("containers", []):
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if env.get("name") in _ENV_KEYS and ref:
                refs[env["name"]] = (ref["name"], ref["key"])
    return refs


def root_credentials(cluster: Cluster, namespace: str, name: str) -> Credentials:
    """MinIO's root credentials from the Secret its pods read, validated like any others."""
    obj = workload(cluster, namespace, name)
    if obj is None:
        raise StoreUnreachableError(
            f"MinIO ({name}) is not deployed in namespace {namespace} of context "
            f"'{cluster.context}'. Materialize `object_store` (or `make setup-cluster`) first."
        )
    refs = _secret_refs(obj)
    values = []
    for key in _ENV_KEYS:
        if key not in refs:
            raise StoreUnreachableError(
                f"{obj['kind']}/{name} takes {key} from no Secret; the platform can only read "
                "credentials from a secretKeyRef. Restore the env entry from the manifests."
            )
        secret_name, secret_key = refs[key]
        secret = cluster.get("v1", "Secret", secret_name, namespace) or {}
        raw = (secret.get("data") or {}).get(secret_key)
        if raw is None:
            raise StoreUnreachableError(
                f"Secret {namespace}/{secret_name} (key {secret_key}), which {obj['kind']}/"
                f"{name} reads {key} from, is missing. Re-apply the manifests (materialize "
                "`object_store`)."
            )
        values.append(base64.b64decode(raw).decode("utf-8"))
    creds = Credentials(access_key=values[0], secret_key=values[1])
    return credentials.validate(creds, source=f"Secret {namespace}/{refs[_ENV_KEYS[0]][0]}")


def pvc_phases(cluster: Cluster, namespace: str, selector: str) -> dict[str, str]:
    return {
        p["metadata"]["name"]: (p.get("status") or {}).get("phase", "Unknown")
        for p in cluster.list("v1", "PersistentVolumeClaim", namespace, selector)
    }


def container_restarts(cluster: Cluster, namespace: str, selector: str) -> dict[str, int]:
    """Restarts per MinIO pod: a climbing count is a crash loop before it becomes an outage."""
    return {
        p["metadata"]["name"]: sum(
            int(c.get("restartCount") or 0)
            for c in (p.get("status") or {}).get("containerStatuses") or []
        )
        for p in cluster.list("v1", "Pod", namespace, selector)
    }

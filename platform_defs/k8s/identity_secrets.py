"""One Secret per service identity on the kubernetes target, so pods never need MinIO's root.

Root (the kustomize-generated `iceberg-minio-<hash>` Secret) is for MinIO itself and for
provisioning. Everything else reads its own identity's keys: the Spark step's pod takes
`access-key`/`secret-key` from `iceberg-minio-spark` through secretKeyRef, so a leaked Spark pod
can touch the warehouse prefix only. The Secrets are not in `manifests/` because their values
are created at run time (the MinIO admin API), not by the prepare tool; they are applied with
server-side apply under the platform's field manager, like the overlay's own objects, so
`kubectl get secret -o yaml --show-managed-fields` shows who owns them and re-applying the same
keys changes nothing. The name has no content hash: a Spark pod reads its Secret at start and
lives for one step, so nothing has to roll when the keys change.
"""

from __future__ import annotations

import base64

from platform_defs.credentials import Credentials
from platform_defs.errors import IdentityError
from platform_defs.k8s.apply import Applied, apply_one
from platform_defs.k8s.cluster import Cluster
from platform_defs.k8s.render import Document

ACCESS_KEY = "access-key"
SECRET_KEY = "secret-key"
IDENTITY_LABEL = "lakehouse.platform/identity"
# The same label set the overlays give MinIO's objects (tools/manifest_policies.py checks it
# there), except managed-by: these objects come from the platform, not from kustomize.
LABELS = {
    "app.kubernetes.io/name": "minio",
    "app.kubernetes.io/instance": "iceberg-minio",
    "app.kubernetes.io/component": "service-identity",
    "app.kubernetes.io/part-of": "lakehouse-platform",
    "app.kubernetes.io/managed-by": "lakehouse-platform",
    "component": "data-infrastructure",
    "tier": "data",
}


def secret_name(identity: str) -> str:
    return f"iceberg-minio-{identity}"


def document(namespace: str, identity: str, creds: Credentials) -> Document:
    """`data` rather than `stringData`: the server stores `data`, so a dry-run or a read-back
    compares equal to what was applied and a second apply is a no-op."""

    def b64(value: str) -> str:
        return base64.b64encode(value.encode("utf-8")).decode("ascii")

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name(identity),
            "namespace": namespace,
            "labels": {**LABELS, IDENTITY_LABEL: identity},
        },
        "type": "Opaque",
        "data": {ACCESS_KEY: b64(creds.access_key), SECRET_KEY: b64(creds.secret_key)},
    }


def publish(cluster: Cluster, namespace: str, identity: str, creds: Credentials) -> Applied:
    """Create or update the identity's Secret; `action` says whether anything changed."""
    return apply_one(cluster, document(namespace, identity, creds))


def require(cluster: Cluster, namespace: str, identity: str) -> str:
    """The name of the identity's Secret, after checking it holds both keys (a pod started on a
    missing Secret would sit in CreateContainerConfigError until the wait timeout)."""
    name = secret_name(identity)
    secret = cluster.get("v1", "Secret", name, namespace) or {}
    missing = [k for k in (ACCESS_KEY, SECRET_KEY) if k not in (secret.get("data") or {})]
    if missing:
        raise IdentityError(
            f"Secret {namespace}/{name} (context '{cluster.context}') "
            f"{'does not exist' if not secret else 'lacks ' + ', '.join(missing)}: the "
            f"{identity!r} identity's pods read their keys from it. Materialize "
            "`service_identities` to create it (it never holds MinIO's root keys)."
        )
    return name

"""Root-key rotation on the kubernetes target, on the real loopback control plane.

The dev overlay's MinIO is applied by the platform (`KubernetesTarget.ensure_store`) into
`analytics`, as a user's first bootstrap would. Rotating root through the platform's own
distributor (`platform_defs.k8s.rotation`) writes the new keys into the overlay's generated
files; the re-apply creates a root Secret with a new content-hash name, the Deployment's pod
template now references it, and the real Deployment controller rolls MinIO (new generation,
new ReplicaSet with a new pod-template-hash, the old one scaled to 0). kwok makes the new pod
Ready, so the platform's rollout wait ends as it would on a cluster running MinIO. A second
apply without rotation must then change nothing.

What is not here: the store accepting the new keys (`platform_defs.identities.rotation.rotate` waits for
that). kwok runs no MinIO that could read its new Secret; that half of rotation is tested
against real S3 servers in tests/test_rotation*.py. Marked `cluster`.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from platform_defs import credentials, identities
from platform_defs.k8s import cluster as k8s_cluster
from platform_defs.k8s import identity_secrets
from platform_defs.settings import load_settings
from platform_defs.targets import select
from platform_defs.targets.kubernetes import KubernetesTarget

pytestmark = pytest.mark.cluster
NAMESPACE = "analytics"  # the overlay's own namespace: the target refuses any other
DEPLOYMENT = "iceberg-minio"


@pytest.fixture
def dev_target(live_k8s_env: dict[str, str]) -> KubernetesTarget:
    """The kubernetes target on the live cluster's empty `analytics` (`live_k8s_env`: the dev
    overlay prepared in a scratch copy; the store URL a closed loopback port, nothing here
    talks S3)."""
    return KubernetesTarget(load_settings())


def _deployment(api: k8s_cluster.Cluster) -> dict[str, Any]:
    found = api.get("apps/v1", "Deployment", DEPLOYMENT, NAMESPACE)
    assert found is not None
    return found


def _root_secret_ref(deployment: dict[str, Any]) -> str:
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    (ref,) = [e for e in env if e["name"] == "MINIO_ROOT_PASSWORD"]
    return str(ref["valueFrom"]["secretKeyRef"]["name"])


def _replica_sets(api: k8s_cluster.Cluster) -> dict[str, dict[str, Any]]:
    """pod-template-hash -> (replicas, revision) of MinIO's ReplicaSets."""
    out = {}
    for rs in api.list("apps/v1", "ReplicaSet", NAMESPACE):
        meta = rs["metadata"]
        out[meta["labels"]["pod-template-hash"]] = {
            "replicas": rs["spec"].get("replicas"),
            "ready": (rs.get("status") or {}).get("readyReplicas", 0),
            "revision": meta["annotations"]["deployment.kubernetes.io/revision"],
        }
    return out


def _secret_keys(api: k8s_cluster.Cluster, name: str) -> tuple[str, str]:
    secret = api.get("v1", "Secret", name, NAMESPACE)
    assert secret is not None, f"Secret/{name} is not on the cluster"
    data = secret["data"]
    return (
        base64.b64decode(data["root-user"]).decode(),
        base64.b64decode(data["root-password"]).decode(),
    )


def test_root_rotation_rolls_minio_onto_a_new_secret_and_a_reapply_changes_nothing(
    dev_target: KubernetesTarget, api: k8s_cluster.Cluster
) -> None:
    first = dev_target.ensure_store()
    assert first.details["ready_replicas"] == {f"Deployment/{DEPLOYMENT}": 1}
    before = _deployment(api)
    old_secret = _root_secret_ref(before)
    (old_hash,) = _replica_sets(api)
    old_creds = dev_target.endpoint().credentials

    new = credentials.generate("minio-root")
    distributor = select(dev_target.settings).credential_distributor()
    distributor.publish(identities.ROOT, new)
    distributor.restart_consumers(identities.ROOT)  # re-applies and waits for the rollout

    after = _deployment(api)
    new_secret = _root_secret_ref(after)
    assert new_secret != old_secret and new_secret.startswith(f"{DEPLOYMENT}-")
    assert _secret_keys(api, new_secret) == (new.access_key, new.secret_key)
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert after["status"]["observedGeneration"] == after["metadata"]["generation"]
    sets = _replica_sets(api)
    (new_hash,) = [h for h in sets if h != old_hash]
    assert sets[old_hash]["replicas"] == 0, "the old pods are gone (Recreate)"
    assert sets[new_hash] == {"replicas": 1, "ready": 1, "revision": "2"}
    pods = api.list("v1", "Pod", NAMESPACE)
    assert [p["metadata"]["labels"]["pod-template-hash"] for p in pods] == [new_hash]
    creds = KubernetesTarget(load_settings()).endpoint().credentials
    assert creds == new and creds != old_creds, "the platform reads what the pods reference"

    again = KubernetesTarget(load_settings()).ensure_store()
    assert again.action == "unchanged" and again.details["changed_objects"] == 0
    unchanged = _deployment(api)
    assert unchanged["metadata"]["generation"] == after["metadata"]["generation"]
    assert _root_secret_ref(unchanged) == new_secret
    assert _replica_sets(api) == sets, "no further rollout"


def test_spark_rotation_updates_its_secret_and_rolls_nothing(
    dev_target: KubernetesTarget, api: k8s_cluster.Cluster
) -> None:
    """A service identity's Secret is read by each Spark pod at start, so publishing the new keys
    is the whole switch: MinIO's pod template must not change (no rollout of the store)."""
    dev_target.ensure_store()
    generation = _deployment(api)["metadata"]["generation"]
    distributor = select(dev_target.settings).credential_distributor()
    distributor.publish(identities.SPARK, credentials.generate("analytics-spark"))
    name = identity_secrets.secret_name(identities.SPARK)
    first = api.get("v1", "Secret", name, NAMESPACE)
    assert first is not None

    new = credentials.generate("analytics-spark")
    distributor.publish(identities.SPARK, new)
    distributor.restart_consumers(identities.SPARK)

    secret = api.get("v1", "Secret", name, NAMESPACE)
    assert secret is not None
    assert secret["metadata"]["resourceVersion"] != first["metadata"]["resourceVersion"]
    assert base64.b64decode(secret["data"]["access-key"]).decode() == new.access_key
    assert base64.b64decode(secret["data"]["secret-key"]).decode() == new.secret_key
    assert identities.load(dev_target.settings, identities.SPARK) == new
    assert _deployment(api)["metadata"]["generation"] == generation
    managers = {m["manager"] for m in secret["metadata"]["managedFields"]}
    assert managers == {"lakehouse-platform"}, managers

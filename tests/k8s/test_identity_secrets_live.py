"""On the kubernetes target every service identity gets its own Secret, and the Spark step's pod
reads the `spark` identity's Secret, never MinIO's root Secret (root only provisions). On the
real loopback control plane: the Secrets are read back from kube-apiserver (labels, type, data,
managedFields of the platform's field manager, resourceVersion across a same-keys publish), and
the pod body is the one dagster-k8s builds. MinIO's admin API is a recording stand-in, named as
such: kwok runs no MinIO. Marked `cluster`."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from dagster_k8s.pipes import build_pod_body

from assets.spark_jobs.context import ACCESS_KEY_ENV, SECRET_KEY_ENV
from platform_defs import credentials, identities
from platform_defs.credentials import Credentials
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import IdentityError
from platform_defs.identities import Role, provisioning
from platform_defs.k8s import pipes
from platform_defs.k8s.cluster import FIELD_MANAGER, Cluster
from platform_defs.settings import load_settings
from platform_defs.targets import select
from platform_defs.targets.kubernetes import KubernetesTarget
from tests.k8s.live_fixtures import TARGET_NAMESPACE

pytestmark = pytest.mark.cluster
ROOT_KEYS = {"root-user", "root-password"}


def _secret(api: Cluster, name: str) -> dict[str, Any]:
    found = api.get("v1", "Secret", name, TARGET_NAMESPACE)
    assert found is not None, f"Secret {TARGET_NAMESPACE}/{name} is not on the server"
    return found


def _decoded(api: Cluster, name: str) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in _secret(api, name)["data"].items()}


def _root_secret(api: Cluster) -> str:
    deployment = api.get("apps/v1", "Deployment", "iceberg-minio", TARGET_NAMESPACE)
    assert deployment is not None
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    (ref,) = [e for e in env if e["name"] == "MINIO_ROOT_USER"]
    return str(ref["valueFrom"]["secretKeyRef"]["name"])


def _secret_refs(pod_spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(env name, Secret name, key) of every secretKeyRef in the pod body dagster-k8s builds."""
    pod = build_pod_body("spark-step", "img:1", ["python"], {}, {}, pod_spec)
    return [
        (e.name, e.value_from.secret_key_ref.name, e.value_from.secret_key_ref.key)
        for c in pod.spec.containers
        for e in c.env or []
        if e.value_from is not None and e.value_from.secret_key_ref is not None
    ]


def test_spark_pod_reads_the_spark_identity_secret_never_root(
    live_provisioned: KubernetesTarget, api: Cluster
) -> None:
    settings = live_provisioned.settings
    spark = credentials.generate("analytics-spark")
    select(settings).credential_distributor().publish(identities.SPARK, spark)

    endpoint, secret = live_provisioned.pod_endpoint()
    refs = _secret_refs(pipes.spark_pod_spec(settings, secret_name=secret))

    root_secret = _root_secret(api)
    assert set(_decoded(api, root_secret)) == ROOT_KEYS, "the live root Secret is MinIO's"
    assert refs, "the pod takes its keys from a Secret, never from a literal"
    assert all(name != root_secret for _, name, _ in refs), "the Spark pod must not get root"
    assert not {key for *_, key in refs} & ROOT_KEYS
    assert sorted(refs) == [
        (ACCESS_KEY_ENV, "iceberg-minio-spark", "access-key"),
        (SECRET_KEY_ENV, "iceberg-minio-spark", "secret-key"),
    ]
    # What the pod will read is the spark identity's keys, not root's.
    assert _decoded(api, secret) == {
        "access-key": spark.access_key,
        "secret-key": spark.secret_key,
    }
    assert endpoint.url == "http://iceberg-minio.analytics.svc.cluster.local:9000"


def test_spark_pod_without_the_identity_secret_is_refused(
    live_provisioned: KubernetesTarget,
) -> None:
    with pytest.raises(IdentityError) as err:
        live_provisioned.pod_endpoint()
    message = str(err.value)
    assert "analytics/iceberg-minio-spark" in message and "`service_identities`" in message


def test_identity_secret_is_applied_labelled_and_idempotent(
    live_provisioned: KubernetesTarget, api: Cluster
) -> None:
    settings = live_provisioned.settings
    creds = credentials.generate("analytics-analyst")
    distributor = select(settings).credential_distributor()
    distributor.publish(identities.ANALYST, creds)

    secret = _secret(api, "iceberg-minio-analyst")
    (entry,) = [m for m in secret["metadata"]["managedFields"] if m["manager"] == FIELD_MANAGER]
    assert entry["operation"] == "Apply", "a server-side apply of the platform's manager"
    assert set(entry["fieldsV1"]["f:data"]) == {"f:access-key", "f:secret-key"}
    assert secret["type"] == "Opaque"
    assert secret["metadata"]["labels"] == {
        "app.kubernetes.io/name": "minio",
        "app.kubernetes.io/instance": "iceberg-minio",
        "app.kubernetes.io/component": "service-identity",
        "app.kubernetes.io/part-of": "lakehouse-platform",
        "app.kubernetes.io/managed-by": "lakehouse-platform",
        "component": "data-infrastructure",
        "tier": "data",
        "lakehouse.platform/identity": "analyst",
    }
    assert _decoded(api, "iceberg-minio-analyst") == {
        "access-key": creds.access_key,
        "secret-key": creds.secret_key,
    }
    # The run's own copy (what the identity checks and rotation read), 0600 as everywhere.
    assert identities.load(settings, identities.ANALYST) == creds
    version = secret["metadata"]["resourceVersion"]
    distributor.publish(identities.ANALYST, creds)
    assert _secret(api, "iceberg-minio-analyst")["metadata"]["resourceVersion"] == version, (
        "same keys: no change"
    )


def test_service_identities_step_writes_a_secret_per_identity(
    live_provisioned: KubernetesTarget, api: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The provisioning step itself (what the `service_identities` asset runs), with a recording
    stand-in for MinIO's admin API and the store's acceptance check: no MinIO runs under kwok.
    The Secrets are the live ones."""
    granted: list[tuple[str, str]] = []

    class RecordingAdmin:
        kind = "minio-admin-api (stand-in)"
        hot_root = False

        def grant(self, role: Role, creds: Credentials) -> None:
            granted.append((role.name, creds.access_key))

        def revoke(self, role: Role, access_key: str) -> None:
            raise AssertionError("provisioning never revokes")

    monkeypatch.setattr(provisioning, "admin", lambda settings, root: RecordingAdmin())
    monkeypatch.setattr(provisioning, "wait_accepted", lambda endpoint, creds, name: None)
    settings = load_settings()
    root = StoreEndpoint("http://127.0.0.1:9", Credentials("root-stand-in", "x" * 40))
    publish = select(settings).credential_distributor().publish
    kind, done = provisioning.ensure(settings, root, publish=publish)

    assert kind == "minio-admin-api (stand-in)"
    assert [g[0] for g in granted] == list(identities.ROLE_NAMES)
    assert {p.role.name for p in done} == set(identities.ROLE_NAMES)
    for p in done:
        values = _decoded(api, f"iceberg-minio-{p.role.name}")
        assert values["access-key"] == p.access_key
        assert values == {
            "access-key": identities.load(settings, p.role.name).access_key,
            "secret-key": identities.load(settings, p.role.name).secret_key,
        }
    assert _decoded(api, "iceberg-minio-spark")["access-key"].startswith("analytics-spark-")

"""Root-key rotation on the kubernetes target, against the API stand-in: new keys reach a new
Secret (new content hash), the workload is re-pointed at it (so Kubernetes rolls it), and the
platform reads the new keys back from what the pods reference. A service identity's rotation
updates that identity's own Secret."""

from __future__ import annotations

import base64

import pytest

from platform_defs import credentials, identities
from platform_defs.errors import IdentityError
from platform_defs.settings import load_settings
from platform_defs.targets import select
from platform_defs.targets.kubernetes import KubernetesTarget
from tests.k8s.conftest import DEPLOYMENT, READY
from tests.k8s.fake_apiserver import FakeApiServer


def _secret_ref(fake: FakeApiServer) -> str:
    env = fake.objects[DEPLOYMENT]["spec"]["template"]["spec"]["containers"][0]["env"]
    (ref,) = [e for e in env if e["name"] == "MINIO_ROOT_PASSWORD"]
    return str(ref["valueFrom"]["secretKeyRef"]["name"])


def test_root_rotation_rolls_minio_onto_a_new_secret(
    k8s_env: dict[str, str], fake: FakeApiServer
) -> None:
    settings = load_settings()
    fake.status_script[DEPLOYMENT] = [READY]
    KubernetesTarget(settings).ensure_store()
    before, old_secret = KubernetesTarget(settings).endpoint().credentials, _secret_ref(fake)

    new = credentials.generate("minio-root")
    distributor = select(settings).credential_distributor()
    distributor.publish(identities.ROOT, new)
    # The template changed (generation 2): the rollout is seen pending, then complete.
    fake.status_script[DEPLOYMENT] = [
        {**READY, "observedGeneration": 1},
        {**READY, "observedGeneration": 2},
    ]
    distributor.restart_consumers(identities.ROOT)
    assert fake.objects[DEPLOYMENT]["metadata"]["generation"] == 2

    assert _secret_ref(fake) != old_secret, "a new Secret name changes the pod template"
    after = KubernetesTarget(settings).endpoint().credentials
    assert after == new and after != before


def test_spark_rotation_updates_its_secret_and_restarts_nothing(
    k8s_env: dict[str, str], fake: FakeApiServer
) -> None:
    """Spark pods are started per step and read their Secret at start, so publishing the new
    keys is the whole switch: MinIO's pod template must not change (no rollout of the store)."""
    settings = load_settings()
    fake.status_script[DEPLOYMENT] = [READY]
    KubernetesTarget(settings).ensure_store()
    distributor = select(settings).credential_distributor()
    old = credentials.generate("analytics-spark")
    distributor.publish(identities.SPARK, old)
    path = "/api/v1/namespaces/analytics/secrets/iceberg-minio-spark"
    before = fake.objects[path]["metadata"]["resourceVersion"]

    new = credentials.generate("analytics-spark")
    distributor.publish(identities.SPARK, new)
    distributor.restart_consumers(identities.SPARK)

    secret = fake.objects[path]
    assert secret["metadata"]["resourceVersion"] != before
    assert base64.b64decode(secret["data"]["access-key"]).decode() == new.access_key
    assert base64.b64decode(secret["data"]["secret-key"]).decode() == new.secret_key
    assert identities.load(settings, identities.SPARK) == new
    assert fake.objects[DEPLOYMENT]["metadata"]["generation"] == 1


def test_unknown_identity_is_refused_with_a_reason(k8s_env: dict[str, str]) -> None:
    distributor = select(load_settings()).credential_distributor()
    with pytest.raises(IdentityError, match="Unknown service identity 'etl'"):
        distributor.publish("etl", credentials.generate("etl"))

"""Drift on the fields the platform manages, from managedFields as a real server writes them.

The fixtures in fixtures/managed_fields/ hold, per case, the manifest, the live object (GET)
and the platform's forced dry-run apply, recorded from kube-apiserver v1.37.2 on the
loopback testenv by test_fixes_live.py (K8S_RECORD_FIXTURES=1), which also runs the same cases
live. The stand-in cannot produce them: it implements no
ownership transfer and no defaulting. The last tests run the sensor and the repair through the
stand-in with ownership seeded the way `kubectl scale` and `kubectl label` leave it.
"""

from __future__ import annotations

import json
from typing import Any

import dagster as dg
import pytest

from assets.cluster.drift import evaluate_drift
from platform_defs.k8s import drift, fields, rollout
from platform_defs.k8s.cluster import FIELD_MANAGER
from platform_defs.resources.platform import PlatformResource
from platform_defs.targets.kubernetes import KubernetesTarget
from tests.k8s.conftest import DEPLOYMENT, FIXTURES, READY
from tests.k8s.fake_apiserver import MERGE, FakeApiServer

MANAGED = FIXTURES / "managed_fields"


def _case(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((MANAGED / f"{name}.json").read_text())
    return data


def _compare(name: str) -> drift.Drift | None:
    case = _case(name)
    return drift.compare_one(case["manifest"], case["live"], case["dry_run"])


# ---- FieldsV1 ---------------------------------------------------------------------------------
def test_fields_v1_keys_and_leaves() -> None:
    tree = {
        "f:metadata": {"f:labels": {".": {}, "f:team": {}}},
        "f:spec": {
            "f:containers": {'k:{"name":"minio"}': {".": {}, "f:image": {}}},
            "f:finalizers": {'v:"example.com/keep"': {}},
            "f:args": {"i:1": {}},
        },
    }
    assert set(fields.leaves(tree)) == {
        (("f", "metadata"), ("f", "labels"), ("f", "team")),
        (("f", "spec"), ("f", "containers"), ("k", (("name", "minio"),)), ("f", "image")),
        (("f", "spec"), ("f", "finalizers"), ("v", '"example.com/keep"')),
        (("f", "spec"), ("f", "args"), ("i", 1)),
    }
    obj = {
        "metadata": {"labels": {"team": "data"}},
        "spec": {
            "containers": [{"name": "init"}, {"name": "minio", "image": "m:1"}],
            "finalizers": ["example.com/keep"],
            "args": ["a", "b"],
        },
    }
    values = {fields.dotted(p): fields.value_at(obj, p) for p in fields.leaves(tree)}
    assert values == {
        "metadata.labels.team": "data",
        "spec.containers[name=minio].image": "m:1",
        'spec.finalizers["example.com/keep"]': "example.com/keep",
        "spec.args[1]": "b",
    }
    gone = (("f", "spec"), ("f", "containers"), ("k", (("name", "gone"),)), ("f", "image"))
    assert fields.is_missing(fields.value_at(obj, gone))
    with pytest.raises(ValueError, match="not a FieldsV1 key"):
        fields.parse_key("x:1")


def test_the_recorded_ownership_is_what_the_story_says() -> None:
    live = _case("deployment_scaled_and_labelled")["live"]
    entries = {(e.manager, e.subresource): e for e in fields.ownership(live)}
    replicas = (("f", "spec"), ("f", "replicas"))
    assert replicas in entries[("kubectl", "scale")].paths
    assert replicas not in fields.owned_by(list(entries.values()), FIELD_MANAGER)
    assert entries[("kubectl-label", "")].operation == "Update"


# ---- the cases ----------------------------------------------------------------------------------
def test_kubectl_scale_is_changed_and_kubectl_label_is_foreign() -> None:
    found = _compare("deployment_scaled_and_labelled")
    assert found is not None and found.subject == "Deployment/iceberg-minio"
    (changed,) = found.of_kind("changed")
    assert changed.path == "spec.replicas" and changed.manager == "kubectl"
    assert (
        changed.text
        == "spec.replicas: live 2, manifests 1 (changed by kubectl (Update through /scale))"
    )
    (foreign,) = found.of_kind("foreign")
    assert foreign.path == "metadata.labels.team" and foreign.manager == "kubectl-label"
    assert foreign.removable
    assert "foreign ('data'), set by kubectl-label (Update)" in foreign.text
    assert found.of_kind("conflict") == []
    # The controller-manager's revision annotation and status are the cluster running.
    assert not [d for d in found.differences if "revision" in d or "status" in d]
    assert found.needs_repair(remove_foreign=False)
    assert found.as_metadata()["changed"] == ["spec.replicas"]
    assert found.as_metadata()["foreign"] == ["metadata.labels.team"]


def test_an_object_as_applied_has_no_drift_despite_defaults_and_normalised_quantities() -> None:
    case = _case("deployment_as_applied")
    live = case["live"]["spec"]["template"]["spec"]["containers"][0]
    sent = case["manifest"]["spec"]["template"]["spec"]["containers"][0]
    assert sent["resources"]["limits"]["cpu"] == "1000m"
    assert live["resources"]["limits"]["cpu"] == "1", "the server normalised 1000m"
    assert "terminationMessagePath" in live and "terminationMessagePath" not in sent, "defaulted"
    assert _compare("deployment_as_applied") is None


def test_another_applier_holding_a_field_is_a_conflict() -> None:
    found = _compare("service_conflict")
    assert found is not None
    (conflict,) = found.fields
    assert conflict.kind == "conflict" and conflict.manager == "argocd-controller"
    assert conflict.path == "spec.ports[port=9000,protocol=TCP].targetPort"
    assert "live 9443, manifests 'api' (conflict: argocd-controller (Apply) applies it too" in (
        conflict.text
    )


def test_statefulset_server_defaults_are_not_drift() -> None:
    """Recorded: with `type: RollingUpdate` set, v1.37 defaults no partition (only an empty
    updateStrategy gets `partition: 0`), but it does default the PVC retention policy."""
    case = _case("statefulset_server_defaults")
    live = case["live"]
    assert live["spec"]["updateStrategy"] == {"type": "RollingUpdate"}
    assert "persistentVolumeClaimRetentionPolicy" not in case["manifest"]["spec"]
    assert live["spec"]["persistentVolumeClaimRetentionPolicy"]["whenScaled"] == "Retain"
    assert _compare("statefulset_server_defaults") is None
    status = rollout.rollout_status(live)
    assert status.done and "rolling update complete 4 pods" in status.message
    mid_roll = {
        **live,
        "status": {**live["status"], "updatedReplicas": 2, "updateRevision": "iceberg-minio-new"},
    }
    assert not rollout.rollout_status(mid_roll).done


def test_foreign_fields_alone_are_repaired_only_with_the_setting() -> None:
    case = _case("deployment_scaled_and_labelled")
    live = json.loads(json.dumps(case["live"]))
    live["spec"]["replicas"] = 1  # scaled back by hand: value as applied, owner still kubectl
    found = drift.compare_one(case["manifest"], live, case["dry_run"])
    assert found is not None
    assert [f.kind for f in found.fields] == ["changed", "foreign"]
    assert "as in the manifests, but now owned by kubectl (Update through /scale)" in (
        found.fields[0].text
    )
    only_foreign = drift.Drift(found.subject, found.differences[1:], found.fields[1:])
    assert not only_foreign.needs_repair(remove_foreign=False)
    assert only_foreign.needs_repair(remove_foreign=True)


# ---- sensor and repair through the stand-in ---------------------------------------------------


def _entry(manager: str, tree: dict[str, Any], subresource: str | None = None) -> dict[str, Any]:
    entry = {
        "manager": manager,
        "operation": "Update",
        "apiVersion": "apps/v1",
        "time": "2026-12-02T06:12:41Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": tree,
    }
    return {**entry, "subresource": subresource} if subresource else entry


def _kubectl_scale(fake: FakeApiServer, replicas: int) -> None:
    """What `kubectl scale --replicas=N` leaves on a real server: the value, and the field moved
    from the platform's Apply entry to kubectl's /scale entry."""
    obj = fake.objects[DEPLOYMENT]
    obj["spec"]["replicas"] = replicas
    for entry in obj["metadata"]["managedFields"]:
        if entry["manager"] == FIELD_MANAGER:
            del entry["fieldsV1"]["f:spec"]["f:replicas"]
    obj["metadata"]["managedFields"].append(
        _entry("kubectl", {"f:spec": {"f:replicas": {}}}, "scale")
    )


def _kubectl_label(fake: FakeApiServer, key: str, value: str) -> None:
    obj = fake.objects[DEPLOYMENT]
    obj["metadata"]["labels"][key] = value
    tree = {"f:metadata": {"f:labels": {f"f:{key}": {}}}}
    obj["metadata"]["managedFields"].append(_entry("kubectl-label", tree))


def test_scale_and_label_are_reported_and_scale_is_repaired(
    provisioned: KubernetesTarget, fake: FakeApiServer
) -> None:
    _kubectl_scale(fake, 2)
    _kubectl_label(fake, "team", "data")
    (found,) = provisioned.drift()
    assert [(f.kind, f.path) for f in found.fields] == [
        ("changed", "spec.replicas"),
        ("foreign", "metadata.labels.team"),
    ]
    result = evaluate_drift(PlatformResource())
    assert isinstance(result, dg.SensorResult) and len(result.run_requests or []) == 1
    (obs,) = result.asset_events or []
    assert isinstance(obs, dg.AssetObservation) and obs.metadata["foreign_fields"].value == 1

    fake.status_script[DEPLOYMENT] = [{**READY, "observedGeneration": 2}]  # after the re-apply
    provisioned.ensure_store()  # what reapply_platform_manifests runs

    assert fake.objects[DEPLOYMENT]["spec"]["replicas"] == 1
    (left,) = provisioned.drift()
    assert [(f.kind, f.path) for f in left.fields] == [("foreign", "metadata.labels.team")]
    assert fake.objects[DEPLOYMENT]["metadata"]["labels"]["team"] == "data", "left alone"
    after = evaluate_drift(PlatformResource())
    assert isinstance(after, dg.SensorResult) and not after.run_requests, "nothing to repair"


def test_the_setting_lets_the_repair_remove_foreign_labels(
    provisioned: KubernetesTarget, fake: FakeApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _kubectl_label(fake, "team", "data")
    monkeypatch.setenv("PLATFORM_K8S_REMOVE_FOREIGN_FIELDS", "true")
    result = evaluate_drift(PlatformResource())
    assert isinstance(result, dg.SensorResult) and len(result.run_requests or []) == 1
    rv = fake.objects[DEPLOYMENT]["metadata"]["resourceVersion"]
    target = PlatformResource().target()
    assert isinstance(target, KubernetesTarget)

    info = target.ensure_store()

    assert info.details["foreign_fields_removed"] == 1
    (patch,) = [r for r in fake.requests if r.content_type == MERGE]
    assert patch.path == DEPLOYMENT
    assert patch.body == {"metadata": {"resourceVersion": rv, "labels": {"team": None}}}
    assert patch.query["fieldManager"] == [FIELD_MANAGER]
    assert "team" not in fake.objects[DEPLOYMENT]["metadata"]["labels"]
    assert target.drift() == []


def test_a_removal_read_at_an_older_version_is_refused(
    provisioned: KubernetesTarget, fake: FakeApiServer
) -> None:
    """The merge patch carries the resourceVersion it was decided on: a write in between makes
    it fail (409) instead of removing what someone just set."""
    from platform_defs.errors import KubernetesError

    _kubectl_label(fake, "team", "data")
    doc = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": dict(fake.objects[DEPLOYMENT]["metadata"]),
    }
    patch = {"metadata": {"resourceVersion": "1", "labels": {"team": None}}}
    with pytest.raises(KubernetesError, match="409"):
        provisioned.cluster().merge_patch(doc, patch)
    assert fake.objects[DEPLOYMENT]["metadata"]["labels"]["team"] == "data"


STATEFULSET = "/apis/apps/v1/namespaces/analytics/statefulsets/iceberg-minio"


def test_prod_statefulset_with_server_defaults_rolls_out_and_shows_no_drift(
    k8s_env: dict[str, str], fake: FakeApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stand-in defaults a StatefulSet as the real server does (recorded on v1.37: with
    `type: RollingUpdate` and no `rollingUpdate` block, no partition is added; the other
    defaults are): the rollout is waited for, and no default is drift."""
    monkeypatch.setenv("PLATFORM_K8S_OVERLAY", "prod")
    rolling = {"observedGeneration": 1, "replicas": 4, "readyReplicas": 4}
    fake.status_script[STATEFULSET] = [
        {**rolling, "updatedReplicas": 3},
        {**rolling, "updatedReplicas": 4, "availableReplicas": 4},
    ]
    target = PlatformResource().target()
    assert isinstance(target, KubernetesTarget)
    info = target.ensure_store()
    live = fake.objects[STATEFULSET]
    assert live["spec"]["updateStrategy"] == {"type": "RollingUpdate"}
    assert live["spec"]["minReadySeconds"] == 0  # a default the server adds
    assert info.details["ready_replicas"] == {"StatefulSet/iceberg-minio": 4}
    assert target.drift() == []


def test_a_dry_run_without_the_platforms_fields_is_an_error_not_silence() -> None:
    from platform_defs.errors import KubernetesError

    case = _case("deployment_as_applied")
    stripped = json.loads(json.dumps(case["dry_run"]))
    del stripped["metadata"]["managedFields"]
    with pytest.raises(KubernetesError, match="drift cannot be judged"):
        drift.compare_one(case["manifest"], case["live"], stripped)

"""The port-forward helper with a stand-in kubectl, and the Spark step's Pipes pod."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dagster_k8s.pipes import build_pod_body

from platform_defs.errors import KubernetesError
from platform_defs.k8s import pipes, portforward
from platform_defs.settings import load_settings


def _kubectl(tmp_path: Path, body: str) -> Path:
    """A stand-in kubectl: prints what the real one prints, then keeps the forward open."""
    script = tmp_path / "kubectl"
    script.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/args\n{body}\n')
    script.chmod(0o755)
    return script


def test_port_forward_reads_the_local_port(tmp_path: Path) -> None:
    kubectl = _kubectl(
        tmp_path,
        'echo "Forwarding from 127.0.0.1:43127 -> 9000"\necho "Forwarding from [::1]:43127 -> 9000"\nexec sleep 30',
    )
    # The bound is the wait for the stand-in's first line, not a figure under test: generous,
    # so a loaded machine's slow `sh` start does not fail it.
    forward = portforward.ensure(
        "kind-lakehouse", tmp_path / "kc", "analytics", "iceberg-minio", 9000,
        kubectl=kubectl, timeout=120,
    )  # fmt: skip
    try:
        assert forward.url == "http://127.0.0.1:43127"
        assert (tmp_path / "args").read_text().split() == [
            "port-forward",
            "--address",
            "127.0.0.1",
            "--context",
            "kind-lakehouse",
            "--kubeconfig",
            str(tmp_path / "kc"),
            "-n",
            "analytics",
            "svc/iceberg-minio",
            ":9000",
        ]
        again = portforward.ensure(
            "kind-lakehouse", tmp_path / "kc", "analytics", "iceberg-minio", 9000, kubectl=kubectl
        )
        assert again is forward
    finally:
        portforward.stop_all()
    assert not forward.alive()


def test_port_forward_failure_is_explained(tmp_path: Path) -> None:
    kubectl = _kubectl(
        tmp_path,
        'echo "error: unable to forward port because pod is not running. Current status=Pending" >&2\nexit 1',
    )
    with pytest.raises(KubernetesError, match="pod is not running") as err:
        portforward.ensure(
            "ctx", None, "analytics", "iceberg-minio", 9000, kubectl=kubectl, timeout=5
        )
    assert "PLATFORM_K8S_STORE_URL" in str(err.value)


def test_spark_pod_body_is_valid_for_dagster_k8s() -> None:
    settings = load_settings(target="kubernetes")
    spec = pipes.spark_pod_spec(settings, secret_name="iceberg-minio-spark")
    pod = build_pod_body(
        "spark-step",
        "lakehouse-platform:0.1.0",
        ["python", "-m", "job"],
        {"X": "1"},
        {"labels": pipes.S3_CLIENT_LABEL},
        spec,
    )
    assert pod.metadata.labels["lakehouse.platform/s3-client"] == "true"
    container = pod.spec.containers[0]
    env = {e.name: e for e in container.env}
    # The names assets/spark_jobs/context.py reads; the endpoint travels in the Pipes extras.
    from assets.spark_jobs.context import ACCESS_KEY_ENV, SECRET_KEY_ENV

    for name, key in ((ACCESS_KEY_ENV, "access-key"), (SECRET_KEY_ENV, "secret-key")):
        ref = env[name].value_from.secret_key_ref
        assert (ref.name, ref.key) == ("iceberg-minio-spark", key)
        assert env[name].value is None, "the keys never pass through Dagster"
    assert env["AWS_REQUEST_CHECKSUM_CALCULATION"].value == "when_required"
    assert pod.spec.restart_policy == "Never"


def test_spark_step_always_sets_a_pod_wait_timeout() -> None:
    calls: list[dict[str, Any]] = []

    class Client:
        def run(self, **kwargs: Any) -> str:
            calls.append(kwargs)
            return "done"

    settings = load_settings(target="kubernetes", k8s_pod_wait_timeout_seconds=900)
    pipes.run_spark_step(
        None,
        Client(),
        settings,
        command=["python", "-m", "job"],
        secret_name="s",  # type: ignore[arg-type]
    )
    (call,) = calls
    assert call["pod_wait_timeout"] == 900
    assert call["namespace"] == "analytics" and call["image"] == settings.k8s_image


def test_pipes_client_uses_the_configured_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    client = pipes.pipes_client(load_settings(target="kubernetes", kube_context="kind-lakehouse"))
    assert client.kube_context == "kind-lakehouse" and not client.load_incluster_config
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    assert pipes.pipes_client(load_settings(target="kubernetes")).load_incluster_config

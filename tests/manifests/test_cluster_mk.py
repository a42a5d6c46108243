"""mk/cluster.mk: clear refusals without Docker/kind, and an offline render that CI can run.

Docker and kind are replaced by stub scripts so the tests know exactly what the targets see;
no test creates a cluster.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from platform_defs.k8s import render
from tools import manifest_policies as policies

from .conftest import REPO, copy_manifests

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    copy_manifests(tmp_path)
    shutil.copytree(REPO / "mk", tmp_path / "mk")
    return tmp_path


def _stub(path: Path, exit_code: int) -> Path:
    path.write_text(f"#!/bin/sh\nexit {exit_code}\n")
    path.chmod(0o755)
    return path


def _clean_env() -> dict[str, str]:
    """No PLATFORM_* and no outer make's state (MAKELEVEL makes make print directories)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    drop = ("PLATFORM_", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
    return {k: v for k, v in env.items() if not k.startswith(drop)}


def _make(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = _clean_env()
    return subprocess.run(
        [
            "make",
            "-f",
            "mk/cluster.mk",
            f"PY={sys.executable}",
            f"KUBECTL={render.find_tool('kubectl')}",
            *args,
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("target", ["setup-cluster", "setup-cluster-prod"])
def test_missing_docker_is_explained(workdir: Path, target: str) -> None:
    proc = _make(workdir, target, f"DOCKER={workdir / 'no-such-docker'}")
    assert proc.returncode != 0
    assert "Docker is not installed" in proc.stdout


def test_docker_cli_without_daemon_is_explained(workdir: Path) -> None:
    docker = _stub(workdir / "docker", 1)
    proc = _make(workdir, "setup-cluster", f"DOCKER={docker}")
    assert proc.returncode != 0
    assert "daemon does not answer" in proc.stdout


def test_missing_kind_is_explained(workdir: Path) -> None:
    docker = _stub(workdir / "docker", 0)
    proc = _make(workdir, "setup-cluster", f"DOCKER={docker}", f"KIND={workdir / 'no-kind'}")
    assert proc.returncode != 0
    assert "kind is not installed" in proc.stdout


def test_setup_cluster_uses_the_repo_kind_config(workdir: Path) -> None:
    assert (workdir / "manifests/kind/cluster.yaml").is_file()
    docker = _stub(workdir / "docker", 0)
    proc = _make(
        workdir,
        "-n",
        "_kind-cluster",
        "NAME=x",
        "CONFIG=manifests/kind/cluster.yaml",
        f"DOCKER={docker}",
        f"KIND={docker}",
    )
    assert "--config 'manifests/kind/cluster.yaml'" in proc.stdout


def test_install_without_a_cluster_is_explained(workdir: Path, tmp_path: Path) -> None:
    proc = _make(workdir, "install-data-components", f"KUBECONFIG={tmp_path / 'none'}")
    assert proc.returncode != 0
    assert "No Kubernetes API answers" in proc.stdout


def test_render_manifests_prepares_and_renders_both_overlays(workdir: Path) -> None:
    proc = _make(workdir, "render-manifests")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for env in ("dev", "prod"):
        out = workdir / ".rendered" / f"{env}.yaml"
        assert out.stat().st_mode & 0o777 == 0o600, "rendered YAML holds secrets"
        docs = render.load_documents(out.read_text())
        assert policies.check_rendered(docs) == []
    assert (workdir / ".rendered").stat().st_mode & 0o777 == 0o700


def test_including_makefile_keeps_its_default_goal(workdir: Path) -> None:
    (workdir / "Makefile").write_text("include mk/cluster.mk\n\nall:\n\t@echo main-default\n")
    proc = subprocess.run(
        ["make"], cwd=workdir, env=_clean_env(), capture_output=True, text=True, check=False
    )
    assert proc.stdout.strip() == "main-default"

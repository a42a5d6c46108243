"""`make setup-cluster` ends with Dagster provisioning the data components (checked as the
commands make would run; creating a kind cluster needs Docker, which CI does not have)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.k8s.conftest import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")


def _make(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    shutil.copytree(REPO / "mk", tmp_path / "mk")
    return subprocess.run(
        ["make", "-f", "mk/cluster.mk", f"PY={sys.executable}", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )


def test_setup_cluster_ends_with_the_dagster_bootstrap() -> None:
    text = (REPO / "mk" / "cluster.mk").read_text()
    recipe = text.split("\nsetup-cluster:\n", 1)[1].split("\n\n", 1)[0]
    assert (
        recipe.strip()
        .splitlines()[-1]
        .endswith("bootstrap-cluster OVERLAY=dev KUBE_CONTEXT='kind-$(KIND_CLUSTER)'")
    )


def test_bootstrap_cluster_runs_the_job_on_the_kubernetes_target(tmp_path: Path) -> None:
    proc = _make(tmp_path, "-n", "bootstrap-cluster", "KUBE_CONTEXT=kind-lakehouse")
    assert proc.returncode == 0, proc.stderr
    assert "PLATFORM_TARGET=kubernetes" in proc.stdout
    assert "PLATFORM_KUBE_CONTEXT='kind-lakehouse'" in proc.stdout
    assert "job execute -m platform_defs.definitions -j bootstrap_platform" in proc.stdout
    assert proc.stdout.index("prepare --overlay dev") < proc.stdout.index("job execute")

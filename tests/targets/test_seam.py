"""The seam: one PLATFORM_TARGET switch, and callers that never ask which target they hold.

What a target cannot do by its nature raises `NotOnThisTargetError`; the cluster checks and
sensors turn it into "not applicable". These run without a cluster or a store: what they prove
is the contract, the live behaviour is in tests/k8s (loopback control plane) and the graph
tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

import dagster as dg
import pytest

from assets.cluster.checks import minio_workload_available
from assets.cluster.drift import evaluate_drift
from assets.cluster.health import evaluate_cluster_health
from platform_defs.errors import NotOnThisTargetError
from platform_defs.identities.rotation import LocalDistributor
from platform_defs.resources.platform import PlatformResource
from platform_defs.settings import load_settings
from platform_defs.targets import select
from platform_defs.targets.base import PlatformTarget

REPO = Path(__file__).parents[2]


@pytest.mark.parametrize("name", ["local", "kubernetes"])
def test_select_picks_the_target_settings_name(name: str) -> None:
    target: PlatformTarget = select(load_settings(_env_file=None, target=name))
    assert target.name == name


def test_the_local_target_has_no_cluster_and_says_so() -> None:
    local = select(load_settings(_env_file=None, target="local"))
    for call in (local.cluster, local.drift):
        with pytest.raises(NotOnThisTargetError, match="PLATFORM_TARGET=local"):
            call()
    assert isinstance(local.credential_distributor(), LocalDistributor)


def test_a_fresh_state_directory_was_never_provisioned(tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, target="local", state_dir=tmp_path / "state")
    assert select(settings).never_provisioned() is True
    k8s = select(load_settings(_env_file=None, target="kubernetes"))
    assert k8s.never_provisioned() is False  # a cluster's MinIO is down, never "new"


def test_cluster_checks_and_sensors_are_not_applicable_on_local() -> None:
    platform = PlatformResource()
    skip = evaluate_drift(platform)
    assert isinstance(skip, dg.SkipReason) and "PLATFORM_TARGET=local" in str(skip.skip_message)
    skip = evaluate_cluster_health(platform)
    assert isinstance(skip, dg.SkipReason) and "PLATFORM_TARGET=local" in str(skip.skip_message)
    result = minio_workload_available(platform=platform)
    assert isinstance(result, dg.AssetCheckResult)
    assert result.passed and result.description == "not applicable on the local target"


def test_a_hadoop_catalog_is_not_served_over_rest(tmp_path: Path) -> None:
    settings = load_settings(
        _env_file=None, target="local", state_dir=tmp_path / "s", catalog_type="hadoop"
    )
    info = select(settings).ensure_rest_catalog()
    assert not info.served and "PLATFORM_CATALOG_TYPE=jdbc" in (info.reason or "")
    assert info.metadata == {"started": False}


def _target_class_uses(path: Path) -> list[str]:
    """Names of target classes a runtime module outside targets/ tests with isinstance."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "isinstance":
            classes = node.args[1]
            names = [getattr(e, "id", "") for e in getattr(classes, "elts", [classes])]
            found += [n for n in names if n.endswith("Target")]
    return found


def test_no_runtime_module_asks_which_target_it_holds() -> None:
    offenders = {
        str(p.relative_to(REPO)): uses
        for package in ("platform_defs", "assets")
        for p in (REPO / package).rglob("*.py")
        if "targets" not in p.relative_to(REPO).parts and (uses := _target_class_uses(p))
    }
    assert offenders == {}


def test_the_local_target_never_loads_the_kubernetes_client() -> None:
    """The kubernetes client costs ~0.4 s of every code-location load (UI, daemon, each
    `dagster job execute`); the seam loads it only where a cluster is used."""
    import subprocess
    import sys

    code = (
        "import sys, platform_defs.definitions; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'dagster_k8s')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "PLATFORM_TARGET": "local"},
        check=True,
    )
    assert out.stdout.strip() == "[]", out.stdout

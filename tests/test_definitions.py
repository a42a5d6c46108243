"""The code location loads, and its graph has the shape the platform promises."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg
import pytest

from platform_defs.definitions import defs


def test_definitions_validate() -> None:
    dg.Definitions.validate_loadable(defs)


def test_bootstrap_graph_shape() -> None:
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"analytics_namespace", "object_store", "datalake_bucket"} <= keys
    assert graph.get(dg.AssetKey("object_store")).parent_keys == {
        dg.AssetKey("analytics_namespace")
    }
    assert graph.get(dg.AssetKey("datalake_bucket")).parent_keys == {dg.AssetKey("object_store")}
    job = defs.resolve_job_def("bootstrap_platform")
    assert job.executor_def.name == "in_process"


def test_a_materialization_from_the_ui_runs_in_one_process_like_the_jobs() -> None:
    """The UI's Materialize launches the implicit asset job: with Dagster's default (one
    process per step) each step would pay an interpreter and the definitions' import again."""
    implicit = defs.resolve_implicit_global_asset_job_def()
    assert implicit.executor_def is dg.in_process_executor
    for job in defs.resolve_all_job_defs():
        assert job.executor_def is dg.in_process_executor, job.name


def test_every_asset_has_a_check_and_a_description() -> None:
    graph = defs.resolve_asset_graph()
    checked = {key.asset_key for key in graph.asset_check_keys}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description, f"{key} has no description"
        assert node.owners, f"{key} has no owner"
    assert {dg.AssetKey("object_store"), dg.AssetKey("datalake_bucket")} <= checked


def test_every_asset_check_has_a_description() -> None:
    """The UI shows a check's description beside its result; without one a failing check says
    only its name."""
    graph = defs.resolve_asset_graph()
    keys = graph.asset_check_keys
    assert len(keys) >= 10
    missing = [k.to_user_string() for k in keys if not graph.get_check_spec(k).description]
    assert missing == [], f"asset checks without a description: {missing}"


def test_bad_settings_fail_the_code_location_load() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import platform_defs.definitions"],
        env={"PLATFORM_NAMESPACE": "Not_A_Label", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "PLATFORM_NAMESPACE" in proc.stderr and "DNS-1123" in proc.stderr


@pytest.mark.slow
def test_dagster_cli_validates_definitions() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster",
            "definitions",
            "validate",
            "-m",
            "platform_defs.definitions",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_readme_documents_every_setting() -> None:
    from pathlib import Path

    from platform_defs.settings import ENV_PREFIX, PlatformSettings

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    missing = [
        ENV_PREFIX + name.upper()
        for name in PlatformSettings.model_fields
        if ENV_PREFIX + name.upper() not in readme
    ]
    assert not missing, f"README's settings reference lacks {missing}"

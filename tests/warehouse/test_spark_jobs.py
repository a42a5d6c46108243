"""The job entry point as its launchers run it: through Dagster Pipes, and standalone (hadoop)."""

# No `from __future__ import annotations`: Dagster resolves the asset signature at runtime.

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    PipesSubprocessClient,
    TableSchema,
    asset,
    materialize,
)

from assets.spark_jobs.context import launch_command, launch_env, launch_extras
from assets.spark_jobs.inventory import DUPLICATE_CHECK
from platform_defs.clients.s3 import ObjectStore
from tests.warehouse.conftest import Warehouse, make_bucket, make_settings

pytestmark = [pytest.mark.slow, pytest.mark.spark]
REPO = str(Path(__file__).parents[2])


def test_lake_inventory_through_dagster_pipes(warehouse: Warehouse, tmp_path: Path) -> None:

    settings = make_settings(tmp_path / "state", make_bucket(warehouse.endpoint, "pipes-lake"))
    endpoint = warehouse.endpoint

    @asset(check_specs=[AssetCheckSpec(DUPLICATE_CHECK, asset="lake_inventory")])
    def lake_inventory(context: AssetExecutionContext, pipes: PipesSubprocessClient):  # type: ignore[no-untyped-def]
        return pipes.run(
            command=launch_command("lake_inventory"),
            context=context,
            extras=launch_extras(settings, endpoint, checks=(DUPLICATE_CHECK,)),
            env={**launch_env(settings, endpoint), "PYTHONPATH": REPO},
        ).get_results()

    result = materialize([lake_inventory], resources={"pipes": PipesSubprocessClient()})
    assert result.success
    mat = result.asset_materializations_for_node("lake_inventory")[0]
    assert mat.metadata["dagster/table_name"].value == "lakehouse.ops.lake_inventory"
    assert mat.metadata["dagster/row_count"].value >= 1
    assert mat.metadata["total_records"].value == mat.metadata["dagster/row_count"].value
    assert mat.metadata["rows_written"].value == mat.metadata["dagster/row_count"].value
    schema = mat.metadata["dagster/column_schema"].value
    assert isinstance(schema, TableSchema) and "prefix" in [c.name for c in schema.columns]
    checks = result.get_asset_check_evaluations()
    assert [(c.check_name, c.passed) for c in checks] == [(DUPLICATE_CHECK, True)]


def test_hadoop_catalog_single_writer_creates_and_reads(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    bucket = make_bucket(warehouse.endpoint, "hadoop-lake")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_")}
    env.update({
        "PLATFORM_CATALOG_TYPE": "hadoop", "PLATFORM_STATE_DIR": str(tmp_path / "state"),
        "PLATFORM_BUCKET": bucket, "PLATFORM_S3_ENDPOINT": warehouse.endpoint.url,
        "PLATFORM_CREDENTIALS_SOURCE": "env", "PYTHONPATH": REPO, "PLATFORM_SPARK_MODE": "session",
        **launch_env(make_settings(tmp_path, bucket), warehouse.endpoint),
    })  # fmt: skip
    reports = []
    for _ in range(2):  # second run: a fresh JVM reads the existing table, replaces today's rows
        proc = subprocess.run([sys.executable, "-m", "assets.spark_jobs", "lake_inventory"],
                              env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith('{"materialization"'))
        reports.append(json.loads(line)["materialization"])
    assert reports[1]["total_records"] == reports[1]["rows_written"]  # no duplicate day rows
    keys = {o.object_name for o in ObjectStore(warehouse.endpoint).client.list_objects(bucket, recursive=True)}  # fmt: skip
    assert "hadoop-warehouse/ops/lake_inventory/metadata/version-hint.text" in keys

"""The whole graph with the warehouse, in-process against the real S3 server: Spark writes the
inventory through Pipes, pyiceberg reads it from another process, a re-run changes no counts."""

from __future__ import annotations

import dagster as dg
import pytest

from platform_defs.endpoint import StoreEndpoint
from platform_defs.iceberg.catalog import load_catalog
from platform_defs.settings import load_settings
from tests.test_bootstrap_graph import check_results, materialization_metadata, run_bootstrap

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def test_bootstrap_builds_a_warehouse_idempotently(
    external_store_env: dict[str, str], s3_endpoint: StoreEndpoint
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    first = run_bootstrap(instance, assets=None)
    second = run_bootstrap(instance, assets=None)
    assert first.success and second.success
    assert all(check_results(first).values()) and all(check_results(second).values())
    assert set(check_results(second)) >= {
        "iceberg_catalog_reachable",
        "lake_inventory_no_duplicate_prefixes",
        "readable_by_pyiceberg",
        "spark_and_pyiceberg_agree",
    }
    assert materialization_metadata(first, "iceberg_warehouse")["namespaces_created"] == 3
    assert materialization_metadata(second, "iceberg_warehouse")["namespaces_created"] == 0
    inv = materialization_metadata(second, "lake_inventory")
    assert inv["dagster/table_name"] == "lakehouse.ops.lake_inventory"
    assert inv["dagster/row_count"] >= 1 and "prefix" in {
        c.name for c in inv["dagster/column_schema"].columns
    }
    assert "spark_seconds" in materialization_metadata(first, "lake_inventory")
    assert inv["spark_skipped"] is True, "nothing changed in the bucket: no Spark on re-run"
    assert inv["snapshot_id"] == materialization_metadata(first, "lake_inventory")["snapshot_id"]
    third = run_bootstrap(instance, assets=None)
    reads = [_description(run, "readable_by_pyiceberg") for run in (second, third)]
    assert all(f"run {first.run_id}" in text for text in reads), (
        "every warm run reuses the first run's read of the unchanged snapshot",
        reads,
    )

    force = {"ops": {"lake_inventory": {"config": {"force": True}}}}
    forced = run_bootstrap(instance, assets=None, run_config=force)
    forced_inv = materialization_metadata(forced, "lake_inventory")
    assert (
        "spark_skipped" not in forced_inv
        and forced_inv["dagster/row_count"] == inv["dagster/row_count"]
    )
    assert all(check_results(forced).values())

    table = load_catalog(load_settings(), s3_endpoint).load_table("ops.lake_inventory")
    rows = table.scan().to_arrow().to_pylist()
    days = {r["inventory_date"] for r in rows}
    assert len(days) == 1, "both runs happened today: one partition"
    prefixes = [r["prefix"] for r in rows]
    assert len(prefixes) == len(set(prefixes)) == inv["dagster/row_count"], "one day, replaced"

    from platform_defs.definitions import defs

    maintenance = defs.resolve_job_def("iceberg_maintenance").execute_in_process(instance=instance)
    assert maintenance.success
    meta = materialization_metadata(maintenance, "warehouse_maintenance")
    assert meta, "maintenance reported what it did"


def _description(result: dg.ExecuteInProcessResult, check: str) -> str:
    return next(
        str(e.asset_check_evaluation_data.description)
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.asset_check_evaluation_data.check_name == check
    )

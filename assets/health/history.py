"""Ops assets: the platform's own history, kept in the warehouse it looks after."""

from datetime import UTC, datetime

import dagster as dg

from platform_defs.iceberg import health_table
from platform_defs.iceberg.catalog import load_catalog
from platform_defs.iceberg.table_metadata import table_metadata
from platform_defs.resources.platform import PlatformResource

from ..platform.provision import OWNERS
from ..warehouse.iceberg import iceberg_warehouse

HEALTH_JOB = "platform_health"


class HealthHistoryConfig(dg.Config):
    source_run_id: str = ""  # a platform_health run; empty = the newest finished one


def _evaluations(instance: dg.DagsterInstance, run_id: str) -> list[health_table.HealthRow]:
    rows = []
    for record in instance.get_records_for_run(run_id, limit=10_000).records:
        entry = record.event_log_entry
        event = entry.dagster_event
        if event is None or event.event_type_value != "ASSET_CHECK_EVALUATION":
            continue
        data = event.asset_check_evaluation_data
        meta = {k: v.value for k, v in data.metadata.items()}
        latency = meta.get("latency_ms", meta.get("canary_latency_ms"))
        status = str(meta.get("status") or ("PASS" if data.passed else "FAIL"))
        rows.append(
            health_table.HealthRow(
                time=datetime.fromtimestamp(entry.timestamp, tz=UTC),
                component=data.asset_key.to_user_string(),
                check=data.check_name,
                status=status,
                passed=bool(data.passed),
                latency_ms=float(latency) if isinstance(latency, (int, float)) else None,
                detail=str(data.description or "")[:1000],
                run_id=run_id,
            )
        )
    return rows


def _newest_health_run(instance: dg.DagsterInstance) -> str | None:
    finished = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]
    runs = instance.get_runs(dg.RunsFilter(job_name=HEALTH_JOB, statuses=finished), limit=1)
    return runs[0].run_id if runs else None


@dg.asset(
    deps=[iceberg_warehouse],
    group_name="ops",
    owners=OWNERS,
    tags={"domain": "ops"},
    kinds={"iceberg"},
    description="ops.health_history: one row per check result of each platform_health run "
    "(time, component, check, status, latency, detail), so health is queryable with SQL. "
    "Recording a run twice appends nothing.",
)
def health_history(
    context: dg.AssetExecutionContext, config: HealthHistoryConfig, platform: PlatformResource
) -> dg.MaterializeResult[None]:
    run_id = config.source_run_id or _newest_health_run(context.instance)
    catalog = load_catalog(platform.settings(), platform.endpoint())
    table = health_table.ensure_table(catalog)
    if run_id is None:
        context.log.info("no finished platform_health run to record yet")
        return dg.MaterializeResult(metadata={"rows_appended": dg.MetadataValue.int(0)})
    rows = _evaluations(context.instance, run_id)
    already = health_table.recorded(table, run_id)
    if already == 0 and rows:
        table = health_table.append_rows(table, rows)
    appended = 0 if already else len(rows)
    snapshot = table.current_snapshot()
    context.log.info(f"health run {run_id}: {appended} rows appended ({already} already there)")
    return dg.MaterializeResult(
        metadata={
            **table_metadata(table, f"{platform.settings().catalog_name}.{health_table.TABLE}"),
            "source_run_id": run_id,
            "rows_appended": dg.MetadataValue.int(appended),
            "failed_checks": dg.MetadataValue.int(sum(not r.passed for r in rows)),
            "snapshot_id": str(snapshot.snapshot_id) if snapshot else "",
        }
    )


@dg.asset_check(
    asset=health_history,
    description="The recorded run has exactly one row per check evaluation (no loss, no dupes).",
)
def health_history_complete(
    context: dg.AssetCheckExecutionContext, platform: PlatformResource
) -> dg.AssetCheckResult:
    event = context.instance.get_latest_materialization_event(dg.AssetKey("health_history"))
    mat = event.asset_materialization if event else None
    run_id = (
        str(mat.metadata["source_run_id"].value) if mat and "source_run_id" in mat.metadata else ""
    )
    if not run_id:
        return dg.AssetCheckResult(passed=True, description="no health run recorded yet")
    table = health_table.ensure_table(load_catalog(platform.settings(), platform.endpoint()))
    expected, found = (
        len(_evaluations(context.instance, run_id)),
        health_table.recorded(table, run_id),
    )
    return dg.AssetCheckResult(
        passed=expected == found,
        description=f"run {run_id}: {found} rows for {expected} check evaluations",
        metadata={
            "rows": dg.MetadataValue.int(found),
            "evaluations": dg.MetadataValue.int(expected),
        },
    )

"""Health jobs and their schedule: every check each hour, and the history it leaves."""

from __future__ import annotations

import dagster as dg

platform_health = dg.define_asset_job(
    name="platform_health",
    # The duplicate-prefix check is reported by the Spark job itself, so it runs with it.
    selection=dg.AssetSelection.all_asset_checks()
    - dg.AssetSelection.checks(
        dg.AssetCheckKey(dg.AssetKey("lake_inventory"), "lake_inventory_no_duplicate_prefixes")
    ),
    executor_def=dg.in_process_executor,
    description="Run every asset check of the platform without materializing anything.",
)

record_health_history = dg.define_asset_job(
    name="record_health_history",
    selection=dg.AssetSelection.assets("health_history"),
    executor_def=dg.in_process_executor,
    description="Append one platform_health run's check results to ops.health_history.",
)

platform_health_hourly = dg.ScheduleDefinition(
    name="platform_health_hourly",
    job=platform_health,
    cron_schedule="0 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Runs every platform check each hour, so health history has a steady cadence.",
)

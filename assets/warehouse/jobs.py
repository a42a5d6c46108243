"""Warehouse jobs and their schedule: nightly Iceberg maintenance."""

from __future__ import annotations

import dagster as dg

iceberg_maintenance = dg.define_asset_job(
    name="iceberg_maintenance",
    selection=dg.AssetSelection.assets("warehouse_maintenance"),
    executor_def=dg.in_process_executor,
    description="Compact, rewrite manifests, expire snapshots and remove orphans on every "
    "Iceberg table (one Spark application for all tables).",
)

iceberg_maintenance_daily = dg.ScheduleDefinition(
    name="iceberg_maintenance_daily",
    job=iceberg_maintenance,
    cron_schedule="30 3 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly Iceberg maintenance, outside working hours.",
)

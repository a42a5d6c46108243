"""Schedules: the hourly health run (maintenance joins it with the warehouse)."""

from __future__ import annotations

import dagster as dg

from platform_defs.jobs import iceberg_maintenance, platform_health

platform_health_hourly = dg.ScheduleDefinition(
    name="platform_health_hourly",
    job=platform_health,
    cron_schedule="0 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Runs every platform check each hour, so health history has a steady cadence.",
)

iceberg_maintenance_daily = dg.ScheduleDefinition(
    name="iceberg_maintenance_daily",
    job=iceberg_maintenance,
    cron_schedule="30 3 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly Iceberg maintenance, outside working hours.",
)

"""Run-failure alerting: every failed run is logged with its error and sent to the webhook."""

from __future__ import annotations

import dagster as dg

from platform_defs.clients.alerts import send_alert
from platform_defs.settings import load_settings


@dg.run_failure_sensor(
    name="platform_run_failure_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Logs failed runs and posts them to PLATFORM_ALERT_WEBHOOK_URL when set.",
)
def platform_run_failure_alert(context: dg.RunFailureSensorContext) -> None:
    run = context.dagster_run
    error = context.failure_event.message or "no message"
    summary = f"run {run.run_id} of job {run.job_name} failed: {error}"
    context.log.error(summary)
    send_alert(
        load_settings().alert_webhook_url,
        "run_failed",
        summary,
        run_id=run.run_id,
        job=run.job_name,
    )

"""Records each finished platform_health run into ops.health_history.

The health job runs only checks, and a job cannot order an asset after checks of assets it does
not materialize; so recording is a second, small run requested when the health run ends
(success or failure alike: a failed check is exactly what the history is for). The run key is
the health run's id, so each run is recorded once however often the sensor sees it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from .jobs import record_health_history

HEALTH_JOB = "platform_health"


@dg.sensor(
    name="health_history_recorder",
    job=record_health_history,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests a record_health_history run for every finished platform_health run.",
)
def health_history_recorder(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    since = float(context.cursor or 0)
    finished = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]
    records = context.instance.get_run_records(
        dg.RunsFilter(job_name=HEALTH_JOB, statuses=finished, updated_after=_dt(since)),
        limit=50,
        ascending=True,
    )
    requests = [
        dg.RunRequest(
            run_key=r.dagster_run.run_id,
            run_config={
                "ops": {"health_history": {"config": {"source_run_id": r.dagster_run.run_id}}}
            },
        )
        for r in records
    ]
    newest = max((r.update_timestamp.timestamp() for r in records), default=since)
    return dg.SensorResult(run_requests=requests, cursor=str(newest))


def _dt(ts: float) -> datetime | None:
    return datetime.fromtimestamp(ts, tz=UTC) if ts else None

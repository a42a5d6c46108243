"""One line that says why a run failed, read from what the Dagster instance recorded.

`dagster job execute` prints 80-100 lines on a failure and ends with "Run ... resulted in
failure"; the platform's message, written for the reader, sits in the middle of a traceback.
`make run` prints this line last instead: the step that failed and the first line of the error
that step raised, with Dagster's own wrappers ("Error occurred while executing op ...") peeled
off. Runs are found by the invocation tag `make run` passes, never by "the newest run", so a
run that never started is not confused with an older one that failed.
"""

from __future__ import annotations

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

INVOCATION_TAG = "platform/invocation"


def summarize(instance: dg.DagsterInstance, job: str, invocation: str) -> str:
    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=job, tags={INVOCATION_TAG: invocation}), limit=1
    )
    if not runs:
        return f"{job} did not start: {_why_not_started()}"
    run = runs[0]
    if run.status == dg.DagsterRunStatus.SUCCESS:
        return f"{job} succeeded (run {run.run_id})"
    step, error = _first_failure(instance, run.run_id)
    if error is None:
        return f"{job} ended {run.status.value} (run {run.run_id}) without recording an error"
    return f"{job} failed at {step}: {first_line(user_message(error))}"


def _first_failure(
    instance: dg.DagsterInstance, run_id: str
) -> tuple[str, SerializableErrorInfo | None]:
    """The first failed step and its error; else the run's own failure (e.g. a resource)."""
    run_error: SerializableErrorInfo | None = None
    for record in instance.get_records_for_run(run_id, limit=10_000).records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        if event.event_type_value == "STEP_FAILURE" and event.step_failure_data is not None:
            return event.step_key or "a step", event.step_failure_data.error
        if event.event_type_value == "RUN_FAILURE" and event.job_failure_data is not None:
            run_error = event.job_failure_data.error
    return "the run", run_error


def user_message(error: SerializableErrorInfo | None) -> str:
    """The innermost error that is not one of Dagster's wrappers, without its class prefix."""
    current = error
    while (
        current is not None
        and current.cls_name is not None
        and current.cls_name.startswith("Dagster")
        and (current.cause or current.context)
    ):
        current = current.cause or current.context
    if current is None:
        return "(no error recorded)"
    message = current.message.strip()
    prefix = f"{current.cls_name}: "
    if current.cls_name and prefix in message.split("\n", 1)[0]:
        message = message.split(prefix, 1)[1]
    return message


def first_line(message: str) -> str:
    """A message's first line; when it only introduces a list ("...:"), the first item too."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return "(empty message)"
    if lines[0].endswith(":") and len(lines) > 1:
        return f"{lines[0]} {lines[1]}"
    return lines[0]


def _why_not_started() -> str:
    """Without a run, the usual cause is settings the code location refused to load with."""
    from platform_defs.errors import PlatformError
    from platform_defs.settings import load_settings

    try:
        load_settings()
    except PlatformError as exc:
        return first_line(str(exc))
    return "no run was recorded; the error printed above (the definitions or the Dagster instance) says why"

"""Read the newest run of a job from the Dagster instance at $DAGSTER_HOME and report it.

Used by the end-to-end script: it asserts on what the instance recorded (run status, check
evaluations, materialization metadata), not on log text. Exits 1 when the run did not succeed or
a check did not pass.
"""

from __future__ import annotations

import sys

import dagster as dg


def main(job: str, min_checks: int) -> int:
    instance = dg.DagsterInstance.get()
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=job), limit=1)
    if not runs:
        print(f"no run of {job} recorded in {instance.root_directory}", file=sys.stderr)
        return 1
    run = runs[0]
    records = instance.get_records_for_run(run.run_id).records
    checks = [
        r.event_log_entry.dagster_event.asset_check_evaluation_data
        for r in records
        if r.event_log_entry.dagster_event
        and r.event_log_entry.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    passed = [c.check_name for c in checks if c.passed]
    actions = [
        str(r.event_log_entry.dagster_event.materialization.metadata["action"].value)
        for r in records
        if r.event_log_entry.dagster_event
        and r.event_log_entry.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
        and "action" in r.event_log_entry.dagster_event.materialization.metadata
    ]
    print(f"{run.status.value} store={','.join(actions)} checks_passed={len(passed)}/{len(checks)}")
    ok = run.status == dg.DagsterRunStatus.SUCCESS and len(passed) == len(checks) >= min_checks
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))

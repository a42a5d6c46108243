"""The Dagster floor under a warm bootstrap: one op that does nothing, run by the same CLI on
the same instance. What it costs (interpreter, Dagster's imports, the SQLite instance, a run's
events) is paid by every `dagster job execute`, so the warm bootstrap's ratio to it is the part
that is the platform's own."""

import dagster as dg


@dg.op
def nothing() -> None:
    """Nothing: what is measured is everything around it."""


@dg.job(executor_def=dg.in_process_executor)  # as the platform's jobs: no process per step
def floor() -> None:
    nothing()


defs = dg.Definitions(jobs=[floor])

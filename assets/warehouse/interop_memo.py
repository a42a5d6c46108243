"""Has a separate process already read this very inventory snapshot? Then it need not again.

Reading `ops.lake_inventory` from a fresh pyiceberg process costs about 2 s (its imports). A
snapshot is immutable, so once a separate process read it and the counts agreed, a run that
reports the same snapshot (Spark skipped) can say so instead of reading it again. The result
it reports carries the snapshot and the run of the original read forward: the next run finds
them on the latest result, so every warm run takes the short path, not every other one.
"""

from typing import Any

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

INVENTORY_KEY = dg.AssetKey("lake_inventory")
READ_CHECK = "readable_by_pyiceberg"
AGREE_CHECK = "spark_and_pyiceberg_agree"
SNAPSHOT = "snapshot_id"
READ_IN_RUN = "read_in_run"  # the run whose separate process read the snapshot


def previous_read(instance: dg.DagsterInstance, snapshot_id: object) -> str | None:
    """The run in which a separate process read `snapshot_id` and the counts agreed, if any."""
    agree = _latest_evaluation(instance, AGREE_CHECK)
    read = _latest_evaluation(instance, READ_CHECK)
    if agree is None or read is None or not (agree[1].passed and read[1].passed):
        return None
    metadata = read[1].metadata
    seen = metadata.get(SNAPSHOT)
    if seen is None or str(seen.value) != str(snapshot_id):
        return None
    original = metadata.get(READ_IN_RUN)
    return str(original.value) if original is not None else read[0]


def unchanged_results(snapshot_id: object, read_in_run: str) -> list[dg.AssetCheckResult]:
    """Both checks passed on the strength of an earlier read of the same snapshot."""
    text = f"snapshot {snapshot_id} unchanged; read by a separate process in run {read_in_run}"
    metadata = {SNAPSHOT: str(snapshot_id), READ_IN_RUN: read_in_run}
    return [
        dg.AssetCheckResult(check_name=name, passed=True, description=text, metadata=metadata)
        for name in (READ_CHECK, AGREE_CHECK)
    ]


def _latest_evaluation(instance: dg.DagsterInstance, check: str) -> tuple[str, Any] | None:
    """(run id, evaluation) of the check's latest finished execution, passed or not (the
    running check's own planned execution is not one)."""
    finished = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}
    history = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(INVENTORY_KEY, check), limit=1, status=finished
    )
    event = history[0].event if history else None
    if event is None or event.dagster_event is None:
        return None
    return history[0].run_id, event.dagster_event.asset_check_evaluation_data

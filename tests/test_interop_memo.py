"""The inventory's interop checks skip the separate read only for a snapshot already read,
and keep skipping it run after run (they once re-read it on every other warm run)."""

from __future__ import annotations

import dagster as dg

from assets.warehouse.interop_memo import (
    AGREE_CHECK,
    INVENTORY_KEY,
    READ_CHECK,
    previous_read,
    unchanged_results,
)


def _report(instance: dg.DagsterInstance, results: list[dg.AssetCheckResult]) -> None:
    for result in results:
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=INVENTORY_KEY,
                check_name=str(result.check_name),
                passed=result.passed,
                metadata=result.metadata,
                description=result.description,
            )
        )


def _separate_read(snapshot: str, rows: int) -> list[dg.AssetCheckResult]:
    return [
        dg.AssetCheckResult(
            check_name=READ_CHECK, passed=True, metadata={"snapshot_id": snapshot, "rows": rows}
        ),
        dg.AssetCheckResult(check_name=AGREE_CHECK, passed=True),
    ]


def test_no_read_yet_means_read() -> None:
    assert previous_read(dg.DagsterInstance.ephemeral(), "1") is None


def test_every_later_run_of_the_same_snapshot_takes_the_short_path() -> None:
    instance = dg.DagsterInstance.ephemeral()
    _report(instance, _separate_read("42", 5))
    original = previous_read(instance, "42")
    assert original is not None
    for _ in range(3):  # three warm runs in a row, each reporting what the one before left
        _report(instance, unchanged_results("42", original))
        assert previous_read(instance, "42") == original


def test_a_new_snapshot_or_a_disagreement_is_read_again() -> None:
    instance = dg.DagsterInstance.ephemeral()
    _report(instance, _separate_read("42", 5))
    assert previous_read(instance, "43") is None
    _report(
        instance,
        [
            dg.AssetCheckResult(check_name=READ_CHECK, passed=True, metadata={"snapshot_id": "42"}),
            dg.AssetCheckResult(check_name=AGREE_CHECK, passed=False),
        ],
    )
    # The counts last disagreed on this very snapshot: read it again, whatever passed before.
    assert previous_read(instance, "42") is None

"""`append_batches`: a stream of record batches lands as one snapshot, in bounded Arrow memory.

A real pyiceberg SqlCatalog (SQLite) with its data on the local disk: the same writer code the
S3 path runs, without a store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from platform_defs.iceberg.append import append_batches

ROWS_PER_BATCH = 16_384  # 8 int64 columns: 1 MiB of Arrow per batch
SCHEMA = pa.schema([(f"c{i}", pa.int64()) for i in range(8)])


def _table(tmp_path: Path):  # type: ignore[no-untyped-def]
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog(
        "t", uri=f"sqlite:///{tmp_path / 'cat.db'}", warehouse=f"file://{tmp_path / 'wh'}"
    )
    catalog.create_namespace("raw")
    return catalog.create_table("raw.events", schema=SCHEMA)


def _batches(count: int, seen: list[int] | None = None) -> Iterator[pa.RecordBatch]:
    for b in range(count):
        if seen is not None:
            seen.append(pa.total_allocated_bytes())  # Arrow memory held when the next is pulled
        start = b * ROWS_PER_BATCH
        columns = [
            pa.array(range(start + i, start + i + ROWS_PER_BATCH), pa.int64()) for i in range(8)
        ]
        yield pa.RecordBatch.from_arrays(columns, schema=SCHEMA)


def test_a_stream_lands_as_one_snapshot_with_every_row(tmp_path: Path) -> None:
    table = _table(tmp_path)
    chunk = 4 * ROWS_PER_BATCH * 64  # 4 batches a chunk: 10 batches make 3 files
    rows = append_batches(table, _batches(10), chunk_bytes=chunk, parallel=2)
    assert rows == 10 * ROWS_PER_BATCH
    table.refresh()
    assert len(table.metadata.snapshots) == 1  # one commit: readers see all rows or none
    summary = table.current_snapshot().summary
    assert summary is not None and summary["added-data-files"] == "3"
    ids = table.scan(selected_fields=("c0",)).to_arrow()["c0"].to_pylist()
    assert sorted(ids) == list(range(10 * ROWS_PER_BATCH))


def test_memory_is_bounded_by_the_chunks_in_flight_not_the_stream(tmp_path: Path) -> None:
    table = _table(tmp_path)
    chunk = 2 * ROWS_PER_BATCH * 64  # 2 MiB chunks, 120 MiB in all
    seen: list[int] = []
    before = pa.total_allocated_bytes()
    append_batches(table, _batches(120, seen), chunk_bytes=chunk, parallel=2)
    held = max(seen) - before
    # measured ~20 MiB at 40, 80 and 160 batches alike: the chunks in flight and the Parquet
    # writers' buffers; Table.append or pyiceberg's reader path would hold all 120 MiB
    assert held < 16 * chunk, f"held {held / 2**20:.1f} MiB of Arrow for 2 MiB chunks"


def test_a_wrong_schema_commits_nothing(tmp_path: Path) -> None:
    table = _table(tmp_path)
    wrong = pa.RecordBatch.from_pydict({"other": pa.array(["x"], pa.string())})
    with pytest.raises(ValueError, match="other"):
        append_batches(table, iter([wrong]))
    table.refresh()
    assert table.current_snapshot() is None


def test_chunk_size_and_parallelism_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positive"):
        append_batches(_table(tmp_path), _batches(1), chunk_bytes=0)

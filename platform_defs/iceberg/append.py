"""Append a stream of Arrow record batches to an Iceberg table in one commit, in bounded memory.

`Table.append(pa.Table)` needs the whole dataset in memory (the ingest benchmark measured a peak
RSS of 1.4-1.9x the data), and pyiceberg 0.12's `RecordBatchReader` path is not bounded either
on Python < 3.14: its writer hands the file tasks to `ThreadPoolExecutor.map`, which drains the
generator (so every batch) before the first file is written. This helper cuts the stream into
chunks of `chunk_bytes` of Arrow, writes each chunk as one data file with at most `parallel`
chunks in flight, and adds every file to one fast-append snapshot: one commit, readers see all
rows or none, and Arrow memory is about (2 x parallel + 2) x chunk_bytes whatever the data size
(each chunk being written is held twice: its batches and pyiceberg's schema-converted copy; one
more is being gathered).

It uses two pyiceberg internals (`_dataframe_to_data_files`, `_check_pyarrow_schema_compatible`:
what `Transaction.append` itself calls) because the public API offers no bounded parallel write;
pyiceberg is pinned (uv.lock) and tests/test_iceberg_append.py exercises both calls.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table

MIB = 1 << 20
# 128 MiB of Arrow per file (Spark's file size for the same data) and 2 files in flight, one per
# core of the project machine: ~0.8 GiB of Arrow at any dataset size (docs/benchmarks.md).
DEFAULT_CHUNK_BYTES = 128 * MIB
DEFAULT_PARALLEL = 2


def _chunks(batches: Iterable[pa.RecordBatch], chunk_bytes: int) -> Iterator[list[pa.RecordBatch]]:
    buffer: list[pa.RecordBatch] = []
    size = 0
    for batch in batches:
        buffer.append(batch)
        size += batch.nbytes
        if size >= chunk_bytes:
            yield buffer
            buffer, size = [], 0
    if buffer:
        yield buffer


def append_batches(
    table: Table,
    batches: Iterable[pa.RecordBatch],
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    parallel: int = DEFAULT_PARALLEL,
    snapshot_properties: dict[str, str] | None = None,
) -> int:
    """Append `batches` (all of the table's schema) as one snapshot; returns the rows appended.

    The batches are consumed once. If the commit fails the files written are orphans (no snapshot
    names them; `remove_orphan_files` reclaims them) and the caller must produce the stream again
    to retry: there is nothing to re-append from.
    """
    import pyarrow as pa
    from pyiceberg.io.pyarrow import _check_pyarrow_schema_compatible, _dataframe_to_data_files

    if chunk_bytes <= 0 or parallel <= 0:
        raise ValueError(
            f"chunk_bytes and parallel must be positive, got {chunk_bytes}, {parallel}"
        )
    rows = 0
    with (
        table.transaction() as tx,
        tx.update_snapshot(snapshot_properties or {}).fast_append() as append_files,
        ThreadPoolExecutor(parallel, thread_name_prefix="iceberg-append") as pool,
    ):
        metadata = tx.table_metadata
        # File names carry <task id>-<write uuid>: one counter across chunks (next() on it is
        # atomic), or every chunk's first file would get the same name and overwrite the last.
        task_ids = itertools.count(0)

        def write(chunk: pa.Table) -> list[DataFile]:
            return list(
                _dataframe_to_data_files(
                    table_metadata=metadata, write_uuid=append_files.commit_uuid, df=chunk,
                    io=table.io, counter=task_ids,
                )
            )  # fmt: skip

        in_flight: deque[Future[list[DataFile]]] = deque()
        checked = False
        for chunk_batches in _chunks(batches, chunk_bytes):
            chunk = pa.Table.from_batches(chunk_batches)
            if not checked:
                _check_pyarrow_schema_compatible(
                    metadata.schema(), chunk.schema, format_version=metadata.format_version
                )
                checked = True
            rows += chunk.num_rows
            if len(in_flight) >= parallel:  # bound memory: wait for the oldest chunk first
                for data_file in in_flight.popleft().result():
                    append_files.append_data_file(data_file)
            in_flight.append(pool.submit(write, chunk))
            del chunk, chunk_batches
        while in_flight:
            for data_file in in_flight.popleft().result():
                append_files.append_data_file(data_file)
    return rows

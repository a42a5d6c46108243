"""An Iceberg table described in Dagster's standard metadata keys.

The UI renders `dagster/column_schema` as a column table, `dagster/row_count` on the asset's
node and page, and `dagster/table_name` / `dagster/uri` as the table's address; custom keys (a
JSON schema string, `row_count`) are shown as opaque text. The same keys come from a Spark job
(assets/spark_jobs/inventory.py reports them through Pipes), from pyiceberg here, and from the
warehouse_tables sensor's observations, so every table asset reads the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table

COLUMN_SCHEMA = "dagster/column_schema"
ROW_COUNT = "dagster/row_count"
TABLE_NAME = "dagster/table_name"
URI = "dagster/uri"


def column_schema(schema: Schema) -> dg.TableSchema:
    """Top-level columns with their Iceberg types; a column's doc becomes its description."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=field.name,
                type=str(field.field_type),
                description=field.doc,
                constraints=dg.TableColumnConstraints(nullable=not field.required),
            )
            for field in schema.fields
        ]
    )


@dataclass(frozen=True)
class Totals:
    rows: int
    size_bytes: int
    data_files: int
    snapshot_id: str  # "none" before the first commit


def totals(table: Table) -> Totals:
    """From the snapshot summary Iceberg keeps, so no data file is read (0 before any data)."""
    snapshot = table.current_snapshot()
    summary = snapshot.summary if snapshot is not None and snapshot.summary else None

    def total(key: str) -> int:
        return int(summary.get(key) or 0) if summary is not None else 0

    return Totals(
        rows=total("total-records"),
        size_bytes=total("total-files-size"),
        data_files=total("total-data-files"),
        snapshot_id=str(snapshot.snapshot_id) if snapshot is not None else "none",
    )


def table_metadata(table: Table, table_name: str) -> dict[str, dg.MetadataValue]:
    """Schema, rows, size and snapshot of the table's current snapshot."""
    t = totals(table)
    return {
        TABLE_NAME: dg.MetadataValue.text(table_name),
        URI: dg.MetadataValue.text(table.location()),
        COLUMN_SCHEMA: dg.MetadataValue.table_schema(column_schema(table.schema())),
        ROW_COUNT: dg.MetadataValue.int(t.rows),
        "snapshot_id": dg.MetadataValue.text(t.snapshot_id),
        "size_bytes": dg.MetadataValue.int(t.size_bytes),
        "data_files": dg.MetadataValue.int(t.data_files),
        "last_updated": dg.MetadataValue.timestamp(table.metadata.last_updated_ms / 1000),
        "metadata_file": dg.MetadataValue.path(table.metadata_location),
    }

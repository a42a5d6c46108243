"""`ops.health_history`: every health check result as a row, so health is queryable with SQL.

One row per check evaluation of a `platform_health` run: when, which component (asset and
check), its status, latency and detail. Rows carry the source run id, and a run already recorded
is never appended twice, so re-recording the same run changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from platform_defs.iceberg.catalog import append_with_retry

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table

TABLE = "ops.health_history"


@dataclass(frozen=True)
class HealthRow:
    time: datetime  # tz-aware: Spark reads Iceberg timestamptz
    component: str
    check: str
    status: str
    passed: bool
    latency_ms: float | None
    detail: str
    run_id: str


def _schema() -> Schema:
    from pyiceberg.schema import Schema
    from pyiceberg.types import (
        BooleanType,
        DoubleType,
        NestedField,
        StringType,
        TimestamptzType,
    )

    return Schema(
        NestedField(1, "time", TimestamptzType(), required=True),
        NestedField(2, "component", StringType(), required=True),
        NestedField(3, "check", StringType(), required=True),
        NestedField(4, "status", StringType(), required=True),
        NestedField(5, "passed", BooleanType(), required=True),
        NestedField(6, "latency_ms", DoubleType(), required=False),
        NestedField(7, "detail", StringType(), required=False),
        NestedField(8, "run_id", StringType(), required=True),
    )


def ensure_table(catalog: Catalog) -> Table:
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.transforms import DayTransform

    spec = PartitionSpec(PartitionField(1, 1000, DayTransform(), "time_day"))
    catalog.create_namespace_if_not_exists("ops")
    return catalog.create_table_if_not_exists(TABLE, schema=_schema(), partition_spec=spec)


def recorded(table: Table, run_id: str) -> int:
    if not run_id.replace("-", "").isalnum():  # Dagster run ids are UUIDs; never splice others
        raise ValueError(f"not a run id: {run_id!r}")
    scan = table.scan(row_filter=f"run_id == '{run_id}'", selected_fields=("run_id",))
    return int(scan.to_arrow().num_rows)


def append_rows(table: Table, rows: list[HealthRow]) -> Table:
    import pyarrow as pa

    schema = pa.schema(
        [
            pa.field("time", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("component", pa.string(), nullable=False),
            pa.field("check", pa.string(), nullable=False),
            pa.field("status", pa.string(), nullable=False),
            pa.field("passed", pa.bool_(), nullable=False),
            pa.field("latency_ms", pa.float64()),
            pa.field("detail", pa.string()),
            pa.field("run_id", pa.string(), nullable=False),
        ]
    )
    data = pa.Table.from_pylist([row.__dict__ for row in rows], schema=schema)
    return append_with_retry(table, data)

"""`make pyspark`: `python -i -m platform_defs.pyspark_shell` leaves an interactive Python with
`spark` (a SparkSession on the shared catalog, identity spark) and the `connect` helpers."""

from __future__ import annotations

import sys

from platform_defs import connect
from platform_defs.connect import catalog, duckdb, polars_scan
from platform_defs.errors import PlatformError

__all__ = ["catalog", "connect", "duckdb", "polars_scan", "spark"]

try:
    spark = connect.spark(app_name="lakehouse-pyspark")
except PlatformError as exc:
    print(str(exc), file=sys.stderr)
    raise SystemExit(2) from None
print(
    "spark: SparkSession on the shared catalog (identity spark), e.g. "
    'spark.sql("SELECT * FROM ops.lake_inventory").show(); also catalog(), duckdb(), '
    "polars_scan(table).",
    file=sys.stderr,
)

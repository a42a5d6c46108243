"""`make pyspark`: `python -i -m platform_defs.pyspark_shell` leaves an interactive Python with
`spark` (a SparkSession on the shared catalog, identity spark) and the `connect` helpers. With
PLATFORM_SPARK_MODE=connect `spark` is a client of the platform's Spark Connect server (started if
it is not running), so the shell opens without a JVM start."""

from __future__ import annotations

import sys

from platform_defs import connect
from platform_defs.connect import catalog, duckdb, polars_scan
from platform_defs.errors import PlatformError
from platform_defs.settings import load_settings
from platform_defs.spark_connect.client import uses_connect

__all__ = ["catalog", "connect", "duckdb", "polars_scan", "spark"]

try:
    _settings = load_settings()
    spark = connect.spark(app_name="lakehouse-pyspark", settings=_settings)
except PlatformError as exc:
    print(str(exc), file=sys.stderr)
    raise SystemExit(2) from None
_how = (
    f"a client of the Spark Connect server on 127.0.0.1:{_settings.spark_connect_port}"
    if uses_connect(_settings)
    else "its own JVM"
)
print(
    f"spark: SparkSession ({_how}) on the shared catalog (identity spark), e.g. "
    'spark.sql("SELECT * FROM ops.lake_inventory").show(); also catalog(), duckdb(), '
    "polars_scan(table).",
    file=sys.stderr,
)

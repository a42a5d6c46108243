"""Connect to the lakehouse from Python, from any directory: `catalog()`, `duckdb()`,
`polars_scan(table)`, `spark()`.

    from platform_defs.connect import catalog, duckdb, polars_scan, spark
    catalog().load_table("ops.lake_inventory").scan().to_arrow()
    con = duckdb()  # keep it: a relation does not keep its connection open
    con.sql("SELECT * FROM lake.ops.lake_inventory").show()
    polars_scan("ops.lake_inventory").collect()

Readers get the `analyst` identity (S3 keys that change nothing, a REST catalog token that may not
commit or drop); `write=True` and `spark()` get the `spark` identity. Everything is found through
the platform's settings and state directory (`PLATFORM_STATE_DIR`, default
`~/.local/state/lakehouse-platform`), never relative to the working directory, and no root key is
used. The REST catalog must be running (`make run` starts it).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import replace
from typing import TYPE_CHECKING

from platform_defs import identities, targets
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import RestCatalogError
from platform_defs.iceberg.catalog import catalog_properties
from platform_defs.rest_catalog import config as rest_config
from platform_defs.settings import PlatformSettings, load_settings

if TYPE_CHECKING:
    import duckdb as duckdb_module
    import polars as pl
    from pyiceberg.catalog.rest import RestCatalog
    from pyspark.sql import SparkSession

DUCKDB_CATALOG_ALIAS = "lake"
__all__ = ["catalog", "duckdb", "polars_scan", "spark", "stop_spark", "store_endpoint"]


def _settings(settings: PlatformSettings | None) -> PlatformSettings:
    s = settings or load_settings()
    if s.target != "local":
        raise RestCatalogError(
            "platform_defs.connect reaches the REST catalog of the local target only "
            f"(PLATFORM_TARGET={s.target}). On a cluster, attach in-cluster engines to "
            "http://iceberg-rest-catalog.<namespace>.svc.cluster.local:8181 (the optional "
            "rest-catalog component, manifests/README.md); it has no tokens."
        )
    return s


def _identity(write: bool) -> str:
    return rest_config.READ_WRITE if write else rest_config.READ_ONLY


def store_endpoint(identity: str, settings: PlatformSettings | None = None) -> StoreEndpoint:
    """The object store as `identity` (analyst, spark) sees it: URL, CA, that identity's keys."""
    s = _settings(settings)
    endpoint = targets.select(s).endpoint()
    return replace(endpoint, credentials=identities.load(s, identity))


def catalog_config(write: bool = False, settings: PlatformSettings | None = None) -> dict[str, str]:
    """pyiceberg RestCatalog properties: the REST URL, the identity's token and S3 keys."""
    s = _settings(settings)
    identity = _identity(write)
    props = catalog_properties(s, store_endpoint(identity, s))
    props.pop("warehouse", None)
    props["uri"] = s.rest_catalog_url
    props["token"] = rest_config.read_token(s, identity)
    return props


def catalog(write: bool = False, settings: PlatformSettings | None = None) -> RestCatalog:
    """The warehouse's Iceberg REST catalog as pyiceberg sees it (analyst unless `write`)."""
    from pyiceberg.catalog.rest import RestCatalog

    s = _settings(settings)
    return RestCatalog(s.catalog_name, **catalog_config(write, s))


def duckdb_extension_dir() -> str:
    """Where the duckdb-ext-* PyPI packages put httpfs/avro/iceberg (loaded offline from there)."""
    spec = importlib.util.find_spec("duckdb_ext")
    if spec is None or not spec.submodule_search_locations:
        raise RestCatalogError(
            "The DuckDB extension packages (duckdb-ext-httpfs, duckdb-ext-iceberg) are not "
            "installed in this environment; run `make setup`."
        )
    return f"{next(iter(spec.submodule_search_locations))}/extensions"


def duckdb_statements(write: bool = False, settings: PlatformSettings | None = None) -> list[str]:
    """The SQL that attaches the REST catalog as `lake` in DuckDB (secrets included)."""
    s = _settings(settings)
    identity = _identity(write)
    store = store_endpoint(identity, s)
    token = rest_config.read_token(s, identity)
    host = store.host_port
    keys = store.credentials

    def quote(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    return [
        f"SET extension_directory = {quote(duckdb_extension_dir())}",
        "SET autoinstall_known_extensions = false",
        "LOAD httpfs",
        "LOAD avro",
        "LOAD iceberg",
        f"CREATE OR REPLACE SECRET lakehouse_s3 (TYPE s3, KEY_ID {quote(keys.access_key)}, "
        f"SECRET {quote(keys.secret_key)}, ENDPOINT {quote(host)}, URL_STYLE 'path', "
        f"USE_SSL {str(store.secure).lower()}, REGION {quote(store.region)})",
        f"CREATE OR REPLACE SECRET lakehouse_rest (TYPE iceberg, TOKEN {quote(token)})",
        f"ATTACH {quote(s.catalog_name)} AS {DUCKDB_CATALOG_ALIAS} "
        f"(TYPE iceberg, ENDPOINT {quote(s.rest_catalog_url)}, SECRET lakehouse_rest)",
    ]


def duckdb(
    write: bool = False, settings: PlatformSettings | None = None
) -> duckdb_module.DuckDBPyConnection:
    """An in-memory DuckDB with the warehouse attached as `lake` (`lake.ops.lake_inventory`)."""
    import duckdb as duckdb_module

    con = duckdb_module.connect()
    for statement in duckdb_statements(write, settings):
        con.execute(statement)
    return con


def polars_storage_options(store: StoreEndpoint) -> dict[str, str]:
    """polars' object-store options: polars ignores the table's own `s3.endpoint`."""
    options = {
        "aws_endpoint_url": store.url,
        "aws_access_key_id": store.credentials.access_key,
        "aws_secret_access_key": store.credentials.secret_key,
        "aws_region": store.region,
        "aws_allow_http": str(not store.secure).lower(),
    }
    if store.ca_bundle is not None:
        options["aws_ca_bundle"] = str(store.ca_bundle)
    return options


def polars_scan(table: str, settings: PlatformSettings | None = None) -> pl.LazyFrame:
    """A lazy polars scan of `table` ("namespace.name") through the REST catalog, as analyst."""
    import polars as pl

    s = _settings(settings)
    # pyiceberg plans the scan (the optional polars_iceberg planner is not installed); saying
    # so avoids polars' PerformanceWarning on every collect.
    os.environ.setdefault("POLARS_ICEBERG_PLANNER", "pyiceberg")
    loaded = catalog(settings=s).load_table(table)
    store = store_endpoint(rest_config.READ_ONLY, s)
    return pl.scan_iceberg(loaded, storage_options=polars_storage_options(store))


def spark(
    app_name: str = "lakehouse-shell", settings: PlatformSettings | None = None
) -> SparkSession:
    """A SparkSession on the shared catalog (`PLATFORM_CATALOG_NAME`, the current catalog) as
    the `spark` identity. With PLATFORM_SPARK_MODE=session its own JVM, the pinned jars on
    `spark.jars` and the keys set after launch; with `connect` a client of the platform's Spark
    Connect server (started if it is not running), so no JVM start. Stop it with
    `stop_spark(session)`: for a Connect client that also puts back the os.environ variables
    pyspark set (`platform_defs.spark_connect.client`)."""
    from platform_defs.spark_connect.client import open_spark

    s = _settings(settings)
    session = open_spark(s, store_endpoint(rest_config.READ_WRITE, s), app_name=app_name)
    session.sql(f"USE {s.catalog_name}")
    return session


def stop_spark(session: SparkSession) -> None:
    """Stop a session from `spark()` (the Spark Connect server, if any, keeps running)."""
    from platform_defs.spark_connect.client import close_spark

    close_spark(session)

"""pyiceberg's view of the warehouse: the SAME catalog rows Spark's JdbcCatalog writes.

Java's JdbcCatalog and pyiceberg's SqlCatalog share one schema and one compare-and-swap commit,
so both engines can write one table safely. The catalog name is part of every row's key: it must
equal Spark's `spark.sql.catalog.<name>`, which is why both sides take it from
`settings.catalog_name`. Only the `jdbc` catalog type is supported here; pyiceberg cannot write
the guide's hadoop tables.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import CatalogError
from platform_defs.private import private_dir
from platform_defs.settings import PlatformSettings
from platform_defs.spark.conf import mask_uri, sqlalchemy_catalog_uri

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.table import Table

# pyiceberg FileIO that trusts `s3.ca-bundle` (platform_defs/iceberg/tls_io.py); named, not
# imported, so loading this module does not load pyarrow.
IO_IMPL = "platform_defs.iceberg.tls_io.CaBundlePyArrowFileIO"
CA_BUNDLE_PROPERTY = "s3.ca-bundle"
_FIX = (
    "Set PLATFORM_CATALOG_URI to a SQLAlchemy URI such as "
    "postgresql+psycopg2://user:password@host:5432/dbname, or unset it to use the local SQLite "
    "file in the state dir."
)


def catalog_properties(settings: PlatformSettings, endpoint: StoreEndpoint) -> dict[str, str]:
    """SqlCatalog properties; `s3.*` mirror Spark's S3FileIO settings from `spark.conf`."""
    props = {
        "uri": sqlalchemy_catalog_uri(settings),
        "warehouse": f"s3://{settings.bucket}/warehouse",
        "s3.endpoint": endpoint.url,
        "s3.access-key-id": endpoint.credentials.access_key,
        "s3.secret-access-key": endpoint.credentials.secret_key,
        "s3.region": endpoint.region,
        "s3.path-style-access": "true",
        "s3.force-virtual-addressing": "false",
    }
    if endpoint.ca_bundle is not None:  # https with a private CA: trust it, never skip checks
        props["py-io-impl"] = IO_IMPL
        props[CA_BUNDLE_PROPERTY] = str(endpoint.ca_bundle)
    return props


def load_catalog(settings: PlatformSettings, endpoint: StoreEndpoint) -> SqlCatalog:
    """The catalog under `settings.catalog_name`, or one CatalogError naming the (masked) URI."""
    from pyiceberg.catalog.sql import SqlCatalog
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    if settings.catalog_type != "jdbc":
        raise CatalogError(
            "pyiceberg cannot use PLATFORM_CATALOG_TYPE=hadoop (it cannot commit to file-system "
            "tables). Use PLATFORM_CATALOG_TYPE=jdbc."
        )
    if settings.catalog_uri is None:
        private_dir(settings.catalog_db_path.parent, root=settings.state_dir)
    props = catalog_properties(settings, endpoint)
    shown = mask_uri(props["uri"])
    try:
        return SqlCatalog(settings.catalog_name, **props)
    except (ArgumentError, ValueError, ImportError) as exc:
        raise CatalogError(
            f"Catalog URI {shown} is not a valid database URI ({exc}). {_FIX}"
        ) from None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise CatalogError(
            f"Cannot open the Iceberg catalog database {shown}: {reason}. {_FIX}"
        ) from None


def append_with_retry(table: Table, data: pa.Table, attempts: int = 10) -> Table:
    """Append, re-trying on a lost compare-and-swap; a CommitFailedException means nothing landed.

    pyiceberg (unlike Java) does not retry a conflicting commit itself. Retrying is safe only for
    CommitFailedException: the catalog refused the swap, so the data files are orphans and the
    rows were not committed. Any other error may have committed and is raised as is.
    """
    from pyiceberg.exceptions import CommitFailedException

    for attempt in range(1, attempts + 1):
        try:
            table.append(data)
            return table
        except CommitFailedException:
            if attempt == attempts:
                raise
            time.sleep(min(0.05 * 2**attempt, 2.0))
            table = table.refresh()
    return table


def duckdb_over(table: Table, sql: str, *, row_filter: str = "true", name: str = "t") -> pa.Table:
    """Run `sql` in DuckDB over a scan of `table` registered as `name`; returns the result as Arrow.

    The scan is filtered by pyiceberg first (partition and file pruning), then handed to DuckDB as
    Arrow, so the SQL sees exactly one snapshot of the table.
    """
    import duckdb

    con: duckdb.DuckDBPyConnection = duckdb.connect()
    con.register(name, table.scan(row_filter=row_filter).to_arrow())
    try:
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()

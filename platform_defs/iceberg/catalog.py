"""pyiceberg's view of the warehouse: the SAME catalog rows Spark's JdbcCatalog writes.

Java's JdbcCatalog and pyiceberg's SqlCatalog share one schema and one compare-and-swap commit,
so both engines can write one table safely. The catalog name is part of every row's key: it must
equal Spark's `spark.sql.catalog.<name>`, which is why both sides take it from
`settings.catalog_name`. Only the `jdbc` catalog type is supported here; pyiceberg cannot write
the guide's hadoop tables.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from platform_defs.catalog_uri import bounded_catalog_uri, mask_uri, sqlalchemy_catalog_uri
from platform_defs.clients.s3 import S3_TIMEOUT_SETTING, ObjectStore
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import CatalogError
from platform_defs.iceberg import lost
from platform_defs.private import private_dir
from platform_defs.settings import PlatformSettings

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
    """SqlCatalog properties; `s3.*` mirror Spark's S3FileIO settings from `spark.conf`.

    Every call has a bound: the database URI carries the connect/statement timeouts
    (`bounded_catalog_uri`), and pyarrow's S3 client gets PLATFORM_S3_TIMEOUT_SECONDS."""
    from pyiceberg.io import S3_CONNECT_TIMEOUT, S3_REQUEST_TIMEOUT

    timeout = f"{settings.s3_timeout_seconds:g}"
    props = {
        "uri": bounded_catalog_uri(settings),
        "warehouse": settings.warehouse_uri,
        **endpoint.pyiceberg_properties(),
        S3_CONNECT_TIMEOUT: timeout,
        S3_REQUEST_TIMEOUT: timeout,
    }
    if endpoint.ca_bundle is not None:  # https with a private CA: trust it, never skip checks
        props["py-io-impl"] = IO_IMPL
        props[CA_BUNDLE_PROPERTY] = str(endpoint.ca_bundle)
    return props


def load_catalog(
    settings: PlatformSettings, endpoint: StoreEndpoint, *, refuse_lost: bool = True
) -> SqlCatalog:
    """The catalog under `settings.catalog_name`, or one CatalogError saying what to do.

    A missing, empty or damaged catalog database is checked against the warehouse first
    (`lost.py`): with table metadata there it is a lost catalog and is refused, never replaced
    by an empty one. Only the recovery job passes `refuse_lost=False`."""
    if settings.catalog_type != "jdbc":
        raise CatalogError(
            "pyiceberg cannot use PLATFORM_CATALOG_TYPE=hadoop (it cannot commit to file-system "
            "tables). Use PLATFORM_CATALOG_TYPE=jdbc."
        )
    if settings.catalog_uri is None:
        private_dir(settings.catalog_db_path.parent, root=settings.state_dir)
    props = catalog_properties(settings, endpoint)
    shown = mask_uri(sqlalchemy_catalog_uri(settings))
    db_file = sqlite_file(settings)
    checked = False
    if refuse_lost and db_file is not None:
        problem = lost.sqlite_problem(db_file, settings.catalog_statement_timeout_seconds)
        if problem is not None:
            _refuse_if_lost(settings, endpoint, str(db_file), problem, damaged=db_file)
            checked = True
    if db_file is not None:
        db_file.parent.mkdir(parents=True, exist_ok=True)
    catalog = _open(settings, props, shown)
    if _catalog_rows(settings, catalog, shown) == 0:
        if refuse_lost and not checked:
            where = str(db_file) if db_file else shown
            empty = f"is empty (no table or namespace of catalog {settings.catalog_name!r})"
            _refuse_if_lost(settings, endpoint, where, empty, damaged=None)
        catalog.create_tables()  # CREATE TABLE IF NOT EXISTS: a no-op when they exist
    return catalog


def refuse_lost_sqlite_catalog(settings: PlatformSettings, endpoint: StoreEndpoint) -> None:
    """The lost-catalog check without opening the catalog, for Spark: its JdbcCatalog would
    otherwise create empty catalog tables in a missing or 0-byte SQLite file."""
    db_file = sqlite_file(settings)
    if db_file is None:
        return
    problem = lost.sqlite_problem(db_file, settings.catalog_statement_timeout_seconds)
    if problem is not None:
        _refuse_if_lost(settings, endpoint, str(db_file), problem, damaged=db_file)


def list_table_names(settings: PlatformSettings) -> list[str]:
    """`namespace.table` of every table in the catalog, read from the catalog database alone.

    No object store and no credentials are needed, so the code location can list the tables
    at load (each becomes an asset) even while the store is down. A catalog that does not
    exist yet is a CatalogError; this never creates the database."""
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    if settings.catalog_type != "jdbc":
        return []
    shown = mask_uri(sqlalchemy_catalog_uri(settings))
    db_file = sqlite_file(settings)
    if db_file is not None and not db_file.exists():
        raise CatalogError(f"No Iceberg catalog at {db_file} yet: the bootstrap creates it.")
    query = text(
        "SELECT table_namespace, table_name FROM iceberg_tables WHERE catalog_name = :n "
        "ORDER BY table_namespace, table_name"
    )
    try:
        engine = create_engine(bounded_catalog_uri(settings))
    except (ArgumentError, ValueError, ImportError) as exc:
        raise CatalogError(
            f"Catalog URI {shown} is not a valid database URI ({exc}). {_FIX}"
        ) from None
    try:
        with engine.connect() as conn:
            if "iceberg_tables" not in inspect(conn).get_table_names():
                return []
            rows = conn.execute(query, {"n": settings.catalog_name}).all()
    except SQLAlchemyError as exc:
        raise _database_error(settings, shown, exc) from None
    finally:
        engine.dispose()
    return [f"{namespace}.{name}" for namespace, name in rows]


def sqlite_file(settings: PlatformSettings) -> Path | None:
    """The catalog's SQLite file, if the catalog is one (the default, or a sqlite:/// URI)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if settings.catalog_uri is None:
        return settings.catalog_db_path
    try:
        url = make_url(settings.catalog_uri)
    except ArgumentError:
        return None  # reported by _open with the URI and the fix
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).absolute()


def _refuse_if_lost(
    settings: PlatformSettings,
    endpoint: StoreEndpoint,
    where: str,
    problem: str,
    damaged: Path | None,
) -> None:
    """Raise when the warehouse holds tables (or the file is damaged); else let it be created."""
    is_damage = problem.startswith("cannot be read")
    found = find_tables(settings, endpoint)
    if found or is_damage:
        raise lost.lost_catalog_error(
            where, problem, settings.bucket, found, damaged_file=damaged if is_damage else None
        )


def find_tables(settings: PlatformSettings, endpoint: StoreEndpoint) -> list[lost.FoundTable]:
    """Every table with metadata under the warehouse prefix (one listing of the prefix)."""
    store = ObjectStore(
        endpoint, timeout=settings.s3_timeout_seconds, timeout_setting=S3_TIMEOUT_SETTING
    )
    listing = store.iter_objects(settings.bucket, prefix=lost.WAREHOUSE_PREFIX)
    return lost.tables_from_keys(settings.bucket, (str(o.object_name) for o in listing))  # type: ignore[attr-defined]


def _open(settings: PlatformSettings, props: dict[str, str], shown: str) -> SqlCatalog:
    from pyiceberg.catalog.sql import SqlCatalog
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        return SqlCatalog(settings.catalog_name, **props, init_catalog_tables="false")
    except (ArgumentError, ValueError, ImportError) as exc:
        raise CatalogError(
            f"Catalog URI {shown} is not a valid database URI ({exc}). {_FIX}"
        ) from None
    except SQLAlchemyError as exc:
        raise _database_error(settings, shown, exc) from None


def _catalog_rows(settings: PlatformSettings, catalog: SqlCatalog, shown: str) -> int:
    """Tables plus namespaces of this catalog name; 0 for a database without catalog tables."""
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import SQLAlchemyError

    query = text(
        "SELECT (SELECT COUNT(*) FROM iceberg_tables WHERE catalog_name = :n) + "
        "(SELECT COUNT(*) FROM iceberg_namespace_properties WHERE catalog_name = :n)"
    )
    try:
        with catalog.engine.connect() as conn:
            present = inspect(conn).get_table_names()
            if not {"iceberg_tables", "iceberg_namespace_properties"} <= set(present):
                return 0
            return int(conn.execute(query, {"n": catalog.name}).scalar_one())
    except SQLAlchemyError as exc:
        raise _database_error(settings, shown, exc) from None


def _database_error(settings: PlatformSettings, shown: str, exc: Exception) -> CatalogError:
    """One message for a database that refused, timed out or is damaged."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    low = reason.lower()
    if "timeout expired" in low or "timed out" in low:
        return CatalogError(
            f"The Iceberg catalog database {shown} did not answer within "
            f"{settings.catalog_connect_timeout_seconds:g} s "
            f"(PLATFORM_CATALOG_CONNECT_TIMEOUT_SECONDS): {reason}. Check that the database "
            "server is up and answering, or raise the setting if it is merely slow."
        )
    if "statement timeout" in low:
        return CatalogError(
            f"A statement on the Iceberg catalog database {shown} ran longer than "
            f"{settings.catalog_statement_timeout_seconds:g} s "
            f"(PLATFORM_CATALOG_STATEMENT_TIMEOUT_SECONDS): {reason}. Look for a lock held by "
            "another session, or raise the setting if the database is merely slow."
        )
    if "malformed" in low or "not a database" in low:
        return CatalogError(
            f"The Iceberg catalog {shown} cannot be read ({reason}). Restore it from your "
            f"backup ({lost.BACKUP_SECTION}), or run {lost.RECOVER}."
        )
    return CatalogError(f"Cannot open the Iceberg catalog database {shown}: {reason}. {_FIX}")


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

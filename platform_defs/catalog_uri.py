"""The catalog database URI as both engines start from it, and as messages may show it.

Core (settings only): pyiceberg's side (`platform_defs.iceberg`) and Spark's side
(`platform_defs.spark.conf`, which derives the JDBC URL from it) both need these, and neither
should import the other to get them.
"""

from __future__ import annotations

import math
from urllib.parse import urlparse

from platform_defs.settings import PlatformSettings


def mask_uri(uri: str) -> str:
    """`uri` with any password replaced by ***, for error messages and logs."""
    parsed = urlparse(uri)
    if parsed.password is None:
        return uri
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
    return parsed._replace(netloc=netloc).geturl()


def sqlalchemy_catalog_uri(settings: PlatformSettings) -> str:
    """The catalog database in SQLAlchemy form, as pyiceberg's SqlCatalog takes it."""
    return settings.catalog_uri or f"sqlite:///{settings.catalog_db_path}"


def bounded_catalog_uri(settings: PlatformSettings) -> str:
    """The SQLAlchemy URI with the platform's catalog timeouts added where the URI sets none.

    psycopg2/psycopg (libpq): `connect_timeout` bounds the whole connection start, including a
    server that accepts TCP and never answers; `options=-c statement_timeout=` makes the server
    cancel long statements (libpq has no client-side read timeout). SQLite: `timeout` is how
    long a statement waits for another writer's lock. A value already in the URI wins."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    uri = sqlalchemy_catalog_uri(settings)
    try:
        url = make_url(uri)
    except ArgumentError:
        return uri  # the catalog loader reports the malformed URI with its fix
    query = dict(url.query)
    try:
        backend, driver = url.get_backend_name(), url.get_driver_name()
    except NoSuchModuleError:
        return uri  # an unknown dialect: the catalog loader reports it with its fix
    if backend == "postgresql" and driver in ("psycopg2", "psycopg"):
        query.setdefault(
            "connect_timeout", str(math.ceil(settings.catalog_connect_timeout_seconds))
        )
        options = str(query.get("options", ""))
        if "statement_timeout" not in options:
            ms = round(settings.catalog_statement_timeout_seconds * 1000)
            query["options"] = f"{options} -c statement_timeout={ms}".strip()
    elif backend == "sqlite":
        query.setdefault("timeout", f"{settings.catalog_statement_timeout_seconds:g}")
    if query == dict(url.query):
        return uri
    return url.update_query_dict(query).render_as_string(hide_password=False)

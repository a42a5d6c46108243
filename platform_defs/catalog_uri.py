"""The catalog database URI as both engines start from it, and as messages may show it.

Core (settings only): pyiceberg's side (`platform_defs.iceberg`) and Spark's side
(`platform_defs.spark.conf`, which derives the JDBC URL from it) both need these, and neither
should import the other to get them.
"""

from __future__ import annotations

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

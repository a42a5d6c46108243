"""Telling a lost catalog from a new one, so an empty catalog never hides existing tables.

The catalog database holds only pointers (table -> current metadata file); the tables themselves
live in the bucket. If the database is lost (deleted, truncated to 0 bytes, damaged) and a new,
empty one is created in its place, every table silently disappears while its files stay. So
before a catalog is created or used empty, the warehouse prefix is listed: table metadata there
means the catalog was lost, and the person gets one error saying what was found and how to
restore it, instead of an empty catalog.

The newest metadata file of a table is chosen by the version number in its name
(`NNNNN-<uuid>.metadata.json`, written by both Java and pyiceberg, or `vN.metadata.json`), never
by object modification time: a copy or restore of the bucket rewrites mtimes.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from platform_defs.errors import CatalogError

WAREHOUSE_PREFIX = "warehouse/"
BACKUP_SECTION = 'README "Backup and restore"'
RECOVER = "the recover_catalog job (`make recover-catalog`)"
_METADATA = re.compile(
    r"^(?P<table>.+)/metadata/"
    r"(?P<file>(?:(?P<n>\d+)-[0-9a-fA-F-]{36}|v(?P<v>\d+))(?:\.gz)?\.metadata\.json)$"
)
_SHOWN = 10


@dataclass(frozen=True)
class FoundTable:
    """One table directory of the warehouse and its newest metadata file(s)."""

    namespace: tuple[str, ...]
    name: str
    version: int
    candidates: tuple[str, ...]  # s3:// URIs of the newest version; more than one = ambiguous

    @property
    def identifier(self) -> str:
        return ".".join((*self.namespace, self.name))

    @property
    def metadata_location(self) -> str | None:
        return self.candidates[0] if len(self.candidates) == 1 else None


def _identifier(table_dir: str) -> tuple[tuple[str, ...], str] | None:
    """`ns/table` (Spark's JdbcCatalog) or `ns.db/table` (pyiceberg) relative to the warehouse."""
    parts = table_dir.split("/")
    if len(parts) < 2 or not all(parts):
        return None
    *namespace, name = parts
    if namespace[-1].endswith(".db"):  # pyiceberg joins nested levels with '.' in one directory
        namespace = [*namespace[:-1], *namespace[-1].removesuffix(".db").split(".")]
    return tuple(namespace), name


def tables_from_keys(bucket: str, keys: Iterable[str]) -> list[FoundTable]:
    """The tables whose metadata files are among `keys` (object keys under WAREHOUSE_PREFIX)."""
    versions: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for key in keys:
        m = _METADATA.match(key.removeprefix(WAREHOUSE_PREFIX))
        if m is None or not key.startswith(WAREHOUSE_PREFIX):
            continue
        number = int(m.group("n") if m.group("n") is not None else m.group("v"))
        versions[m.group("table")][number].append(f"s3://{bucket}/{key}")
    found = []
    for table_dir, by_number in versions.items():
        ident = _identifier(table_dir)
        if ident is None:
            continue
        newest = max(by_number)
        found.append(FoundTable(ident[0], ident[1], newest, tuple(sorted(by_number[newest]))))
    return sorted(found, key=lambda t: t.identifier)


def sqlite_problem(path: Path, timeout: float) -> str | None:
    """Why the SQLite catalog file cannot be the catalog (missing, empty, damaged), or None.

    Opened read-only, so looking never creates or changes the file."""
    if not path.exists():
        return "does not exist"
    if path.stat().st_size == 0:
        return "is empty (0 bytes)"
    try:
        con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=timeout)
        try:
            rows = con.execute("PRAGMA quick_check").fetchall()
        finally:
            con.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            raise CatalogError(
                f"The Iceberg catalog {path} stayed locked for more than {timeout:g} s "
                "(PLATFORM_CATALOG_STATEMENT_TIMEOUT_SECONDS): another process holds a write "
                "lock. Wait for it to finish, or find it with `fuser` and stop it."
            ) from None
        return f"cannot be read ({exc})"
    except sqlite3.DatabaseError as exc:
        return f"cannot be read ({exc})"
    if rows != [("ok",)]:
        return f"cannot be read (integrity check: {'; '.join(str(r[0]) for r in rows[:3])})"
    return None


def lost_catalog_error(
    where: str, problem: str, bucket: str, found: list[FoundTable], *, damaged_file: Path | None
) -> CatalogError:
    """The one message for a catalog that is missing, empty or unreadable."""
    warehouse = f"s3://{bucket}/{WAREHOUSE_PREFIX}"
    if not found:  # only reached for a damaged catalog: a missing or empty one is just new
        return CatalogError(
            f"The Iceberg catalog {where} {problem}, and no table metadata lies under "
            f"{warehouse}. Nothing was changed. Restore the catalog from your backup "
            f"({BACKUP_SECTION}), or move the damaged file aside and run `make run` again to "
            "start a new, empty catalog."
        )
    names = ", ".join(t.identifier for t in found[:_SHOWN])
    more = f" and {len(found) - _SHOWN} more" if len(found) > _SHOWN else ""
    kept = (
        f"; it keeps the damaged file as {damaged_file.name}.corrupt-<time> beside it"
        if damaged_file is not None
        else ""
    )
    return CatalogError(
        f"The Iceberg catalog {where} {problem}, but {warehouse} holds the metadata of "
        f"{len(found)} table{'s' if len(found) != 1 else ''} ({names}{more}). Nothing was "
        "changed: a new, empty catalog would hide those tables. Restore the catalog from your "
        f"backup ({BACKUP_SECTION}), or register every table back from its newest metadata "
        f"file with {RECOVER}{kept}. If PLATFORM_CATALOG_URI or PLATFORM_CATALOG_NAME was "
        "changed, set it back to the catalog that wrote these tables."
    )

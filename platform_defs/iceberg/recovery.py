"""Registering the warehouse's tables back into a catalog that lost them.

Planned in full before anything is written: a table already registered at another metadata
file, or one whose newest version exists twice (a commit that lost a race leaves a second file
with the same number), stops the whole recovery with one message and nothing registered. A table
registered at the very file found is left alone, so running the recovery again changes nothing.

One caveat, said in the README: a commit whose writer was killed after writing its metadata file
but before the catalog swap has the highest number, and comes back as committed.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from platform_defs.errors import CatalogError
from platform_defs.iceberg.lost import FoundTable

if TYPE_CHECKING:
    from pyiceberg.catalog.sql import SqlCatalog


@dataclass
class Plan:
    register: dict[str, str] = field(default_factory=dict)  # identifier -> metadata location
    already: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def choose(
    found: list[FoundTable], overrides: dict[str, str], skip: list[str]
) -> tuple[Plan, dict[str, FoundTable]]:
    """Which metadata file each table goes back to; needs no catalog, so it runs first."""
    plan = Plan()
    by_id = {t.identifier: t for t in found}
    for name in sorted(set(overrides) - set(by_id)):
        plan.problems.append(
            f"metadata_locations names {name}, which has no metadata under the warehouse"
        )
    for table in found:
        if table.identifier in skip:
            plan.skipped.append(table.identifier)
            continue
        location = overrides.get(table.identifier) or table.metadata_location
        if location is None:
            plan.problems.append(
                f"{table.identifier} has {len(table.candidates)} metadata files with its newest "
                f"version {table.version} ({', '.join(table.candidates)}): a commit that lost a "
                "race leaves one. Name the right one under `metadata_locations` in the run config"
            )
            continue
        plan.register[table.identifier] = location
    return plan, by_id


def check_against(catalog: SqlCatalog, plan: Plan) -> None:
    """Move tables registered at the same file to `already`; any other registration is a
    problem (never overwritten)."""
    for name, location in list(plan.register.items()):
        current = registered_location(catalog, name)
        if current is None:
            continue
        del plan.register[name]
        if current == location:
            plan.already.append(name)
        else:
            plan.problems.append(
                f"{name} is registered at {current}, but its newest metadata file under the "
                f"warehouse is {location}. recover_catalog never moves a registered table: if "
                "the newer file is right, unregister the table (pyiceberg `drop_table` removes "
                "only the catalog row) and run it again; else list it under `skip`"
            )


def registered_location(catalog: SqlCatalog, identifier: str) -> str | None:
    """The metadata file the catalog row points to, read from the row (no S3 read)."""
    from sqlalchemy import text

    *namespace, table = identifier.split(".")
    query = text(
        "SELECT metadata_location FROM iceberg_tables WHERE catalog_name = :c "
        "AND table_namespace = :ns AND table_name = :t"
    )
    with catalog.engine.connect() as conn:
        row = conn.execute(
            query, {"c": catalog.name, "ns": ".".join(namespace), "t": table}
        ).first()
    return None if row is None else str(row[0])


def refuse(plan: Plan) -> None:
    if plan.problems:
        raise CatalogError(
            "Nothing was registered: "
            + "; ".join(plan.problems)
            + ". Fix these and run recover_catalog again (`make recover-catalog`)."
        )


def apply(catalog: SqlCatalog, plan: Plan, by_id: dict[str, FoundTable]) -> dict[str, int]:
    """Register every planned table; returns the row count each one's metadata records."""
    rows = {}
    for name, location in sorted(plan.register.items()):
        catalog.create_namespace_if_not_exists(by_id[name].namespace)
        snapshot = catalog.register_table(name, location).current_snapshot()
        total = snapshot.summary.get("total-records") if snapshot and snapshot.summary else None
        rows[name] = int(total or 0)
    return rows


def move_aside(db_file: Path) -> Path:
    """Keep a damaged SQLite file (and its journal) under a new name; never delete it."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = db_file.with_name(f"{db_file.name}.corrupt-{stamp}")
    os.rename(db_file, kept)
    for suffix in ("-journal", "-wal", "-shm"):
        side = db_file.with_name(db_file.name + suffix)
        if side.exists():
            os.rename(side, kept.with_name(kept.name + suffix))
    return kept

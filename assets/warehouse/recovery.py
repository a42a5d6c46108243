"""The `recover_catalog` job: register every table of the warehouse back into the catalog.

For a catalog database that was lost (deleted, emptied, damaged) while the bucket kept the
tables: `iceberg_warehouse` refuses to start an empty catalog over them and names this job. It
is explicit on purpose: it decides which metadata file is each table's current one, which only
the lost catalog knew for sure. Run config (config/recover_catalog.yaml): `dry_run`, `skip`
(identifiers to leave out) and `metadata_locations` (the file for a table whose newest version
is ambiguous).
"""

from typing import Any

import dagster as dg
from pydantic import Field

from platform_defs.iceberg import lost, recovery
from platform_defs.iceberg.catalog import find_tables, load_catalog, sqlite_file
from platform_defs.identities import SPARK
from platform_defs.resources.platform import PlatformResource


class RecoverConfig(dg.Config):
    dry_run: bool = Field(False, description="Only report what would be registered.")
    skip: list[str] = Field(default_factory=list, description="Tables (ns.table) to leave out.")
    metadata_locations: dict[str, str] = Field(
        default_factory=dict,
        description="ns.table -> s3:// metadata file, for a table whose newest version is "
        "ambiguous (the run names such tables).",
    )


@dg.op(
    description="Find each table's newest metadata file under the warehouse prefix and register "
    "it; tables already registered there are left alone, any other registration stops the run."
)
def recover_catalog_tables(
    context: dg.OpExecutionContext, config: RecoverConfig, platform: PlatformResource
) -> dg.Output[dict[str, Any]]:
    settings = platform.settings()
    endpoint = platform.service_endpoint(SPARK)
    found = find_tables(settings, endpoint)
    plan, by_id = recovery.choose(found, config.metadata_locations, config.skip)
    recovery.refuse(plan)
    db_file = sqlite_file(settings)
    problem = None
    if db_file is not None:
        problem = lost.sqlite_problem(db_file, settings.catalog_statement_timeout_seconds)
    moved = None
    damaged = db_file is not None and (problem or "").startswith("cannot be read")
    if damaged and db_file is not None and not config.dry_run:
        moved = recovery.move_aside(db_file)
        context.log.warning(f"damaged catalog file kept as {moved}")
    if not (problem and config.dry_run):  # a dry run creates no catalog to compare against
        recovery.check_against(load_catalog(settings, endpoint, refuse_lost=False), plan)
        recovery.refuse(plan)
    rows: dict[str, int] = {}
    if not config.dry_run:
        rows = recovery.apply(load_catalog(settings, endpoint, refuse_lost=False), plan, by_id)
    for name, location in sorted(plan.register.items()):
        done = "would register" if config.dry_run else f"registered ({rows[name]} rows)"
        context.log.info(f"{name}: {done} at {location}")
    result = {
        "registered": sorted(plan.register),
        "already_registered": sorted(plan.already),
        "skipped": sorted(plan.skipped),
        "moved_aside": str(moved) if moved else None,
        "dry_run": config.dry_run,
    }
    return dg.Output(
        result,
        metadata={
            "tables_found": dg.MetadataValue.int(len(found)),
            "registered": dg.MetadataValue.int(len(plan.register)),
            "already_registered": dg.MetadataValue.int(len(plan.already)),
            "skipped": dg.MetadataValue.int(len(plan.skipped)),
            "rows_registered": dg.MetadataValue.int(sum(rows.values())),
            "tables": ", ".join(sorted(plan.register)) or "(none)",
            "dry_run": config.dry_run,
        },
    )


@dg.job(
    description="Register the warehouse's tables back into an empty, missing or damaged catalog "
    "from their newest metadata files (a damaged SQLite file is kept beside it, renamed).",
    executor_def=dg.in_process_executor,
)
def recover_catalog() -> None:
    recover_catalog_tables()

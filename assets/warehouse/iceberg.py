"""Warehouse assets: the Iceberg catalog and its namespaces, and the tables Spark jobs write.

The catalog is a JDBC/SQL catalog shared by Spark (JdbcCatalog) and pyiceberg (SqlCatalog)
under one name, so both engines read and commit to the same tables. Spark jobs run as a
subprocess through Dagster Pipes: the same command runs in a pod on a cluster.
"""

from collections.abc import Iterator, Sequence
from typing import Any

import dagster as dg

from platform_defs.catalog_uri import mask_uri, sqlalchemy_catalog_uri
from platform_defs.errors import PlatformError
from platform_defs.iceberg.catalog import load_catalog
from platform_defs.iceberg.probe import read_in_subprocess
from platform_defs.iceberg.table_metadata import ROW_COUNT, URI, totals
from platform_defs.identities import ANALYST, SPARK
from platform_defs.resources.platform import PlatformResource

from .. import spark_jobs
from ..platform.provision import OWNERS
from ..platform.storage import datalake_bucket
from ..security.identities import service_identities
from ..spark_jobs.context import launch_env, launch_extras
from ..spark_jobs.inventory import DUPLICATE_CHECK
from .interop_memo import AGREE_CHECK, INVENTORY_KEY, READ_CHECK, previous_read, unchanged_results
from .inventory_freshness import INVENTORY_TABLE, InventoryConfig, current_inventory

NAMESPACES = ("raw", "curated", "ops")
TAGS = {"domain": "warehouse"}
PipesResult = dg.MaterializeResult[Any] | dg.AssetCheckResult


@dg.asset(
    deps=[datalake_bucket, service_identities],
    group_name="warehouse",
    owners=OWNERS,
    tags=TAGS,
    kinds={"iceberg"},
    description="The Iceberg catalog (JDBC/SQL, shared by Spark and pyiceberg) with the "
    "warehouse at s3://<bucket>/warehouse and the namespaces raw, curated and ops.",
)
def iceberg_warehouse(
    context: dg.AssetExecutionContext, platform: PlatformResource
) -> dg.MaterializeResult[None]:
    settings = platform.settings()
    metadata: dict[str, Any] = {
        "catalog": settings.catalog_name,
        "catalog_type": settings.catalog_type,
        URI: dg.MetadataValue.text(settings.warehouse_uri),
    }
    if settings.catalog_type == "hadoop":
        # The file-system catalog has no database; Spark creates namespaces as directories.
        context.log.warning("hadoop catalog: single writer only (unsafe commits on object stores)")
        return dg.MaterializeResult(metadata=metadata)
    endpoint = platform.service_endpoint(SPARK)
    catalog = load_catalog(settings, endpoint)
    existing = {ns[0] for ns in catalog.list_namespaces()}
    created = [ns for ns in NAMESPACES if ns not in existing]
    for ns in created:
        catalog.create_namespace_if_not_exists(ns)
    tables = [
        ".".join(t) for ns in sorted(existing | set(NAMESPACES)) for t in catalog.list_tables(ns)
    ]
    context.log.info(f"namespaces {NAMESPACES}: created {created or 'none'}; {len(tables)} tables")
    metadata.update(
        catalog_uri=mask_uri(sqlalchemy_catalog_uri(settings)),
        namespaces=", ".join(NAMESPACES),
        namespaces_created=dg.MetadataValue.int(len(created)),
        table_count=dg.MetadataValue.int(len(tables)),
        tables=_tables_overview(catalog, tables),
    )
    if endpoint.console_url:
        metadata["store_console"] = dg.MetadataValue.url(endpoint.console_url)
    return dg.MaterializeResult(metadata=metadata)


def _tables_overview(catalog: Any, tables: list[str]) -> dg.MetadataValue:
    """The catalog's tables as a table in the UI: name, rows, bytes, current snapshot."""
    records = []
    for name in tables:
        t = totals(catalog.load_table(name))
        records.append(
            dg.TableRecord(
                {
                    "table": name,
                    "rows": t.rows,
                    "size_bytes": t.size_bytes,
                    "snapshot_id": t.snapshot_id,
                }
            )
        )
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn("table", "string"),
            dg.TableColumn("rows", "int"),
            dg.TableColumn("size_bytes", "int"),
            dg.TableColumn("snapshot_id", "string"),
        ]
    )
    return dg.MetadataValue.table(records=records, schema=schema)


@dg.asset_check(
    asset=iceberg_warehouse,
    blocking=True,
    description="The catalog database answers and lists every platform namespace.",
)
def iceberg_catalog_reachable(platform: PlatformResource) -> dg.AssetCheckResult:
    settings = platform.settings()
    if settings.catalog_type == "hadoop":
        return dg.AssetCheckResult(passed=True, description="hadoop catalog: no catalog database")
    try:
        spark = platform.service_endpoint(SPARK)
        found = {ns[0] for ns in load_catalog(settings, spark).list_namespaces()}
    except PlatformError as exc:
        return dg.AssetCheckResult(passed=False, description=str(exc))
    missing = sorted(set(NAMESPACES) - found)
    return dg.AssetCheckResult(
        passed=not missing,
        description=f"missing namespaces: {missing}" if missing else "all namespaces present",
    )


@dg.asset(
    deps=[iceberg_warehouse],
    group_name="warehouse",
    owners=OWNERS,
    tags={**TAGS, "engine": "spark"},
    kinds={"iceberg", "spark"},
    check_specs=[
        dg.AssetCheckSpec(
            DUPLICATE_CHECK,
            asset="lake_inventory",
            description="Today's partition has each prefix once (a re-run replaced the day's "
            "rows rather than appending a second copy); counted by the Spark job.",
        )
    ],
    description="ops.lake_inventory: what is in the datalake bucket per prefix (objects, "
    "bytes, newest modification), one partition per day, written by a Spark job. Re-running "
    "on the same day replaces that day's rows.",
)
def lake_inventory(
    context: dg.AssetExecutionContext,
    config: InventoryConfig,
    platform: PlatformResource,
) -> Iterator[PipesResult]:
    settings = platform.settings()
    if not config.force and settings.target != "kubernetes":
        current = current_inventory(settings, platform.service_endpoint(SPARK))
        if current is not None:
            context.log.info("inventory is current (bucket unchanged today): Spark not started")
            yield from current
            return
    yield from run_spark_job("lake_inventory", context, platform, checks=(DUPLICATE_CHECK,))


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            READ_CHECK,
            asset="lake_inventory",
            description="A separate Python process reads the table with pyiceberg alone, as "
            "the read-only analyst identity (as a notebook would).",
        ),
        dg.AssetCheckSpec(
            AGREE_CHECK,
            asset="lake_inventory",
            description="The row count pyiceberg read equals the dagster/row_count the Spark "
            "job reported.",
        ),
    ],
    description="A separate Python process reads the table with pyiceberg alone (as a "
    "notebook would), and its row count equals what the Spark job reported.",
)
def lake_inventory_interop(
    context: dg.AssetCheckExecutionContext, platform: PlatformResource
) -> Iterator[dg.AssetCheckResult]:
    settings = platform.settings()
    if settings.catalog_type == "hadoop":
        why = "pyiceberg cannot read hadoop-catalog tables; use PLATFORM_CATALOG_TYPE=jdbc"
        for name in (READ_CHECK, AGREE_CHECK):
            yield dg.AssetCheckResult(
                check_name=name, passed=False, severity=dg.AssetCheckSeverity.WARN, description=why
            )
        return
    event = context.instance.get_latest_materialization_event(INVENTORY_KEY)
    mat = event.asset_materialization if event else None
    meta = {k: v.value for k, v in mat.metadata.items()} if mat else {}
    spark_rows = meta.get(ROW_COUNT)
    snapshot = meta.get("snapshot_id")
    read_in = previous_read(context.instance, snapshot) if meta.get("spark_skipped") else None
    if read_in is not None:
        # Snapshots are immutable: the one a separate process already read is still readable.
        yield from unchanged_results(snapshot, read_in)
        return
    # Read as an analyst would: the read-only identity.
    read = read_in_subprocess(settings, platform.service_endpoint(ANALYST), INVENTORY_TABLE)
    yield dg.AssetCheckResult(
        check_name=READ_CHECK,
        passed=bool(read.get("ok")),
        description=read.get("error") or f"read {read.get('rows')} rows in a separate process",
        metadata={k: v for k, v in read.items() if k in ("rows", "snapshot_id", "read_seconds")},
    )
    yield dg.AssetCheckResult(
        check_name=AGREE_CHECK,
        passed=read.get("ok") is True and spark_rows == read.get("rows"),
        description=f"spark reported {spark_rows}, pyiceberg read {read.get('rows')}",
        metadata={"spark_rows": spark_rows, "pyiceberg_rows": read.get("rows")},
    )


@dg.asset(
    deps=[iceberg_warehouse, lake_inventory],
    group_name="ops",
    owners=OWNERS,
    tags={"domain": "ops", "engine": "spark"},
    kinds={"iceberg", "spark"},
    description="Iceberg table maintenance on every table of the catalog (compaction, manifest "
    "rewrite, snapshot expiry, orphan removal with Iceberg's 24 h safety cutoff); its metadata "
    "records what each procedure did.",
)
def warehouse_maintenance(
    context: dg.AssetExecutionContext,
    platform: PlatformResource,
) -> Iterator[PipesResult]:
    yield from run_spark_job("maintenance", context, platform)


def run_spark_job(
    job: str,
    context: dg.AssetExecutionContext,
    platform: PlatformResource,
    checks: tuple[str, ...] = (),
) -> Sequence[PipesResult]:
    """The same job module on every target; the target decides where it runs (a local child
    process or its own pod) and which endpoint and keys it gets (the spark identity's, never
    root's: assets/security/identities.py)."""
    settings = platform.settings()
    target = platform.target()
    endpoint = target.spark_endpoint()
    return target.launch_spark_step(
        context,
        [spark_jobs.MODULE, job],
        launch_extras(settings, endpoint, checks=checks),
        launch_env(settings, endpoint),
    ).get_results()

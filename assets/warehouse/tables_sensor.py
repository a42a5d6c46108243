"""Every Iceberg table in the catalog as an asset, observed by the `warehouse_tables` sensor.

Tables the platform writes (ops.lake_inventory, ops.health_history) are assets already; tables
people create themselves (`raw.newcomer_events` from a notebook) would otherwise appear nowhere
in the UI. At definitions load the catalog database is listed (no object store needed, a few
milliseconds) and each other table becomes an AssetSpec in group `warehouse_tables`; a table
created later appears after a reload of the code location (Deployment -> Reload). For each
table whose snapshot changed since its last tick (an idle warehouse adds no events) the sensor
records row count, snapshot, size and schema in Dagster's standard keys: as an
AssetMaterialization for a discovered table (someone outside Dagster wrote it: a runless
materialization is how Dagster records an external asset's update, and only a materialization
makes the UI render its column table and "latest materialization"), as an AssetObservation for
a table an asset owns (Dagster's own materializations of it stay the only ones).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import dagster as dg

from platform_defs.errors import PlatformError
from platform_defs.iceberg.catalog import list_table_names, load_catalog
from platform_defs.iceberg.table_metadata import table_metadata
from platform_defs.identities import ANALYST
from platform_defs.resources.platform import PlatformResource
from platform_defs.settings import PlatformSettings

GROUP = "warehouse_tables"
# Tables that are the output of an asset already: observed under that asset's key.
OWNED = {
    "ops.lake_inventory": dg.AssetKey("lake_inventory"),
    "ops.health_history": dg.AssetKey("health_history"),
}
_log = dg.get_dagster_logger("platform_defs.warehouse_tables")


def asset_key(table: str) -> dg.AssetKey:
    """`raw.newcomer_events` -> AssetKey(["raw", "newcomer_events"]) (UI: /assets/raw/...)."""
    return OWNED.get(table) or dg.AssetKey(table.split("."))


def discover_table_specs(
    settings: PlatformSettings, owners: Sequence[str] = ()
) -> list[dg.AssetSpec]:
    """One AssetSpec per table in the catalog that no asset writes; none (and one log line)
    when there is no catalog yet or its database does not answer: loading never fails here."""
    try:
        tables = list_table_names(settings)
    except PlatformError as exc:
        _log.info(f"warehouse tables not listed as assets: {str(exc).splitlines()[0]}")
        return []
    return [
        dg.AssetSpec(
            key=asset_key(table),
            group_name=GROUP,
            owners=owners,
            kinds={"iceberg"},
            tags={"domain": "warehouse"},
            description=f"Iceberg table {settings.catalog_name}.{table}, found in the catalog "
            "when the code location loaded. The warehouse_tables sensor records its row count, "
            "snapshot, size and schema whenever its snapshot changes.",
            metadata={"dagster/table_name": f"{settings.catalog_name}.{table}"},
        )
        for table in tables
        if table not in OWNED
    ]


def build_warehouse_tables_sensor(
    settings: PlatformSettings, specs: list[dg.AssetSpec]
) -> dg.SensorDefinition:
    known = {spec.key for spec in specs} | set(OWNED.values())

    @dg.sensor(
        name="warehouse_tables",
        minimum_interval_seconds=settings.tables_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Records every Iceberg table in the catalog (row count, snapshot id, size, "
        "column schema) when its snapshot changes, as the read-only analyst identity: a "
        "materialization of a table found in the catalog, an observation of one an asset "
        "writes; names "
        "the tables created since the last reload of the code location.",
    )
    def warehouse_tables(
        context: dg.SensorEvaluationContext, platform: PlatformResource
    ) -> dg.SensorResult | dg.SkipReason:
        current = platform.settings()
        if current.catalog_type != "jdbc":
            return dg.SkipReason("hadoop catalog: pyiceberg cannot read its tables")
        try:
            catalog = load_catalog(current, platform.service_endpoint(ANALYST))
            names = [
                ".".join(t) for ns in catalog.list_namespaces() for t in catalog.list_tables(ns)
            ]
        except PlatformError as exc:
            return dg.SkipReason(f"catalog not reachable yet: {str(exc).splitlines()[0]}")
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        events: list[dg.AssetObservation | dg.AssetMaterialization] = []
        unlisted, failed = [], []
        for name in names:
            if asset_key(name) not in known:
                unlisted.append(name)
                continue
            try:
                metadata = table_metadata(
                    catalog.load_table(name), f"{current.catalog_name}.{name}"
                )
            except Exception as exc:  # one unreadable table must not hide the others
                failed.append(f"{name} ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})")
                continue
            snapshot = str(metadata["snapshot_id"].value)
            if seen.get(name) != snapshot:
                event = dg.AssetObservation if name in OWNED else dg.AssetMaterialization
                events.append(event(asset_key=asset_key(name), metadata=metadata))
            seen[name] = snapshot
        message = f"{len(names)} tables, {len(events)} changed" + (
            f" ({', '.join(e.asset_key.to_user_string() for e in events)})" if events else ""
        )
        if unlisted:
            message += (
                f"; not assets yet (reload the code location to add them): {', '.join(unlisted)}"
            )
        if failed:
            message += f"; unreadable: {'; '.join(failed)}"
        context.log.info(message)
        return dg.SensorResult(asset_events=events, cursor=json.dumps(seen), skip_reason=message)

    return warehouse_tables

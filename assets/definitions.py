"""The code location's definitions, composed from the domains (`platform_defs.definitions`,
the entry point, calls `build` with the settings it loaded once).

Composition lives here, beside the domains, so that the entry point names no domain module: the
wheel installs this package as `platform_defs.defs` and a checkout imports it as `assets`, and
only the entry point knows which (see `platform_defs.definitions`).
"""

from __future__ import annotations

import dagster as dg

from platform_defs.resources.platform import PlatformResource
from platform_defs.resources.preflight import RunLockResource
from platform_defs.settings import PlatformSettings

from .cluster import cluster_definitions
from .health import checks as health_checks
from .health import history as health_history
from .health.history_sensor import health_history_recorder
from .health.jobs import platform_health, platform_health_hourly, record_health_history
from .health.store_health import build_store_health_sensor
from .health.store_metrics import build_store_metrics_sensor
from .platform import preflight, provision, storage
from .platform.jobs import bootstrap_platform, remediate_object_store
from .platform.run_failure import platform_run_failure_alert
from .security import identities as security_identities
from .security.jobs import reprovision_service_identities
from .security.rotation import rotate_credentials
from .warehouse import iceberg, rest_catalog
from .warehouse.jobs import iceberg_maintenance, iceberg_maintenance_daily
from .warehouse.recovery import recover_catalog
from .warehouse.tables_sensor import build_warehouse_tables_sensor, discover_table_specs


def build(settings: PlatformSettings) -> dg.Definitions:
    """Every definition of the code location, for these settings (the table sensor and the
    cluster domain depend on them)."""
    # The asset modules, by domain (assets/<domain>/): platform, security, warehouse, health.
    modules = [
        preflight,
        provision,
        storage,
        security_identities,
        iceberg,
        rest_catalog,
        health_history,
        health_checks,
    ]
    # Every other table in the catalog, as listed when this code location loads (or reloads).
    table_specs = discover_table_specs(settings, owners=provision.OWNERS)

    # The cluster domain (checks on the kubernetes target only, drift and health sensors) is merged
    # in: the entry point holds one module-level Definitions object only (Dagster refuses two).
    return dg.Definitions.merge(
        dg.Definitions(
            assets=[*dg.load_assets_from_modules(modules), *table_specs],
            asset_checks=dg.load_asset_checks_from_modules(modules),
            jobs=[
                bootstrap_platform,
                remediate_object_store,
                reprovision_service_identities,
                platform_health,
                record_health_history,
                iceberg_maintenance,
                rotate_credentials,
                recover_catalog,
            ],
            schedules=[platform_health_hourly, iceberg_maintenance_daily],
            sensors=[
                build_store_health_sensor(
                    settings, remediate_object_store, reprovision_service_identities
                ),
                build_store_metrics_sensor(settings),
                build_warehouse_tables_sensor(settings, table_specs),
                health_history_recorder,
                platform_run_failure_alert,
            ],
            resources={
                "platform": PlatformResource(),
                "run_lock": RunLockResource(),
            },
            # What the UI's Materialize launches (the implicit asset job) runs in one process
            # like every job above: a process per step costs an interpreter and this module's
            # import each time, on 2 cores.
            executor=dg.in_process_executor,
        ),
        cluster_definitions(settings),
    )

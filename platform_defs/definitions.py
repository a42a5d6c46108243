"""The single definitions entry point of the code location.

Settings are loaded here once at import so that a bad PLATFORM_* value fails `dagster definitions
validate`, `dagster job execute` and the UI's code-location load with the message that names it.
"""

from __future__ import annotations

import warnings

import dagster as dg

from assets.cluster import cluster_definitions
from assets.health import checks as health_checks
from assets.health import history as health_history
from assets.health.history_sensor import health_history_recorder
from assets.health.jobs import platform_health, platform_health_hourly, record_health_history
from assets.health.store_health import build_store_health_sensor
from assets.health.store_metrics import build_store_metrics_sensor
from assets.platform import preflight, provision, storage
from assets.platform.jobs import bootstrap_platform, remediate_object_store
from assets.platform.run_failure import platform_run_failure_alert
from assets.security import identities as security_identities
from assets.security.jobs import reprovision_service_identities
from assets.security.rotation import rotate_credentials
from assets.warehouse import iceberg, rest_catalog
from assets.warehouse.jobs import iceberg_maintenance, iceberg_maintenance_daily
from assets.warehouse.recovery import recover_catalog
from assets.warehouse.tables_sensor import build_warehouse_tables_sensor, discover_table_specs
from platform_defs.private import restrict_umask
from platform_defs.resources.platform import PlatformResource
from platform_defs.resources.preflight import RunLockResource
from platform_defs.settings import load_settings

# Every Dagster process that loads this code (`job execute`, the code server, step workers)
# then writes run history, compute logs and catalogs owner-only, whatever the shell's umask.
restrict_umask()
# Dagster's own Pipes client calls a preview API of itself on every Spark step; the warning
# is about Dagster's internals, which no user of this project can act on.
warnings.filterwarnings(
    "ignore",
    message="Function `PipesMessageReader.expected_writer_count`",
    category=dg.PreviewWarning,
)
settings = load_settings()
# The asset modules, by domain (assets/<domain>/): platform, security, warehouse, health.
_modules = [
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
# in; one module-level Definitions object only (Dagster refuses two).
defs = dg.Definitions.merge(
    dg.Definitions(
        assets=[*dg.load_assets_from_modules(_modules), *table_specs],
        asset_checks=dg.load_asset_checks_from_modules(_modules),
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
    ),
    cluster_definitions(settings),
)

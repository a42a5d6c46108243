"""Jobs CI and people run with `dagster job execute -m platform_defs.definitions -j <job>`."""

from __future__ import annotations

import dagster as dg

# In-process: the bootstrap is a short chain where a subprocess per step would cost 2-3 s each.
bootstrap_platform = dg.define_asset_job(
    name="bootstrap_platform",
    # The live health check belongs to sensors and platform_health: during bootstrap it would
    # run before the bucket it probes exists.
    selection=dg.AssetSelection.groups("platform", "storage", "warehouse")
    - dg.AssetSelection.checks(
        dg.AssetCheckKey(dg.AssetKey("object_store"), "object_store_health")
    ),
    executor_def=dg.in_process_executor,
    description="Provision the namespace and object store, the datalake bucket and the Iceberg "
    "warehouse with its Spark-built inventory table, with every blocking check in between.",
)

remediate_object_store = dg.define_asset_job(
    name="remediate_object_store",
    selection=dg.AssetSelection.assets("object_store"),
    executor_def=dg.in_process_executor,
    description="Re-provision the object store (restart the embedded server / re-apply the "
    "manifests). Requested by the object_store_health sensor after repeated DOWN ticks.",
)

reprovision_service_identities = dg.define_asset_job(
    name="reprovision_service_identities",
    selection=dg.AssetSelection.assets("service_identities"),
    executor_def=dg.in_process_executor,
    description="Grant every service identity its keys and limits again (keys are kept). "
    "Requested by the object_store_health sensor when the store refuses the canary's key while "
    "root's works: a revoked or replaced key, which restarting the store cannot fix.",
)

platform_health = dg.define_asset_job(
    name="platform_health",
    # The duplicate-prefix check is reported by the Spark job itself, so it runs with it.
    selection=dg.AssetSelection.all_asset_checks()
    - dg.AssetSelection.checks(
        dg.AssetCheckKey(dg.AssetKey("lake_inventory"), "lake_inventory_no_duplicate_prefixes")
    ),
    executor_def=dg.in_process_executor,
    description="Run every asset check of the platform without materializing anything.",
)

iceberg_maintenance = dg.define_asset_job(
    name="iceberg_maintenance",
    selection=dg.AssetSelection.assets("warehouse_maintenance"),
    executor_def=dg.in_process_executor,
    description="Compact, rewrite manifests, expire snapshots and remove orphans on every "
    "Iceberg table (one Spark application for all tables).",
)

record_health_history = dg.define_asset_job(
    name="record_health_history",
    selection=dg.AssetSelection.assets("health_history"),
    executor_def=dg.in_process_executor,
    description="Append one platform_health run's check results to ops.health_history.",
)

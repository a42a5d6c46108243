"""The platform's jobs: the bootstrap CI runs with `dagster job execute -j bootstrap_platform`,
and the store remediation the health sensor requests."""

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

"""Identity jobs: re-granting the service identities (the health sensor requests it)."""

from __future__ import annotations

import dagster as dg

reprovision_service_identities = dg.define_asset_job(
    name="reprovision_service_identities",
    selection=dg.AssetSelection.assets("service_identities"),
    executor_def=dg.in_process_executor,
    description="Grant every service identity its keys and limits again (keys are kept). "
    "Requested by the object_store_health sensor when the store refuses the canary's key while "
    "root's works: a revoked or replaced key, which restarting the store cannot fix.",
)

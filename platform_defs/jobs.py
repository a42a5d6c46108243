"""Jobs CI and people run with `dagster job execute -m platform_defs.definitions -j <job>`."""

from __future__ import annotations

import dagster as dg

# In-process: the bootstrap is a short chain where a subprocess per step would cost 2-3 s each.
bootstrap_platform = dg.define_asset_job(
    name="bootstrap_platform",
    selection=dg.AssetSelection.groups("platform", "storage"),
    executor_def=dg.in_process_executor,
    description="Provision the namespace and object store, then the datalake bucket, with "
    "every blocking check in between.",
)

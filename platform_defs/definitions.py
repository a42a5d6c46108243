"""The single definitions entry point of the code location.

Settings are loaded here once at import so that a bad PLATFORM_* value fails `dagster definitions
validate`, `dagster job execute` and the UI's code-location load with the message that names it.
"""

from __future__ import annotations

import dagster as dg

from assets import platform as platform_assets
from assets import storage as storage_assets
from platform_defs.jobs import bootstrap_platform
from platform_defs.k8s.defs import kubernetes_definitions
from platform_defs.resources.platform import PlatformResource
from platform_defs.settings import load_settings

settings = load_settings()

# Cluster checks (kubernetes target only), the drift sensor and the Spark Pipes client are
# merged in; one module-level Definitions object only (Dagster refuses two).
defs = dg.Definitions.merge(
    dg.Definitions(
        assets=dg.load_assets_from_modules([platform_assets, storage_assets]),
        asset_checks=dg.load_asset_checks_from_modules([platform_assets, storage_assets]),
        jobs=[bootstrap_platform],
        resources={"platform": PlatformResource()},
    ),
    kubernetes_definitions(settings),
)

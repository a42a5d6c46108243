"""The bootstrap's first step: prerequisites checked, and the run lock taken, before anything is
provisioned (see platform_defs/resources/preflight.py for what each check prevents)."""

import dagster as dg

from platform_defs.resources.platform import PlatformResource
from platform_defs.resources.preflight import RunLockResource, run_preflight

PREFLIGHT = "platform_preflight"


def spark_may_run(context: dg.AssetExecutionContext) -> bool:
    """Whether this run includes an asset that starts Spark (kind `spark`): only then is Java a
    prerequisite (a warm run may still skip Spark, but that is known only later)."""
    layer = context.job_def.asset_layer
    return any("spark" in layer.asset_graph.get(key).kinds for key in layer.selected_asset_keys)


@dg.asset(
    name=PREFLIGHT,
    group_name="platform",
    owners=["team:data-platform"],
    tags={"domain": "platform"},
    kinds={"python"},
    description="Checks before anything is provisioned: the state directory is writable; no "
    "other bootstrap runs on it (a lock held until this run ends); Java for Spark when the run "
    "includes a Spark step; the store's ports are free or held by this state directory's own "
    "store; a store that is already up accepts the credentials. A failure here changes nothing.",
)
def platform_preflight(
    context: dg.AssetExecutionContext, platform: PlatformResource, run_lock: RunLockResource
) -> dg.MaterializeResult[None]:
    lock = run_lock.hold(platform.settings(), context.job_name)
    report = run_preflight(
        platform.settings(), platform.target(), spark_may_run=spark_may_run(context)
    )
    context.log.info(f"preflight passed; run lock {lock.path} held until this run ends")
    metadata: dict[str, object] = {
        "state_dir": dg.MetadataValue.path(report.state_dir),
        "run_lock": dg.MetadataValue.path(str(lock.path)),
        "java": report.java,
        "ports_checked": ", ".join(map(str, report.ports_checked)) or "none (no embedded store)",
        "credentials": report.credentials,
    }
    if report.java_major is not None:
        metadata["java_major"] = dg.MetadataValue.int(report.java_major)
    return dg.MaterializeResult(metadata=metadata)  # type: ignore[arg-type]

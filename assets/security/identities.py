"""Security assets: the service identities everything but provisioning runs as.

Root creates the bucket and these identities, nothing else uses it: Spark and pyiceberg run as
`spark` (read/write `warehouse/` only), analysts as `analyst` (read-only), the health canary as
`canary` (its reserved prefix only). The blocking check proves the limits against the store
itself, so a policy that silently grants too much stops the graph.
"""

import io
import secrets
from collections.abc import Callable
from dataclasses import replace

import dagster as dg

from platform_defs import identities
from platform_defs.clients.s3 import ObjectStore
from platform_defs.errors import AccessDeniedError, BucketError
from platform_defs.identities import provisioning
from platform_defs.resources.platform import PlatformResource

from ..platform.provision import OWNERS
from ..platform.storage import datalake_bucket

TAGS = {"domain": "security"}


@dg.asset(
    deps=[datalake_bucket],
    group_name="storage",
    owners=OWNERS,
    tags=TAGS,
    kinds={"s3"},
    description="Non-root service identities: spark (read/write datalake/warehouse/*), analyst "
    "(read-only), canary (datalake/_platform/canary/* only). Keys in 0600 files next to root's; "
    "re-materializing keeps them (rotate with the rotate_credentials job).",
)
def service_identities(
    context: dg.AssetExecutionContext, platform: PlatformResource
) -> dg.MaterializeResult[None]:
    settings = platform.settings()
    publish = platform.target().credential_distributor().publish
    kind, done = provisioning.ensure(settings, platform.endpoint(), publish=publish)
    for p in done:
        context.log.info(f"identity {p.role.name}: {'created' if p.created else 'kept'}")
    return dg.MaterializeResult(
        metadata={
            "managed_by": kind,
            "identities": ", ".join(p.role.name for p in done),
            "created": ", ".join(p.role.name for p in done if p.created) or "(none)",
            "credentials_dir": dg.MetadataValue.path(str(settings.credentials_dir)),
            **{f"{p.role.name}_access_key": p.access_key for p in done},
        }
    )


def _denied(fn: Callable[[], object]) -> bool:
    try:
        fn()
    except (AccessDeniedError, BucketError):
        return True
    return False


@dg.asset_check(
    asset=service_identities,
    blocking=True,
    description="Each identity's limits hold at the store: spark cannot create buckets or read "
    "outside warehouse/, analyst cannot write, canary cannot read outside its prefix.",
)
def service_identities_least_privilege(platform: PlatformResource) -> dg.AssetCheckResult:
    bucket = platform.settings().bucket
    root = platform.endpoint()
    stores = {
        name: ObjectStore(replace(root, credentials=identities.load(platform.settings(), name)))
        for name in identities.ROLE_NAMES
    }
    probe = f"_platform/probe-{secrets.token_hex(4)}"

    def put(name: str) -> Callable[[], object]:
        client = stores[name].client
        return lambda: stores[name].call(
            "put", lambda: client.put_object(bucket, probe, io.BytesIO(b"x"), 1)
        )

    spark, canary = stores["spark"].client, stores["canary"].client
    results = {
        "spark_cannot_create_bucket": _denied(
            lambda: stores["spark"].call("create", lambda: spark.make_bucket(probe[-8:] + "-x"))
        ),
        "spark_cannot_write_outside_warehouse": _denied(put("spark")),
        "analyst_cannot_write": _denied(put("analyst")),
        "canary_cannot_list_bucket": _denied(
            lambda: stores["canary"].call(
                "list", lambda: next(iter(canary.list_objects(bucket)), None)
            )
        ),
    }
    failed = [k for k, ok in results.items() if not ok]
    return dg.AssetCheckResult(
        passed=not failed,
        description=f"too much access: {failed}" if failed else "every limit holds",
        metadata={k: v for k, v in results.items()},
    )

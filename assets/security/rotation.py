"""The `rotate_credentials` job: rotate service identities, then root, with no lost writes.

Services go first and root last, because granting and revoking service keys needs root.
`dagster job execute -m platform_defs.definitions -j rotate_credentials` rotates everything;
run config `ops: {rotate: {config: {identities: [spark]}}}` picks identities.
"""

import dagster as dg

from platform_defs import credentials, identities
from platform_defs.errors import IdentityError
from platform_defs.identities import provisioning, rotation
from platform_defs.resources.platform import PlatformResource

ALL = [*identities.ROLE_NAMES, identities.ROOT]


class RotateConfig(dg.Config):
    identities: list[str] = ALL


def rotate_all(platform: PlatformResource, names: list[str]) -> list[rotation.RotationResult]:
    """Rotate `names` in a safe order; each step re-reads root, which may just have changed."""
    settings = platform.settings()
    unknown = sorted(set(names) - set(ALL))
    if unknown:
        raise IdentityError(f"Cannot rotate {unknown}: the identities are {ALL}.")
    distributor = platform.target().credential_distributor()
    results = []
    for name in [n for n in ALL if n in names]:
        root = platform.endpoint()
        admin = provisioning.admin(settings, root)
        if admin is None:
            raise IdentityError(
                f"The store at {root.url} is managed by its operator (not the embedded store "
                "and not MinIO): rotate keys there and replace the files in "
                f"{settings.credentials_dir}."
            )
        current = (
            credentials.resolve(settings, generate_missing=False)
            if name == identities.ROOT
            else identities.load(settings, name)
        )
        new = rotation.new_keys(settings, name)
        results.append(
            rotation.rotate(
                name, current, new, admin, distributor, root, settings.rotation_grace_seconds
            )
        )
    return results


@dg.op(description="Rotate the selected identities: grant new, publish, grace, revoke old.")
def rotate(
    context: dg.OpExecutionContext, config: RotateConfig, platform: PlatformResource
) -> None:
    for r in rotate_all(platform, config.identities):
        context.log.info(
            f"rotated {r.identity}: {r.old_access_key} -> {r.new_access_key} "
            f"in {r.seconds:.1f} s (old key revoked)"
        )


@dg.job(
    description="Rotate root and service credentials with no lost writes: new keys are granted "
    "and distributed first, clients switch, then the old keys are revoked.",
    executor_def=dg.in_process_executor,
)
def rotate_credentials() -> None:
    rotate()

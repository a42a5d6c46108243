"""Credential rotation on the kubernetes target: MinIO's root keys, the GitOps way.

The new keys go into the overlay's generated files (what `prepare` writes and kustomize turns
into the root Secret). Applying the overlay then creates a Secret with a new content-hash name,
which changes the workload's pod template, so Kubernetes rolls MinIO onto the new keys; the
apply waits for that rollout with kubectl's semantics. Editing the live Secret in place instead
would be reverted by the next apply and would not restart anything.

Service identities are MinIO users created through the admin API; on a cluster their keys have
no Secret yet, so this distributor refuses them with a message rather than half-rotating.
"""

from __future__ import annotations

from platform_defs import credentials, identities
from platform_defs.credentials import Credentials
from platform_defs.errors import IdentityError
from platform_defs.k8s import prepare
from platform_defs.settings import PlatformSettings


class KubernetesDistributor:
    def __init__(self, settings: PlatformSettings) -> None:
        self.settings = settings

    def publish(self, name: str, creds: Credentials) -> None:
        if name != identities.ROOT:
            raise IdentityError(
                f"On the kubernetes target only the root identity can be rotated in this build "
                f"({name!r} has no Secret to publish to). Run rotate_credentials with config "
                "`identities: [root]`."
            )
        credentials.validate(creds, source="rotation")
        overlay = prepare.overlay_dir(
            self.settings.resolved_manifests_dir, self.settings.k8s_overlay
        )
        generated = overlay / "generated"
        credentials.save(generated / "root-credentials.json", creds)
        prepare.write_private(generated / "root-user", creds.access_key.encode("utf-8"))
        prepare.write_private(generated / "root-password", creds.secret_key.encode("utf-8"))

    def restart_consumers(self, name: str) -> None:
        """Apply the overlay (new Secret name -> new pod template) and wait for the rollout."""
        from platform_defs.targets.kubernetes import KubernetesTarget

        KubernetesTarget(self.settings).ensure_store()

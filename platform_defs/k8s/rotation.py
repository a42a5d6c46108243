"""Credential rotation on the kubernetes target: MinIO's root keys, the GitOps way.

The new keys go into the overlay's generated files (what `prepare` writes and kustomize turns
into the root Secret). Applying the overlay then creates a Secret with a new content-hash name,
which changes the workload's pod template, so Kubernetes rolls MinIO onto the new keys; the
apply waits for that rollout with kubectl's semantics. Editing the live Secret in place instead
would be reverted by the next apply and would not restart anything.

Service identities are MinIO users created through the admin API; their keys go to the run's
credentials file and to the identity's own Secret (`platform_defs.k8s.identity_secrets`), which
the pods of that identity read at start. Nothing restarts for them: the Spark step's pod lives
for one step, so the next step reads the new keys.
"""

from __future__ import annotations

from collections.abc import Callable

from platform_defs import credentials, identities
from platform_defs.credentials import Credentials
from platform_defs.k8s import identity_secrets, prepare
from platform_defs.k8s.cluster import Cluster, ClusterTarget, connect
from platform_defs.settings import PlatformSettings


class KubernetesDistributor:
    def __init__(self, settings: PlatformSettings, restart_store: Callable[[], object]) -> None:
        """`restart_store` is the target's apply-and-wait: a root rotation changes the Secret's
        name, hence the pod template, and must return only once MinIO runs with it."""
        self.settings = settings
        self.restart_store = restart_store
        self._cluster: Cluster | None = None

    def cluster(self) -> Cluster:
        if self._cluster is None:
            s = self.settings
            self._cluster = connect(
                ClusterTarget(s.kube_context, s.kubeconfig, s.k8s_api_timeout_seconds)
            )
        return self._cluster

    def publish(self, name: str, creds: Credentials) -> None:
        if name != identities.ROOT:
            identities.save(self.settings, identities.role(name).name, creds)
            identity_secrets.publish(self.cluster(), self.settings.namespace, name, creds)
            return
        credentials.validate(creds, source="rotation")
        overlay = prepare.overlay_dir(
            self.settings.resolved_manifests_dir, self.settings.k8s_overlay
        )
        generated = overlay / "generated"
        credentials.save(generated / "root-credentials.json", creds)
        prepare.write_private(generated / "root-user", creds.access_key.encode("utf-8"))
        prepare.write_private(generated / "root-password", creds.secret_key.encode("utf-8"))

    def restart_consumers(self, name: str) -> None:
        """Root: apply the overlay (new Secret name -> new pod template) and wait for the
        rollout. A service identity: nothing, its pods read the Secret when they start."""
        if name != identities.ROOT:
            return
        self.restart_store()

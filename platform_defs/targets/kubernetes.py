"""The `kubernetes` target: the namespace and MinIO applied from `manifests/` and waited for.

It renders the configured overlay (`PLATFORM_K8S_OVERLAY`) with the venv's kubectl, applies it
with server-side apply under the platform's field manager (Namespace first), waits for the
rollout with kubectl's rules and a bounded timeout, and explains a stuck rollout from the
cluster's state. Downstream assets get a `StoreEndpoint` like on the local target: the Service
from inside the cluster, a port-forward or the ingress from outside, credentials from the Secret
the pods use.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platform_defs.credentials import Credentials
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import ManifestError, RolloutError, SettingsError
from platform_defs.identities import SPARK
from platform_defs.k8s import (
    apply,
    diagnose,
    drift,
    identity_secrets,
    live,
    portforward,
    prepare,
    render,
    rollout,
    served,
)
from platform_defs.k8s.cluster import Cluster, ClusterTarget, connect, running_in_cluster
from platform_defs.k8s.render import Document
from platform_defs.k8s.rotation import KubernetesDistributor
from platform_defs.settings import PlatformSettings
from platform_defs.targets.base import NamespaceInfo, RestCatalogInfo, StoreInfo

if TYPE_CHECKING:
    import dagster as dg

SERVICE = "iceberg-minio"
API_PORT = 9000
# The optional REST catalog component (manifests/components/rest-catalog).
REST_CATALOG = "iceberg-rest-catalog"
REST_CATALOG_PORT = 8181


class KubernetesTarget:
    name = "kubernetes"

    def __init__(self, settings: PlatformSettings) -> None:
        self.settings = settings
        self._cluster: Cluster | None = None

    # ---- connection and manifests -------------------------------------------------------
    def cluster(self) -> Cluster:
        if self._cluster is None:
            s = self.settings
            self._cluster = connect(
                ClusterTarget(s.kube_context, s.kubeconfig, s.k8s_api_timeout_seconds)
            )
        return self._cluster

    @property
    def overlay(self) -> Path:
        return prepare.overlay_dir(self.settings.resolved_manifests_dir, self.settings.k8s_overlay)

    def documents(self) -> list[Document]:
        """The rendered overlay. Outside the cluster the prepare tool runs first (it keeps
        existing secrets); inside, generated/ must be mounted, never regenerated, because new
        credentials would roll MinIO under everyone using it."""
        if not running_in_cluster():
            prepare.prepare(
                self.settings.k8s_overlay, manifests_dir=self.settings.resolved_manifests_dir
            )
        elif not (self.overlay / "generated").is_dir():
            raise ManifestError(
                f"{self.overlay}/generated is missing in this pod. Mount the prepared files "
                "there (see manifests/dagster/README.md); they are never generated in-cluster."
            )
        docs = render.load_documents(render.render(self.overlay))
        self._check_namespace(docs)
        return docs

    def _check_namespace(self, docs: list[Document]) -> None:
        names = [d["metadata"]["name"] for d in apply.namespaces(docs)]
        if names != [self.settings.namespace]:
            raise SettingsError(
                f"PLATFORM_NAMESPACE={self.settings.namespace} but overlay {self.overlay} "
                f"creates namespace(s) {names}. Use the overlay's namespace or change the "
                "overlay's `namespace:` fields."
            )

    # ---- the seam ------------------------------------------------------------------------
    def ensure_namespace(self) -> NamespaceInfo:
        cluster = self.cluster()
        everything = self.documents()
        # The whole overlay, not only the Namespace: a missing CRD must stop the run before
        # its first write, and the Namespace is the first.
        served.require(cluster, everything)
        applied = apply.apply_all(cluster, apply.namespaces(everything))
        return NamespaceInfo(
            name=self.settings.namespace,
            kind="kubernetes-namespace",
            location=f"{cluster.context}: namespace/{self.settings.namespace}",
            created=applied[0].action == "created",
            details={
                "context": cluster.context,
                "api_server": cluster.server,
                "applied": [a.as_metadata() for a in applied],
                "changed": any(a.changed for a in applied),
            },
        )

    def ensure_store(self) -> StoreInfo:
        start = time.monotonic()
        cluster = self.cluster()
        docs = self.documents()
        applied = apply.apply_all(cluster, docs)
        removed = self._remove_foreign(cluster, docs)
        ready = [self._wait(cluster, w) for w in apply.workloads(docs)]
        endpoint = self.endpoint()
        changed = [a for a in applied if a.changed]
        return StoreInfo(
            endpoint=endpoint,
            backend="minio",
            version=_image_tag(docs),
            action="applied" if changed else "unchanged",
            seconds=time.monotonic() - start,
            data_location=f"{cluster.context}: PVCs in namespace/{self.settings.namespace}",
            details={
                "context": cluster.context,
                "overlay": self.settings.k8s_overlay,
                "applied": [a.as_metadata() for a in applied],
                "changed_objects": len(changed),
                "foreign_fields_removed": removed,
                "ready_replicas": {f"{r.kind}/{r.name}": r.ready for r in ready},
                "in_cluster_endpoint": self.service_url,
                "external_endpoint": endpoint.url,
            },
        )

    def _remove_foreign(self, cluster: Cluster, docs: list[Document]) -> int:
        """With PLATFORM_K8S_REMOVE_FOREIGN_FIELDS: drop the labels/annotations other managers
        added to the platform's objects (after the apply has taken back its own fields)."""
        if not self.settings.k8s_remove_foreign_fields:
            return 0
        return drift.remove_foreign(cluster, docs, drift.compare(cluster, docs))

    def _wait(self, cluster: Cluster, doc: Document) -> live.Replicas:
        name, ns = doc["metadata"]["name"], self.settings.namespace
        timeout = self.settings.k8s_rollout_timeout_seconds

        def fetch() -> dict[str, object] | None:
            return cluster.get("apps/v1", doc["kind"], name, ns)

        result = rollout.wait(fetch, timeout)
        if not result.status.done:
            why = diagnose.report(diagnose.explain(diagnose.collect(cluster, ns)))
            verdict = "failed" if result.status.failed else f"did not finish within {timeout:.0f} s"
            raise RolloutError(
                f"{doc['kind']}/{name} in namespace {ns} (context '{cluster.context}') {verdict}: "
                f"{result.status.message}\nWhat the cluster shows:\n{why}\n"
                f"Raise PLATFORM_K8S_ROLLOUT_TIMEOUT_SECONDS only if it is merely slow."
            )
        assert result.last is not None
        result.last.setdefault("kind", doc["kind"])
        return live.replicas(result.last)

    @property
    def service_url(self) -> str:
        return f"http://{SERVICE}.{self.settings.namespace}.svc.cluster.local:{API_PORT}"

    def access(self) -> str:
        mode = self.settings.k8s_store_access
        if mode != "auto":
            return mode
        if running_in_cluster():
            return "service"
        return "url" if self.settings.k8s_store_url else "port-forward"

    def endpoint(self) -> StoreEndpoint:
        s, cluster = self.settings, self.cluster()
        creds = live.root_credentials(cluster, s.namespace, SERVICE)
        mode = self.access()
        if mode == "service":
            url = self.service_url
        elif mode == "url":
            assert s.k8s_store_url is not None
            url = s.k8s_store_url
        else:
            url = portforward.ensure(
                cluster.context, s.kubeconfig, s.namespace, SERVICE, API_PORT
            ).url
        ca = s.s3_ca_bundle
        generated_ca = self.overlay / "generated" / "ca.crt"
        if ca is None and url.startswith("https://") and generated_ca.is_file():
            ca = generated_ca
        console = f"https://{prepare.CONSOLE_HOST}" if mode == "url" else None
        return StoreEndpoint(url, creds, s.s3_region, ca, console, backend="minio")

    def pod_endpoint(self) -> tuple[StoreEndpoint, str]:
        """What the Spark step's pod uses: the Service URL, and the `spark` identity's Secret
        (never root's; the pod reads the keys itself through secretKeyRef, so they never pass
        through Dagster)."""
        secret = identity_secrets.require(self.cluster(), self.settings.namespace, SPARK)
        placeholder = Credentials("from-secret", "from-secret-ref")
        endpoint = StoreEndpoint(
            self.service_url, placeholder, self.settings.s3_region, None, None, "minio"
        )
        return endpoint, secret

    def credential_distributor(self) -> KubernetesDistributor:
        return KubernetesDistributor(self.settings, restart_store=self.ensure_store)

    def spark_endpoint(self) -> StoreEndpoint:
        return self.pod_endpoint()[0]

    def launch_spark_step(
        self,
        context: dg.AssetExecutionContext,
        module_args: Sequence[str],
        extras: Mapping[str, Any],
        secret_env: Mapping[str, str],
    ) -> dg.PipesClientCompletedInvocation:
        """Its own pod (`k8s/pipes.py`): the driver's Java and memory stay out of the run
        worker. `secret_env` is not sent: the pod reads the spark identity's Secret itself."""
        from platform_defs.k8s import pipes  # dagster-k8s: ~1 s to import, only for a step

        _, secret = self.pod_endpoint()
        return pipes.run_spark_step(
            context,
            pipes.pipes_client(self.settings),
            self.settings,
            command=["python", "-m", *module_args],
            secret_name=secret,
            extras=extras,
        )

    def never_provisioned(self) -> bool:
        """The cluster's state is the cluster's: a missing MinIO is "down", never "new"."""
        return False

    def rest_catalog(self) -> live.Replicas | None:
        """The REST catalog Deployment's replicas if the component is applied, else None."""
        cluster, ns = self.cluster(), self.settings.namespace
        if cluster.get("v1", "Service", REST_CATALOG, ns) is None:
            return None
        deployment = cluster.get("apps/v1", "Deployment", REST_CATALOG, ns)
        if deployment is None:
            return None
        deployment.setdefault("kind", "Deployment")
        return live.replicas(deployment)

    def ensure_rest_catalog(self) -> RestCatalogInfo:
        """Only reported, never applied here: it needs the service identities the bootstrap
        creates, so it is applied afterwards (`make install-data-components
        OVERLAY=<env>-rest-catalog`, manifests/README.md)."""
        replicas = self.rest_catalog()
        overlay = f"{self.settings.k8s_overlay}-rest-catalog"
        if replicas is None:
            reason = (
                f"the rest-catalog component is not applied; after the bootstrap run "
                f"`make install-data-components OVERLAY={overlay}`"
            )
            return RestCatalogInfo(False, reason=reason, metadata={"started": False})
        url = self.rest_catalog_url
        return RestCatalogInfo(
            True,
            url=url,
            message=f"REST catalog in the cluster at {url}: {replicas.ready} ready",
            metadata={
                "started": True,
                "ready_replicas": replicas.ready,
                "desired_replicas": replicas.desired,
                "overlay": overlay,
                "access_control": "NetworkPolicy only: no per-identity tokens on Kubernetes",
            },
        )

    @property
    def rest_catalog_url(self) -> str:
        """What engines in the cluster attach to (the Service's DNS name)."""
        return (
            f"http://{REST_CATALOG}.{self.settings.namespace}.svc.cluster.local:{REST_CATALOG_PORT}"
        )

    def stop_store(self) -> bool:
        """Never deletes cluster objects: scaling or deleting MinIO is a person's decision."""
        return False

    # ---- live state for checks and the drift sensor ----------------------------------------
    def drift(self) -> list[drift.Drift]:
        return drift.compare(self.cluster(), self.documents())


def _image_tag(docs: list[Document]) -> str:
    for doc in apply.workloads(docs):
        for container in doc["spec"]["template"]["spec"]["containers"]:
            if container["name"] == "minio":
                return str(container["image"]).rsplit(":", 1)[-1]
    return "unknown"

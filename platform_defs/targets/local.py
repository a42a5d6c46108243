"""The `local` target: a state directory as the namespace, an embedded S3 server as the store.

With PLATFORM_S3_ENDPOINT set, the store is an existing server (docker-compose MinIO, a shared
dev MinIO) and this target only checks it; nothing is started or stopped.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NoReturn

from platform_defs import credentials, identities
from platform_defs.clients.local_store import LocalStore
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import NotOnThisTargetError, StoreUnreachableError
from platform_defs.identities.rotation import LocalDistributor
from platform_defs.local_tls import require_ca_bundle
from platform_defs.private import private_dir
from platform_defs.settings import PlatformSettings
from platform_defs.targets.base import NAMESPACE_LABELS, NamespaceInfo, RestCatalogInfo, StoreInfo

if TYPE_CHECKING:
    import dagster as dg


class LocalTarget:
    name = "local"

    def __init__(self, settings: PlatformSettings) -> None:
        self.settings = settings
        self.store = LocalStore(settings)

    def ensure_namespace(self) -> NamespaceInfo:
        root = self.settings.namespace_dir
        marker = root / "namespace.json"
        created = not marker.exists()
        private_dir(root, root=self.settings.state_dir)  # holds credentials and data
        if created:
            body = {"name": self.settings.namespace, "labels": NAMESPACE_LABELS}
            credentials.write_private_text(marker, json.dumps(body, indent=2) + "\n")
        return NamespaceInfo(
            name=self.settings.namespace,
            kind="local-state-root",
            location=str(root),
            created=created,
        )

    def ensure_store(self) -> StoreInfo:
        if not self.settings.embedded_store:
            endpoint = self.endpoint()
            return StoreInfo(endpoint, "external", "unknown", "external", 0.0, endpoint.url)
        result = self.store.ensure_running()
        st = result.state
        return StoreInfo(
            endpoint=result.endpoint,
            backend=st.backend,
            version=st.version,
            action=result.action,
            seconds=result.seconds,
            data_location=str(self.store.data_dir),
            details={
                "pid": str(st.pid),
                "log_file": str(self.store.log_file),
                "credentials_file": str(self.settings.generated_credentials_file)
                if self.settings.credentials_source == "generated"
                else self.settings.credentials_source,
            },
        )

    def endpoint(self) -> StoreEndpoint:
        s = self.settings
        if not s.embedded_store:
            assert s.s3_endpoint is not None
            return StoreEndpoint(
                url=s.s3_endpoint,
                credentials=credentials.resolve(s),
                region=s.s3_region,
                backend="external",
                ca_bundle=require_ca_bundle(s.s3_ca_bundle) if s.s3_ca_bundle else None,
            )
        state = self.store.running()
        if state is None:
            raise StoreUnreachableError(
                f"The embedded object store for state directory {s.state_dir} is not running. "
                "Materialize `object_store` (or run `make run`) to start it."
            )
        return self.store.endpoint(state)

    def stop_store(self) -> bool:
        return self.settings.embedded_store and self.store.stop()

    def never_provisioned(self) -> bool:
        return self.settings.embedded_store and self.store.read_state() is None

    def credential_distributor(self) -> LocalDistributor:
        return LocalDistributor(self.settings)

    def spark_endpoint(self) -> StoreEndpoint:
        return replace(
            self.endpoint(), credentials=identities.load(self.settings, identities.SPARK)
        )

    def launch_spark_step(
        self,
        context: dg.AssetExecutionContext,
        module_args: Sequence[str],
        extras: Mapping[str, Any],
        secret_env: Mapping[str, str],
    ) -> dg.PipesClientCompletedInvocation:
        """A child process of the run worker, with this interpreter: the driver's JVM and its
        memory end with the step."""
        import dagster as dg

        return dg.PipesSubprocessClient().run(
            command=[sys.executable, "-m", *module_args],
            context=context,
            extras=dict(extras),
            env=dict(secret_env),
        )

    def ensure_rest_catalog(self) -> RestCatalogInfo:
        """Started here and reused while healthy; it writes as the spark identity."""
        s = self.settings
        if s.catalog_type != "jdbc":
            reason = "needs PLATFORM_CATALOG_TYPE=jdbc (a hadoop catalog has no database to serve)"
            return RestCatalogInfo(False, reason=reason, metadata={"started": False})
        from platform_defs.rest_catalog import config as rest_config
        from platform_defs.rest_catalog.server import RestCatalogServer

        server = RestCatalogServer(s)
        result = server.ensure_running(self.spark_endpoint())
        st = result.state
        return RestCatalogInfo(
            True,
            url=st.url,
            message=f"REST catalog {result.action} at {st.url} (pid {st.pid}) in "
            f"{result.seconds:.1f} s",
            metadata={
                "action": result.action,
                "pid": st.pid,
                "seconds": round(result.seconds, 2),
                "log_file": str(server.log_file),
                "tokens": str(rest_config.token_file(s, identities.ANALYST).parent),
                "read_only_identities": rest_config.READ_ONLY,
            },
        )

    def cluster(self) -> NoReturn:
        raise NotOnThisTargetError(_NO_CLUSTER)

    def drift(self) -> NoReturn:
        raise NotOnThisTargetError(_NO_CLUSTER)


_NO_CLUSTER = "not applicable on the local target (PLATFORM_TARGET=local)"

"""The seam between where the platform runs and what it builds.

A target provisions the namespace (isolation boundary) and the object store and hands back a
`StoreEndpoint`; it also owns everything else that differs by where the platform runs: how a
Spark step is launched and which endpoint it sees, the REST catalog's serving, and the live
cluster behind the cluster checks and the drift sensor. Callers never ask which target they
hold: what a target cannot do by its nature raises `NotOnThisTargetError`, which they turn into
"not applicable". The target is chosen once from settings (`platform_defs.targets.select`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from platform_defs.endpoint import StoreEndpoint

if TYPE_CHECKING:  # dagster and the kubernetes client load only where a step or check runs
    import dagster as dg

    from platform_defs.identities.rotation import CredentialDistributor
    from platform_defs.k8s.cluster import Cluster
    from platform_defs.k8s.drift import Drift

# The guide's labels, applied to the namespace on every target.
NAMESPACE_LABELS = {"component": "data-infrastructure", "tier": "data"}


@dataclass(frozen=True)
class NamespaceInfo:
    name: str
    kind: str  # "local-state-root" or "kubernetes-namespace"
    location: str
    created: bool
    labels: dict[str, str] = field(default_factory=lambda: dict(NAMESPACE_LABELS))
    details: dict[str, Any] = field(default_factory=dict)  # extra metadata (kubernetes target)


@dataclass(frozen=True)
class StoreInfo:
    endpoint: StoreEndpoint
    backend: str
    version: str
    action: str  # started / restarted / reused / external / applied
    seconds: float
    data_location: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RestCatalogInfo:
    """What the `rest_catalog` asset records: served or not, where, and why not."""

    served: bool
    url: str | None = None
    reason: str | None = None
    message: str = ""  # one log line for the run
    metadata: dict[str, Any] = field(default_factory=dict)


class PlatformTarget(Protocol):
    name: str  # "local" or "kubernetes", as PLATFORM_TARGET spells it

    def ensure_namespace(self) -> NamespaceInfo: ...

    def ensure_store(self) -> StoreInfo: ...

    def endpoint(self) -> StoreEndpoint:
        """The current store endpoint (root's keys), without provisioning anything."""
        ...

    def stop_store(self) -> bool: ...

    def never_provisioned(self) -> bool:
        """True when this target owns a store that was never started here (health then says
        "bootstrap first" instead of "down")."""
        ...

    def credential_distributor(self) -> CredentialDistributor:
        """Where clients get their keys (files locally, Secrets on a cluster) and how the
        consumers that read them only at start are restarted."""
        ...

    def spark_endpoint(self) -> StoreEndpoint:
        """The endpoint a Spark step connects to, as the `spark` identity: never root."""
        ...

    def launch_spark_step(
        self,
        context: dg.AssetExecutionContext,
        module_args: Sequence[str],
        extras: Mapping[str, Any],
        secret_env: Mapping[str, str],
    ) -> dg.PipesClientCompletedInvocation:
        """Run `python -m <module_args>` as a Spark step through Dagster Pipes. `secret_env`
        carries the step's keys to a local child; a pod reads them from its Secret instead."""
        ...

    def ensure_rest_catalog(self) -> RestCatalogInfo:
        """Serve (local) or report (kubernetes) the Iceberg REST catalog."""
        ...

    def cluster(self) -> Cluster:
        """The live Kubernetes cluster; `NotOnThisTargetError` where there is none."""
        ...

    def drift(self) -> list[Drift]:
        """Live objects vs the fields the platform manages; `NotOnThisTargetError` locally."""
        ...

"""The seam between where the platform runs and what it builds.

A target provisions two things, the namespace (isolation boundary) and the object store, and
hands back a `StoreEndpoint`. Everything downstream (bucket, Iceberg, health) only sees that
endpoint, so the same asset code runs on a laptop and in a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from platform_defs.endpoint import StoreEndpoint

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


class PlatformTarget(Protocol):
    def ensure_namespace(self) -> NamespaceInfo: ...

    def ensure_store(self) -> StoreInfo: ...

    def endpoint(self) -> StoreEndpoint:
        """The current store endpoint, without provisioning anything."""
        ...

    def stop_store(self) -> bool: ...

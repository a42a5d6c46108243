"""What every downstream asset receives from the seam: where the store is and how to log in.

The local and Kubernetes targets both produce a `StoreEndpoint`; the bucket, Iceberg and health
code only ever see this, never which target produced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from platform_defs.credentials import Credentials


@dataclass(frozen=True)
class StoreEndpoint:
    url: str  # http[s]://host:port, no trailing slash
    credentials: Credentials
    region: str = "us-east-1"
    ca_bundle: Path | None = None  # PEM file clients must trust when url is https
    console_url: str | None = None
    backend: str = "unknown"  # "seaweedfs", "minio", "external"

    @property
    def secure(self) -> bool:
        return urlparse(self.url).scheme == "https"

    @property
    def host_port(self) -> str:
        """`host:port` as the minio SDK wants it."""
        return urlparse(self.url).netloc

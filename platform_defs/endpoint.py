"""What every downstream asset receives from the seam: where the store is and how to log in.

The local and Kubernetes targets both produce a `StoreEndpoint`; the bucket, Iceberg and health
code only ever see this, never which target produced it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
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

    @property
    def verify(self) -> str | bool:
        """What requests and boto3 take: the CA bundle's path, or True for the system's trust.
        Never False: a store with a private CA is trusted through its bundle, not by skipping."""
        return str(self.ca_bundle) if self.ca_bundle else True

    def public(self) -> dict[str, str | None]:
        """Everything but the keys, as JSON: what Pipes extras, probes and logs carry (the keys
        travel separately, in a child's environment or a pod's Secret)."""
        return {
            "url": self.url,
            "region": self.region,
            "ca_bundle": str(self.ca_bundle) if self.ca_bundle else None,
            "console_url": self.console_url,
            "backend": self.backend,
        }

    def pyiceberg_properties(self) -> dict[str, str]:
        """The FileIO properties pyiceberg reads, under pyiceberg's own names (path-style has
        no constant there). Path-style and no virtual addressing: local and MinIO stores serve
        buckets under the path, not as host names."""
        from pyiceberg.io import (
            S3_ACCESS_KEY_ID,
            S3_ENDPOINT,
            S3_FORCE_VIRTUAL_ADDRESSING,
            S3_REGION,
            S3_SECRET_ACCESS_KEY,
        )

        return {
            S3_ENDPOINT: self.url,
            S3_ACCESS_KEY_ID: self.credentials.access_key,
            S3_SECRET_ACCESS_KEY: self.credentials.secret_key,
            S3_REGION: self.region,
            "s3.path-style-access": "true",
            S3_FORCE_VIRTUAL_ADDRESSING: "false",
        }

    def spark_catalog_conf(self, prefix: str) -> tuple[dict[str, str], dict[str, str]]:
        """The same FileIO properties under a Spark Iceberg catalog's `prefix`, split into conf
        and secrets (the keys go to the session's secret conf, never a log). Iceberg's Java
        S3FileIO reads the names pyiceberg mirrors, except the region (`client.region`) and
        virtual addressing (it has no such switch; path-style says it)."""
        from pyiceberg.io import (
            AWS_REGION,
            S3_ACCESS_KEY_ID,
            S3_FORCE_VIRTUAL_ADDRESSING,
            S3_REGION,
            S3_SECRET_ACCESS_KEY,
        )

        props = self.pyiceberg_properties()
        props[AWS_REGION] = props.pop(S3_REGION)
        del props[S3_FORCE_VIRTUAL_ADDRESSING]
        keys = (S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY)
        secrets = {f"{prefix}.{k}": props.pop(k) for k in keys}
        return {f"{prefix}.{k}": v for k, v in props.items()}, secrets

    def s3a_conf(self) -> tuple[dict[str, str], dict[str, str]]:
        """Hadoop's s3a names (Spark's `hadoop` catalog), split into conf and secrets."""
        fs = "spark.hadoop.fs.s3a"
        conf = {
            f"{fs}.endpoint": self.url,
            f"{fs}.endpoint.region": self.region,
            f"{fs}.path.style.access": "true",
            f"{fs}.connection.ssl.enabled": str(self.secure).lower(),
        }
        secrets = {
            f"{fs}.access.key": self.credentials.access_key,
            f"{fs}.secret.key": self.credentials.secret_key,
        }
        return conf, secrets

    @classmethod
    def from_public(cls, data: Mapping[str, Any], credentials: Credentials) -> StoreEndpoint:
        """The inverse of `public`, with the keys supplied by whoever holds them."""
        ca = data.get("ca_bundle")
        return cls(
            url=str(data["url"]),
            credentials=credentials,
            region=str(data.get("region") or "us-east-1"),
            ca_bundle=Path(ca) if ca else None,
            console_url=data.get("console_url"),
            backend=str(data.get("backend") or "unknown"),
        )

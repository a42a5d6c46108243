"""The Dagster resource through which assets reach the platform's target and object store."""

from __future__ import annotations

from dataclasses import replace

from dagster import ConfigurableResource

from platform_defs import targets
from platform_defs.clients.s3 import S3_TIMEOUT_SETTING, ObjectStore
from platform_defs.endpoint import StoreEndpoint
from platform_defs.settings import PlatformSettings, load_settings
from platform_defs.targets.base import PlatformTarget


class PlatformResource(ConfigurableResource["PlatformResource"]):
    """Settings come from PLATFORM_* variables (see settings.py); nothing is configured here,
    so the UI, `dagster job execute` and tests all see the same platform."""

    def settings(self) -> PlatformSettings:
        return load_settings()

    def target(self) -> PlatformTarget:
        return targets.select(self.settings())

    def endpoint(self) -> StoreEndpoint:
        return self.target().endpoint()

    def service_endpoint(self, identity: str) -> StoreEndpoint:
        """The store as service identity `identity` (spark, analyst, canary) sees it: same URL
        and CA, that identity's keys. Data paths use this; root stays for provisioning."""
        from platform_defs import identities

        return replace(self.endpoint(), credentials=identities.load(self.settings(), identity))

    def object_store(self, endpoint: StoreEndpoint | None = None) -> ObjectStore:
        settings = self.settings()
        return ObjectStore(
            endpoint or self.endpoint(),
            timeout=settings.s3_timeout_seconds,
            timeout_setting=S3_TIMEOUT_SETTING,
        )

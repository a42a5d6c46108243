"""Where the platform runs: `select` picks the target once, from settings."""

from __future__ import annotations

from platform_defs.settings import PlatformSettings
from platform_defs.targets.base import PlatformTarget


def select(settings: PlatformSettings) -> PlatformTarget:
    """The only place that maps PLATFORM_TARGET to a class (each loads its clients lazily:
    the kubernetes client costs about a second to import and the local target never needs it)."""
    if settings.target == "local":
        from platform_defs.targets.local import LocalTarget

        return LocalTarget(settings)
    from platform_defs.targets.kubernetes import KubernetesTarget

    return KubernetesTarget(settings)

"""The Pipes client for Spark pods, built only when a run on the kubernetes target needs it.

dagster-k8s and the kubernetes client take about a second to import; every code-location load
(UI, daemon, each `dagster job execute`) would pay it although only the kubernetes target uses
them. This resource defers the import to the first Spark step that launches a pod.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagster import ConfigurableResource

from platform_defs.settings import PlatformSettings

if TYPE_CHECKING:
    from dagster_k8s import PipesK8sClient


class K8sPipesResource(ConfigurableResource["K8sPipesResource"]):
    def client(self, settings: PlatformSettings) -> PipesK8sClient:
        from platform_defs.k8s.pipes import pipes_client

        return pipes_client(settings)

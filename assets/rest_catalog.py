"""The Iceberg REST catalog: the URL engines attach to, in front of the shared JDBC catalog.

Locally a Java process (Apache Iceberg's own REST catalog servlet, see
`platform_defs/rest_catalog`) started once and reused while healthy, like the object store. It
serves the same catalog database under the same catalog name, so what Spark or pyiceberg commit
through the JDBC catalog is what DuckDB, polars or Trino read through the URL, and the other way
round. Its access control is proven by the check below on every run, not assumed.
"""

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import dagster as dg
import requests

from assets.platform import OWNERS
from assets.warehouse import iceberg_warehouse
from platform_defs import identities
from platform_defs.identities import ANALYST, SPARK
from platform_defs.resources.platform import PlatformResource
from platform_defs.rest_catalog import config as rest_config
from platform_defs.rest_catalog.server import RestCatalogServer

if TYPE_CHECKING:  # the kubernetes client is imported only on that target
    from platform_defs.targets.kubernetes import KubernetesTarget

PROBE_NAMESPACE = "_platform_write_probe"
_TIMEOUT = 10.0


@dg.asset(
    deps=[iceberg_warehouse],
    group_name="warehouse",
    owners=OWNERS,
    tags={"domain": "warehouse"},
    kinds={"iceberg", "java"},
    description="The Iceberg REST catalog server: one URL for Spark, pyiceberg, DuckDB, polars "
    "and Trino, over the same catalog database. Local target: started here, per-identity bearer "
    "tokens, analyst read-only. Kubernetes: reported if the rest-catalog component is applied "
    "(in-cluster Service URL; access limited by NetworkPolicy only).",
)
def rest_catalog(
    context: dg.AssetExecutionContext, platform: PlatformResource
) -> dg.MaterializeResult[None]:
    settings = platform.settings()
    if settings.target == "kubernetes":
        from platform_defs.targets.kubernetes import KubernetesTarget

        target = platform.target()
        assert isinstance(target, KubernetesTarget)
        return _on_kubernetes(context, target)
    if settings.target != "local" or settings.catalog_type != "jdbc":
        reason = (
            f"is not served on the {settings.target} target"
            if settings.target != "local"
            else "needs PLATFORM_CATALOG_TYPE=jdbc (a hadoop catalog has no database to serve)"
        )
        context.log.warning(f"REST catalog not started: it {reason}")
        return dg.MaterializeResult(metadata={"started": False, "reason": reason})
    writer = replace(platform.endpoint(), credentials=identities.load(settings, SPARK))
    server = RestCatalogServer(settings)
    result = server.ensure_running(writer)
    context.log.info(
        f"REST catalog {result.action} at {result.state.url} (pid {result.state.pid}) in "
        f"{result.seconds:.1f} s"
    )
    return dg.MaterializeResult(
        metadata={
            "url": dg.MetadataValue.url(result.state.url),
            "action": result.action,
            "pid": result.state.pid,
            "seconds": dg.MetadataValue.float(round(result.seconds, 2)),
            "log_file": str(server.log_file),
            "tokens": str(rest_config.token_file(settings, ANALYST).parent),
            "read_only_identities": rest_config.READ_ONLY,
        }
    )


def _on_kubernetes(
    context: dg.AssetExecutionContext, target: "KubernetesTarget"
) -> dg.MaterializeResult[None]:
    """Report the in-cluster catalog if its component is applied; never apply it from here."""
    replicas = target.rest_catalog()
    overlay = f"{target.settings.k8s_overlay}-rest-catalog"
    if replicas is None:
        reason = (
            f"the rest-catalog component is not applied; after the bootstrap run "
            f"`make install-data-components OVERLAY={overlay}`"
        )
        context.log.warning(f"REST catalog not started: {reason}")
        return dg.MaterializeResult(metadata={"started": False, "reason": reason})
    url = target.rest_catalog_url
    context.log.info(f"REST catalog in the cluster at {url}: {replicas.ready} ready")
    return dg.MaterializeResult(
        metadata={
            "url": dg.MetadataValue.url(url),
            "started": True,
            "ready_replicas": replicas.ready,
            "desired_replicas": replicas.desired,
            "overlay": overlay,
            "access_control": "NetworkPolicy only: no per-identity tokens on Kubernetes",
        }
    )


def _call(method: str, url: str, token: str, body: Any = None) -> requests.Response:
    return requests.request(
        method, url, headers={"Authorization": f"Bearer {token}"}, json=body, timeout=_TIMEOUT
    )


@dg.asset_check(
    asset=rest_catalog,
    blocking=True,
    description="As the analyst identity the REST catalog lists the namespaces and refuses a "
    "write (403); an unknown token is refused (401).",
)
def rest_catalog_access_control(platform: PlatformResource) -> dg.AssetCheckResult:
    settings = platform.settings()
    if settings.target == "kubernetes":
        return dg.AssetCheckResult(
            passed=True,
            description="Not enforced per identity on Kubernetes: the in-cluster catalog "
            "(apache/iceberg-rest-fixture) has no tokens; its NetworkPolicy admits only "
            "Dagster/Spark pods and the ingress controller (manifests/README.md).",
            metadata={"enforced": False},
        )
    if settings.target != "local" or settings.catalog_type != "jdbc":
        return dg.AssetCheckResult(passed=True, description="REST catalog not served here")
    base = f"{settings.rest_catalog_url}/v1"
    analyst = rest_config.read_token(settings, rest_config.READ_ONLY)
    problems: list[str] = []
    listed = _call("GET", f"{base}/namespaces", analyst)
    names = [".".join(ns) for ns in listed.json().get("namespaces", [])] if listed.ok else []
    if listed.status_code != 200:
        problems.append(f"analyst could not list namespaces: HTTP {listed.status_code}")
    write = _call("POST", f"{base}/namespaces", analyst, {"namespace": [PROBE_NAMESPACE]})
    if write.status_code != 403:
        problems.append(f"analyst's namespace create answered {write.status_code}, not 403")
        if write.ok:  # it was created: remove it as the writer
            spark = rest_config.read_token(settings, rest_config.READ_WRITE)
            _call("DELETE", f"{base}/namespaces/{PROBE_NAMESPACE}", spark)
    stranger = _call("GET", f"{base}/namespaces", "not-a-platform-token")
    if stranger.status_code != 401:
        problems.append(f"an unknown token got HTTP {stranger.status_code}, not 401")
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems)
        or f"analyst lists {names} and cannot write (403); unknown tokens get 401",
        metadata={"namespaces": ", ".join(names), "write_status": write.status_code},
    )

"""The Iceberg REST catalog: the URL engines attach to, in front of the shared JDBC catalog.

Locally a Java process (Apache Iceberg's own REST catalog servlet, see
`platform_defs/rest_catalog`) started once and reused while healthy, like the object store. It
serves the same catalog database under the same catalog name, so what Spark or pyiceberg commit
through the JDBC catalog is what DuckDB, polars or Trino read through the URL, and the other way
round. Its access control is proven by the check below on every run, not assumed.
"""

from typing import Any

import dagster as dg
import requests

from platform_defs.resources.platform import PlatformResource
from platform_defs.rest_catalog import config as rest_config

from ..platform.provision import OWNERS
from .iceberg import iceberg_warehouse

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
    info = platform.target().ensure_rest_catalog()
    if not info.served:
        context.log.warning(f"REST catalog not started: {info.reason}")
        return dg.MaterializeResult(metadata={**info.metadata, "reason": info.reason})
    context.log.info(info.message)
    assert info.url is not None
    return dg.MaterializeResult(metadata={"url": dg.MetadataValue.url(info.url), **info.metadata})


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

"""What a Spark job process needs, from Dagster Pipes or (standalone) from the environment.

Launch contract, identical for a local subprocess and a Kubernetes pod:

- Pipes extras (travel in the DAGSTER_PIPES_CONTEXT env var, never on the command line):
  `settings` (non-secret PlatformSettings fields), `endpoint` (url, region, ca_bundle, backend),
  `params` (job parameters) and optionally `checks` (asset-check names the asset declares).
- Secrets as environment variables of the process (a Kubernetes Secret later):
  PLATFORM_S3_ACCESS_KEY, PLATFORM_S3_SECRET_KEY and, when it holds a password,
  PLATFORM_CATALOG_URI. They stay out of extras because extras are an orchestration payload that
  may be logged; environment variables are readable only by the process owner.

Standalone (`python -m assets.spark_jobs <job>` in a shell) the same variables plus the usual
PLATFORM_* settings (and PLATFORM_S3_CA_BUNDLE) are read from the environment / `.env`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any, Protocol

from platform_defs import credentials
from platform_defs.credentials import Credentials
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import CredentialsError, IdentityError
from platform_defs.identities import SPARK
from platform_defs.settings import PlatformSettings, load_settings

from . import MODULE

SECRET_SETTINGS = ("s3_access_key", "s3_secret_key", "catalog_uri")
ACCESS_KEY_ENV = "PLATFORM_S3_ACCESS_KEY"
SECRET_KEY_ENV = "PLATFORM_S3_SECRET_KEY"
CA_BUNDLE_ENV = "PLATFORM_S3_CA_BUNDLE"


class Reporter(Protocol):
    """The subset of Dagster's PipesContext the jobs use; standalone prints it instead."""

    @property
    def log(self) -> logging.Logger: ...

    def report_asset_materialization(self, metadata: dict[str, Any]) -> None: ...

    def report_asset_check(
        self, check_name: str, passed: bool, metadata: dict[str, Any]
    ) -> None: ...


@dataclass(frozen=True)
class JobContext:
    settings: PlatformSettings
    endpoint: StoreEndpoint
    params: dict[str, Any]
    checks: tuple[str, ...]
    reporter: Reporter


def launch_extras(
    settings: PlatformSettings,
    endpoint: StoreEndpoint,
    params: dict[str, Any] | None = None,
    checks: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Pipes `extras` for a job launch: everything but the secrets."""
    data = settings.model_dump(mode="json", exclude=set(SECRET_SETTINGS))
    return {
        "settings": data,
        "endpoint": endpoint.public(),
        "params": params or {},
        "checks": list(checks),
    }


def launch_env(settings: PlatformSettings, endpoint: StoreEndpoint) -> dict[str, str]:
    """Environment additions for the job process: the secrets (merge into os.environ)."""
    env = {
        ACCESS_KEY_ENV: endpoint.credentials.access_key,
        SECRET_KEY_ENV: endpoint.credentials.secret_key,
    }
    if settings.catalog_uri:
        env["PLATFORM_CATALOG_URI"] = settings.catalog_uri
    return env


def launch_command(job: str) -> list[str]:
    """The command that runs `job` with the current interpreter (the same in a pod image)."""
    return [sys.executable, "-m", MODULE, job]


def _credentials_from_env(settings: PlatformSettings) -> Credentials:
    """The launcher's keys (the spark identity's, in the environment); run by hand, the spark
    identity's own file through the platform's one resolver, never root's: a Spark job writes
    data, and root only provisions."""
    access, secret = os.environ.get(ACCESS_KEY_ENV), os.environ.get(SECRET_KEY_ENV)
    if access and secret:
        return Credentials(access_key=access, secret_key=secret)
    try:
        return credentials.resolve(settings, SPARK, generate_missing=False)
    except IdentityError as exc:
        raise CredentialsError(
            f"The Spark job has no S3 credentials: set {ACCESS_KEY_ENV} and {SECRET_KEY_ENV} in "
            "its environment (the Dagster launcher does this), or create the spark identity "
            f"(`make run`). {exc}"
        ) from exc


def endpoint_from(settings: PlatformSettings, info: dict[str, Any] | None) -> StoreEndpoint:
    """The launcher's endpoint (Pipes extras); run by hand, the configured or embedded store,
    with the scheme the settings give it (PLATFORM_STORE_TLS serves the embedded store on
    https)."""
    info = dict(info or {})
    scheme = "https" if settings.store_tls else "http"
    info["url"] = (
        info.get("url") or settings.s3_endpoint or f"{scheme}://127.0.0.1:{settings.s3_port}"
    )
    info["ca_bundle"] = info.get("ca_bundle") or os.environ.get(CA_BUNDLE_ENV)
    info["region"] = info.get("region") or settings.s3_region
    info["backend"] = info.get("backend") or "external"
    return StoreEndpoint.from_public(info, _credentials_from_env(settings))


class StandaloneReporter:
    """Prints what Pipes would report, one JSON line each, so a shell run shows the results."""

    def __init__(self) -> None:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        self._log = logging.getLogger("spark_job")

    @property
    def log(self) -> logging.Logger:
        return self._log

    def report_asset_materialization(self, metadata: dict[str, Any]) -> None:
        print(json.dumps({"materialization": metadata}, default=str), flush=True)

    def report_asset_check(self, check_name: str, passed: bool, metadata: dict[str, Any]) -> None:
        print(
            json.dumps({"check": check_name, "passed": passed, "metadata": metadata}, default=str)
        )


class PipesReporter:
    """Adapter over dagster_pipes.PipesContext (keeps the jobs free of Pipes specifics)."""

    def __init__(self, pipes: Any) -> None:
        self._pipes = pipes

    @property
    def log(self) -> logging.Logger:
        return self._pipes.log  # type: ignore[no-any-return]

    def report_asset_materialization(self, metadata: dict[str, Any]) -> None:
        self._pipes.report_asset_materialization(metadata=metadata)

    def report_asset_check(self, check_name: str, passed: bool, metadata: dict[str, Any]) -> None:
        self._pipes.report_asset_check(check_name=check_name, passed=passed, metadata=metadata)


def job_context(pipes: Any | None, cli_params: dict[str, Any]) -> JobContext:
    """Build the context from Pipes extras when launched by Dagster, else from the environment."""
    if pipes is None:
        settings = load_settings()
        return JobContext(
            settings, endpoint_from(settings, None), cli_params, (), StandaloneReporter()
        )
    extras = dict(pipes.extras)
    settings = load_settings(**extras.get("settings", {}))
    endpoint = endpoint_from(settings, extras.get("endpoint"))
    params = {**cli_params, **extras.get("params", {})}
    checks = tuple(extras.get("checks", ()))
    return JobContext(settings, endpoint, params, checks, PipesReporter(pipes))

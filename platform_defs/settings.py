"""The platform's settings: one typed object, read from the environment and an optional `.env`.

Every resource takes its names, ports and paths from here, so there is one place to look when
asking "where does this value come from". Variables are prefixed `PLATFORM_`. Invalid values fail
when the settings load, with a message that names the variable and says how to fix it, instead
of surfacing later as a confusing error from a client library.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from platform_defs import packaged_manifests
from platform_defs.errors import SettingsError

ENV_PREFIX = "PLATFORM_"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4 = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_CATALOG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def default_state_dir() -> Path:
    return Path.home() / ".local" / "state" / "lakehouse-platform"


def bucket_name_problem(name: str) -> str | None:
    """Why `name` is not a valid S3 bucket name, or None. Checked before any call is made."""
    if not _BUCKET.match(name):
        return (
            "must be 3-63 characters of lowercase letters, digits, '.' and '-', starting and "
            "ending with a letter or digit"
        )
    if ".." in name or ".-" in name or "-." in name:
        return "must not contain '..', '.-' or '-.'"
    if _IPV4.match(name):
        return "must not look like an IP address"
    if name.startswith("xn--") or name.endswith("-s3alias"):
        return "must not start with 'xn--' or end with '-s3alias' (reserved by S3)"
    return None


class PlatformSettings(BaseSettings):
    """Typed settings for both targets; see README "Settings reference" for every variable."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    target: Literal["local", "kubernetes"] = Field(
        "local", description="Where the namespace and object store come from."
    )
    namespace: str = Field("analytics", description="Kubernetes namespace / local state root.")
    bucket: str = Field("datalake", description="The data-lake bucket.")
    state_dir: Path = Field(
        default_factory=default_state_dir,
        description="Store data, logs, generated credentials and the local catalog live here.",
    )
    s3_endpoint: str | None = Field(
        None,
        description="An existing S3 endpoint (http[s]://host:port). Unset with the local target: "
        "the platform runs its own embedded store.",
    )
    s3_region: str = Field("us-east-1", description="Region sent to S3 clients.")
    s3_port: int = Field(9000, description="Embedded store: S3 API port on 127.0.0.1.")
    console_port: int = Field(9001, description="Embedded store: console/admin UI port.")
    rest_catalog_port: int = Field(
        8181, description="Local Iceberg REST catalog server: port on 127.0.0.1."
    )
    spark_connect_port: int = Field(
        15002, description="Local Spark Connect server: port on 127.0.0.1."
    )
    store_backend: Literal["auto", "minio", "seaweedfs"] = Field(
        "auto", description="Embedded store: `minio` binary on PATH first, else SeaweedFS."
    )
    credentials_source: Literal["generated", "env", "file"] = Field(
        "generated",
        description="generated: created on first start in the state dir (0600); env: "
        "PLATFORM_S3_ACCESS_KEY/PLATFORM_S3_SECRET_KEY; file: PLATFORM_CREDENTIALS_FILE.",
    )
    s3_access_key: str | None = Field(None, description="With credentials_source=env.")
    s3_secret_key: str | None = Field(None, description="With credentials_source=env.", repr=False)
    credentials_file: Path | None = Field(None, description="With credentials_source=file.")
    s3_timeout_seconds: float = Field(
        5.0,
        gt=0,
        allow_inf_nan=False,
        description="Connect/read timeout for S3 calls (per attempt).",
    )
    store_tls: bool = Field(
        False,
        description="Embedded store: serve S3 over HTTPS with a certificate from a CA "
        "generated in the state dir; every client trusts that CA (never verify=False).",
    )
    rotation_grace_seconds: float = Field(
        5.0,
        ge=0,
        allow_inf_nan=False,
        description="rotate_credentials: how long old and new keys both work, so clients "
        "that loaded the old key finish their requests before it is revoked.",
    )
    store_start_timeout_seconds: float = Field(
        30.0, gt=0, allow_inf_nan=False, description="Wait for the store to be ready."
    )
    run_lock_wait_seconds: float = Field(
        0.0,
        ge=0,
        allow_inf_nan=False,
        description="How long a bootstrap waits for another one on the same state dir to "
        "finish before failing with 'already running'; 0: fail at once.",
    )

    # Health and alerting
    health_interval_seconds: int = Field(30, description="Object-store health sensor interval.")
    health_heartbeat_seconds: int = Field(
        600,
        description="The health sensor records an observation when the verdict changes, and "
        "otherwise once per this many seconds (a heartbeat), not every tick.",
    )
    health_probe_timeout_seconds: float = Field(
        1.0, gt=0, allow_inf_nan=False, description="Timeout of each health probe."
    )
    health_canary_deadline_seconds: float = Field(
        5.0,
        gt=0,
        allow_inf_nan=False,
        description="Health canary: how long one tick may retry a write that timed out or met "
        "a transient server error before the verdict is DEGRADED.",
    )
    health_down_after: int = Field(
        3, description="Consecutive DOWN ticks before a remediation run is requested."
    )
    remediation_backoff_seconds: int = Field(
        300,
        description="Minimum time between remediation runs; doubles while the store stays down.",
    )
    alert_webhook_url: str | None = Field(
        None, description="Optional URL that receives a JSON POST on failures and remediations."
    )

    warehouse_max_snapshots: int = Field(
        100, description="Warehouse health: snapshots per table before maintenance is due."
    )
    warehouse_max_small_files: int = Field(
        50, description="Warehouse health: small data files per table before compaction is due."
    )
    small_file_bytes: int = Field(
        32 * 1024 * 1024, description="A data file smaller than this counts as small."
    )
    metrics_interval_seconds: int = Field(300, description="Object-store metrics sensor interval.")
    tables_interval_seconds: int = Field(
        60, description="How often the warehouse_tables sensor observes the catalog's tables."
    )

    # Iceberg / Spark
    catalog_name: str = Field("lakehouse", description="Iceberg catalog name (Spark = pyiceberg).")
    catalog_type: Literal["jdbc", "hadoop"] = Field(
        "jdbc",
        description="jdbc: shared JDBC/SQL catalog (safe for many writers); hadoop: the guide's "
        "s3a:// file-system catalog, single writer only.",
    )
    catalog_uri: str | None = Field(
        None,
        description="SQLAlchemy-style URI of the catalog database (postgresql+psycopg2://...). "
        "Unset: a SQLite file in the state dir.",
    )
    catalog_connect_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="Catalog database: how long connecting may take (psycopg2 connect_timeout, "
        "JDBC connectTimeout), so a database that accepts TCP and never answers fails.",
    )
    catalog_statement_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="Catalog database: the longest statement (Postgres statement_timeout, also "
        "bounding JDBC reads) and the longest wait for a SQLite lock.",
    )
    spark_master: str = Field("local[*]", description="local[*], spark://host:port or k8s://...")
    spark_driver_memory: str = Field("2g", description="spark.driver.memory")
    spark_mode: Literal["session", "connect"] = Field(
        "connect",
        description="Local target: `connect` (the default) runs Spark steps and shells through "
        "the platform's long-lived Spark Connect server; `session` starts a JVM per process.",
    )
    jar_cache_dir: Path | None = Field(None, description="Where Spark/Iceberg jars are cached.")

    # Kubernetes target (see README "Kubernetes target")
    kube_context: str | None = Field(None, description="kubeconfig context; unset: current.")
    kubeconfig: Path | None = Field(None, description="kubeconfig file; unset: $KUBECONFIG.")
    k8s_overlay: Literal["dev", "prod"] = Field("dev", description="manifests/overlays/<name>.")
    manifests_dir: Path | None = Field(None, description="The `manifests` directory.")
    k8s_api_timeout_seconds: float = Field(
        5.0, gt=0, allow_inf_nan=False, description="Connect/read timeout per API call."
    )
    k8s_rollout_timeout_seconds: float = Field(
        300.0, gt=0, allow_inf_nan=False, description="Wait for the MinIO rollout."
    )
    k8s_store_access: Literal["auto", "service", "port-forward", "url"] = Field(
        "auto",
        description="How Dagster reaches MinIO: auto = the Service in-cluster, else "
        "PLATFORM_K8S_STORE_URL if set, else a kubectl port-forward.",
    )
    k8s_store_url: str | None = Field(None, description="External S3 URL (ingress).")
    s3_ca_bundle: Path | None = Field(None, description="PEM bundle to trust for https S3.")
    k8s_image: str = Field("lakehouse-platform:0.1.0", description="Code-location image.")
    k8s_pod_wait_timeout_seconds: float = Field(
        1800.0, gt=0, allow_inf_nan=False, description="Pipes pod wait limit."
    )
    k8s_remove_foreign_fields: bool = Field(
        False,
        description="Drift repair removes labels/annotations other field managers added to "
        "the platform's objects (default: report them as foreign, leave them).",
    )

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not _DNS_LABEL.match(value):
            raise ValueError(
                "must be a DNS-1123 label: at most 63 lowercase letters, digits or '-', "
                "starting and ending with a letter or digit"
            )
        return value

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        problem = bucket_name_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("s3_endpoint", "k8s_store_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("must look like http://host:port or https://host:port")
        if parsed.path not in ("", "/"):
            raise ValueError("must not contain a path (the bucket is set by PLATFORM_BUCKET)")
        return value.rstrip("/")

    @field_validator(
        "health_interval_seconds",
        "health_heartbeat_seconds",
        "tables_interval_seconds",
        "health_down_after",
        "remediation_backoff_seconds",
        "warehouse_max_snapshots",
        "warehouse_max_small_files",
        "small_file_bytes",
        "metrics_interval_seconds",
    )
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be a positive whole number")
        return value

    @field_validator("run_lock_wait_seconds")
    @classmethod
    def _not_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must be zero (do not wait) or a positive number of seconds")
        return value

    @field_validator("s3_port", "console_port", "rest_catalog_port", "spark_connect_port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 1024 <= value <= 65535:
            raise ValueError("must be a port number between 1024 and 65535")
        return value

    @field_validator("catalog_name")
    @classmethod
    def _catalog(cls, value: str) -> str:
        if not _CATALOG_NAME.match(value):
            raise ValueError(
                "must be an identifier: letters, digits and '_', not starting with a digit"
            )
        return value

    @field_validator(
        "state_dir",
        "credentials_file",
        "jar_cache_dir",
        "kubeconfig",
        "manifests_dir",
        "s3_ca_bundle",
    )
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser().absolute() if value is not None else None

    # Derived paths: one definition each, used by every resource.
    @property
    def namespace_dir(self) -> Path:
        return self.state_dir / self.namespace

    @property
    def store_dir(self) -> Path:
        return self.namespace_dir / "object-store"

    @property
    def credentials_dir(self) -> Path:
        return self.namespace_dir / "credentials"

    @property
    def generated_credentials_file(self) -> Path:
        return self.credentials_dir / "root.json"

    @property
    def tls_dir(self) -> Path:
        return self.namespace_dir / "tls"

    @property
    def catalog_db_path(self) -> Path:
        return self.namespace_dir / "catalog" / f"{self.catalog_name}.db"

    @property
    def rest_catalog_dir(self) -> Path:
        return self.namespace_dir / "rest-catalog"

    @property
    def spark_connect_dir(self) -> Path:
        return self.namespace_dir / "spark-connect"

    @property
    def rest_catalog_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_catalog_port}"

    @property
    def resolved_jar_cache_dir(self) -> Path:
        return self.jar_cache_dir or (Path.home() / ".cache" / "lakehouse-platform" / "jars")

    @property
    def warehouse_uri(self) -> str:
        """The hadoop catalog gets a prefix of its own: its tables must never mix with the
        JDBC catalog's (a file-system table is invisible to, and unsafe beside, the other)."""
        if self.catalog_type == "hadoop":
            return f"s3a://{self.bucket}/hadoop-warehouse"
        return f"s3://{self.bucket}/warehouse"

    @property
    def resolved_manifests_dir(self) -> Path:
        """PLATFORM_MANIFESTS_DIR, else ./manifests, else the checkout's, else the copy the
        wheel ships, materialized under the state directory (platform_defs.packaged_manifests)."""
        if self.manifests_dir is not None:
            return self.manifests_dir
        here = Path("manifests").absolute()
        return here if here.is_dir() else packaged_manifests.resolve(self.state_dir)

    @property
    def embedded_store(self) -> bool:
        """True when the platform runs its own S3 server process."""
        return self.target == "local" and self.s3_endpoint is None


def _explain(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "?"
        var = ENV_PREFIX + field.upper()
        got = err.get("input")
        shown = "***" if "secret" in field else repr(got)
        lines.append(f"- {var}={shown}: {err['msg']}. Fix it in the environment or in .env.")
    return "Invalid platform settings:\n" + "\n".join(lines)


def load_settings(**overrides: object) -> PlatformSettings:
    """Load settings, turning pydantic's report into one message that names each variable.

    A load is a pure function of its inputs (the overrides, the PLATFORM_* variables, HOME and
    the `.env` file), and the result is frozen, so equal inputs return the object already
    built: a load costs 20-35 ms of pydantic-settings' source resolution, and a bootstrap run
    asks dozens of times. Any change to an input (a variable set, `.env` edited) loads afresh."""
    key = _inputs_key(overrides)
    cached = _LOADED.get(key)
    if cached is not None:
        return cached
    try:
        settings = PlatformSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_explain(exc)) from None
    _check_combinations(settings)
    if len(_LOADED) >= _LOADED_MAX:
        _LOADED.pop(next(iter(_LOADED)))
    _LOADED[key] = settings
    return settings


_LOADED: dict[str, PlatformSettings] = {}
_LOADED_MAX = 16


def _inputs_key(overrides: dict[str, object]) -> str:
    """Everything a load reads, as one string: `.env` by its identity and modification time."""
    env_file = overrides.get("_env_file", PlatformSettings.model_config.get("env_file"))
    dotenv: tuple[int, int, int] | None = None
    if isinstance(env_file, (str, Path)):
        with contextlib.suppress(OSError):
            st = Path(env_file).stat()
            dotenv = (st.st_ino, st.st_size, st.st_mtime_ns)
    env = sorted(
        (k, v) for k, v in os.environ.items() if k.upper().startswith(ENV_PREFIX) or k == "HOME"
    )
    return repr((os.getcwd(), env_file, dotenv, env, sorted(overrides.items(), key=str)))


def _check_combinations(s: PlatformSettings) -> None:
    if s.credentials_source == "env" and not (s.s3_access_key and s.s3_secret_key):
        raise SettingsError(
            "PLATFORM_CREDENTIALS_SOURCE=env needs both PLATFORM_S3_ACCESS_KEY and "
            "PLATFORM_S3_SECRET_KEY. Set them, or use PLATFORM_CREDENTIALS_SOURCE=generated."
        )
    if s.credentials_source == "file" and s.credentials_file is None:
        raise SettingsError(
            "PLATFORM_CREDENTIALS_SOURCE=file needs PLATFORM_CREDENTIALS_FILE pointing at a JSON "
            "file with access_key and secret_key."
        )
    if s.target == "kubernetes" and s.s3_endpoint:
        raise SettingsError(
            "PLATFORM_S3_ENDPOINT is for the local target. With PLATFORM_TARGET=kubernetes the "
            "store is the cluster's MinIO: set PLATFORM_K8S_STORE_URL to reach it from outside."
        )
    if s.k8s_store_access == "url" and not s.k8s_store_url:
        raise SettingsError("PLATFORM_K8S_STORE_ACCESS=url needs PLATFORM_K8S_STORE_URL.")
    # On kubernetes "generated" means: the prepare tool's credentials, read from the Secret.
    if s.credentials_source == "generated" and not s.embedded_store and s.target == "local":
        raise SettingsError(
            "PLATFORM_CREDENTIALS_SOURCE=generated only works with the embedded store (the "
            "platform can only generate credentials for a server it starts). For "
            f"PLATFORM_S3_ENDPOINT={s.s3_endpoint} use credentials_source=env or file."
        )
    if s.store_tls and not s.embedded_store:
        raise SettingsError(
            "PLATFORM_STORE_TLS=true applies to the embedded store only. For an https "
            "PLATFORM_S3_ENDPOINT set PLATFORM_S3_CA_BUNDLE to the CA that signed its certificate."
        )
    if s.rest_catalog_port in (s.s3_port, s.console_port):
        raise SettingsError(
            f"PLATFORM_REST_CATALOG_PORT={s.rest_catalog_port} is also the store's S3 or console "
            "port; give the REST catalog a port of its own."
        )
    if s.spark_connect_port in (s.s3_port, s.console_port, s.rest_catalog_port):
        raise SettingsError(
            f"PLATFORM_SPARK_CONNECT_PORT={s.spark_connect_port} is also the store's S3 or "
            "console port or the REST catalog's; give the Spark Connect server a port of its own."
        )
    if s.embedded_store and s.s3_port == s.console_port:
        raise SettingsError(
            f"PLATFORM_S3_PORT and PLATFORM_CONSOLE_PORT are both {s.s3_port}; give them "
            "different values."
        )

"""The one place that turns platform settings and a store endpoint into Spark configuration.

Everything Spark needs to reach the catalog and the store is decided here, so the Dagster
resource, the Pipes job and the tests cannot drift apart. The result is split three ways because
pyspark passes launch-time conf to `spark-submit` as `--conf k=v` arguments, which any user on the
machine can read in `ps`: secrets (S3 keys, the catalog database password) are kept apart and set
on the running session by `platform_defs.spark.session`, never on a command line.

Two catalog types:

- `jdbc` (default, safe for many writers): Iceberg's JdbcCatalog on the same database pyiceberg's
  SqlCatalog uses (SQLite file locally, Postgres in production) and S3FileIO on `s3://`. Commits are
  a compare-and-swap on the catalog row, so concurrent writers retry instead of losing data.
- `hadoop` (the data-infrastructure guide's setup, SINGLE WRITER ONLY): a HadoopCatalog on
  `s3a://`. Its commit is a file rename, which the Iceberg spec calls unsafe on object stores:
  two concurrent writers can both "succeed" and one commit is silently lost. pyiceberg cannot
  write such tables at all. Kept for reading what the guide's setup produced.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlparse

from platform_defs.catalog_uri import mask_uri
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import CatalogError
from platform_defs.settings import PlatformSettings
from platform_defs.spark.tls import TRUSTSTORE_PASSWORD

ICEBERG_EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
S3_FILE_IO = "org.apache.iceberg.aws.s3.S3FileIO"
# Newer AWS SDKs add CRC checksums that several S3-compatible stores reject.
CHECKSUM_ENV = {
    "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
    "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
}


# Write settings measured by the ingest benchmark (bench/ingest.py --spark-variants; issue 16,
# docs/benchmarks.md "Ingest tuning"): on the 2-core project machine Spark's Parquet encoding
# shares the CPU with the object store, so CPU per byte is what bounds ingest.
# - Parquet codec snappy instead of Iceberg's default zstd (level 3): 31 vs 19-30 MB/s at 1 GiB in
#   one run (uncompressed 33, zstd level 1 24). A table default (`table-default.`), so it applies
#   to tables Spark creates and any table that sets its own codec keeps it; files of compressible
#   data are larger than zstd's, `ALTER TABLE ... SET TBLPROPERTIES` switches one table back.
# - S3FileIO multipart parts of 8 MiB (default 32 MiB) with 8 upload threads (default: one per
#   core): a part's upload starts as soon as 8 MiB are encoded, so less of the upload is left
#   waiting after the file is closed (29.9 MB/s vs 19.5-29.3 for the other zstd-3 runs of that
#   run: within its noise, kept for the mechanism).
# Measured and not set (no gain or a loss): hash write distribution (a shuffle: 25 MB/s), 512 MiB
# read splits (28), 128 MiB target files, local[4] on 2 cores (28, +0.4 GiB driver RSS).
# Together, against main's conf in the same repeat: +9% and +19% at 1 GiB (0.37x vs 0.32x raw PUT,
# a loaded machine); the goal (0.7x) is not reached by write settings alone, see the doc.
WRITE_TABLE_DEFAULTS = {"write.parquet.compression-codec": "snappy"}
S3_WRITE_OPTIONS = {
    "s3.multipart.part-size-bytes": str(8 << 20),
    "s3.multipart.num-threads": "8",
}


@dataclass(frozen=True)
class SparkSetup:
    """Launch conf (safe to show), secrets for the running session, env for the driver JVM."""

    conf: dict[str, str]
    secret_conf: dict[str, str] = field(repr=False)
    env: dict[str, str]

    def redacted(self) -> dict[str, str]:
        return {**self.conf, **dict.fromkeys(self.secret_conf, "***")}


@dataclass(frozen=True)
class JdbcTarget:
    """The catalog database as Java's JDBC wants it: URL without credentials, user, password."""

    url: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)


def _jdbc_timeouts(settings: PlatformSettings, query: str) -> str:
    """pgjdbc's own names for the same bounds; socketTimeout also bounds a silent server."""
    connect = math.ceil(settings.catalog_connect_timeout_seconds)
    statement = settings.catalog_statement_timeout_seconds
    params = dict(parse_qsl(query))
    params.setdefault("connectTimeout", str(connect))
    params.setdefault("socketTimeout", str(math.ceil(statement) + connect))
    if "statement_timeout" not in params.get("options", ""):
        params["options"] = (
            f"{params.get('options', '')} -c statement_timeout={round(statement * 1000)}".strip()
        )
    return urlencode(params, quote_via=quote)


def jdbc_target(settings: PlatformSettings) -> JdbcTarget:
    """Convert the SQLAlchemy URI (postgresql+psycopg2://u:p@h:5432/db) to a JDBC URL."""
    if settings.catalog_uri is None:
        return JdbcTarget(url=f"jdbc:sqlite:{settings.catalog_db_path}")
    parsed = urlparse(settings.catalog_uri)
    dialect = parsed.scheme.split("+", 1)[0]
    if dialect == "sqlite":
        return JdbcTarget(url=f"jdbc:sqlite:{unquote(parsed.path)[1:] or ':memory:'}")
    if dialect not in ("postgresql", "postgres") or not parsed.hostname:
        raise CatalogError(
            f"PLATFORM_CATALOG_URI={mask_uri(settings.catalog_uri)} is not a catalog database the "
            "Spark side can use. Use postgresql+psycopg2://user:password@host:5432/dbname (or "
            "leave it unset for the local SQLite file)."
        )
    port = f":{parsed.port}" if parsed.port else ""
    query = f"?{_jdbc_timeouts(settings, parsed.query)}"
    url = f"jdbc:postgresql://{parsed.hostname}{port}{parsed.path}{query}"
    user = unquote(parsed.username) if parsed.username else None
    password = unquote(parsed.password) if parsed.password else None
    return JdbcTarget(url=url, user=user, password=password)


def _base_conf(settings: PlatformSettings, jars: Sequence[Path], ui: bool) -> dict[str, str]:
    return {
        "spark.master": settings.spark_master or "local[*]",
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.jars": ",".join(str(j) for j in jars),
        "spark.sql.extensions": ICEBERG_EXTENSIONS,
        "spark.ui.enabled": "true" if ui else "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        **{f"spark.executorEnv.{k}": v for k, v in CHECKSUM_ENV.items()},
    }


def _jdbc_catalog(
    settings: PlatformSettings, endpoint: StoreEndpoint
) -> tuple[dict[str, str], dict[str, str]]:
    prefix = f"spark.sql.catalog.{settings.catalog_name}"
    target = jdbc_target(settings)
    store_conf, secrets = endpoint.spark_catalog_conf(prefix)
    conf = {
        prefix: "org.apache.iceberg.spark.SparkCatalog",
        f"{prefix}.type": "jdbc",
        f"{prefix}.uri": target.url,
        f"{prefix}.jdbc.schema-version": "V1",
        f"{prefix}.warehouse": settings.warehouse_uri,
        f"{prefix}.io-impl": S3_FILE_IO,
        **store_conf,
        **{f"{prefix}.{k}": v for k, v in S3_WRITE_OPTIONS.items()},
    }
    if target.user:
        conf[f"{prefix}.jdbc.user"] = target.user
    if target.password:
        secrets[f"{prefix}.jdbc.password"] = target.password
    return conf, secrets


def _hadoop_catalog(
    settings: PlatformSettings, endpoint: StoreEndpoint
) -> tuple[dict[str, str], dict[str, str]]:
    """Single writer only: see the module docstring."""
    prefix = f"spark.sql.catalog.{settings.catalog_name}"
    store_conf, secrets = endpoint.s3a_conf()
    conf = {
        prefix: "org.apache.iceberg.spark.SparkCatalog",
        f"{prefix}.type": "hadoop",
        f"{prefix}.warehouse": settings.warehouse_uri,  # s3a://<bucket>/hadoop-warehouse
        **store_conf,
        "spark.hadoop.fs.s3a.aws.credentials.provider": (
            "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
        ),
        "spark.hadoop.fs.s3a.attempts.maximum": "3",
        "spark.hadoop.fs.s3a.retry.limit": "3",
    }
    return conf, secrets


def _tls_conf(truststore: Path | None) -> dict[str, str]:
    if truststore is None:
        return {}
    opts = (
        f"-Djavax.net.ssl.trustStore={truststore} -Djavax.net.ssl.trustStoreType=PKCS12 "
        f"-Djavax.net.ssl.trustStorePassword={TRUSTSTORE_PASSWORD}"
    )
    return {"spark.driver.extraJavaOptions": opts, "spark.executor.extraJavaOptions": opts}


def build_spark_setup(
    settings: PlatformSettings,
    endpoint: StoreEndpoint,
    jars: Sequence[Path],
    *,
    ui: bool = False,
    truststore: Path | None = None,
) -> SparkSetup:
    """Spark conf + env for `settings.catalog_type`; `truststore` from `tls.truststore_for`."""
    builder = _hadoop_catalog if settings.catalog_type == "hadoop" else _jdbc_catalog
    catalog_conf, secrets = builder(settings, endpoint)
    prefix = f"spark.sql.catalog.{settings.catalog_name}"
    table_defaults = {f"{prefix}.table-default.{k}": v for k, v in WRITE_TABLE_DEFAULTS.items()}
    conf = {
        **_base_conf(settings, jars, ui),
        **catalog_conf,
        **table_defaults,
        **_tls_conf(truststore),
    }
    env = dict(CHECKSUM_ENV)
    if conf["spark.master"].startswith("local"):
        env["SPARK_LOCAL_IP"] = "127.0.0.1"  # local mode: bind loopback, never the LAN
    return SparkSetup(conf=conf, secret_conf=secrets, env=env)

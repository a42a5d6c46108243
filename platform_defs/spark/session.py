"""Start the one SparkSession a process gets, after the checks that make failures readable.

Order matters: Java, then the jar cache, then the store, then the catalog (a lost one is refused
before Spark's JdbcCatalog could create an empty one), each failing with its own platform error
before any JVM starts. Secrets are applied to the running session (see `conf.SparkSetup`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from platform_defs.catalog_uri import mask_uri
from platform_defs.clients.s3 import S3_TIMEOUT_SETTING, ObjectStore
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import (
    CatalogError,
    CredentialsError,
    PlatformError,
    StoreUnreachableError,
)
from platform_defs.iceberg.catalog import refuse_lost_sqlite_catalog
from platform_defs.private import private_dir
from platform_defs.settings import PlatformSettings
from platform_defs.spark import jars
from platform_defs.spark.conf import SparkSetup, build_spark_setup
from platform_defs.spark.java import check_java
from platform_defs.spark.tls import truststore_for

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOG4J_CONFIG = Path(__file__).with_name("log4j2.properties")
_HADOOP_PREFIX = "spark.hadoop."


def prepare(settings: PlatformSettings, endpoint: StoreEndpoint, *, ui: bool = False) -> SparkSetup:
    """Run every pre-JVM check and return the Spark setup (no JVM started)."""
    java = check_java()
    groups = ("core", "hadoop") if settings.catalog_type == "hadoop" else ("core",)
    jar_paths = jars.resolve(settings.resolved_jar_cache_dir, groups)
    store = ObjectStore(
        endpoint, timeout=settings.s3_timeout_seconds, timeout_setting=S3_TIMEOUT_SETTING
    )
    store.require_bucket(settings.bucket)
    truststore = None
    if endpoint.ca_bundle is not None:
        java_home = java.executable.resolve().parent.parent
        truststore = truststore_for(endpoint.ca_bundle, settings.namespace_dir / "tls", java_home)
    if settings.catalog_type == "jdbc":
        refuse_lost_sqlite_catalog(settings, endpoint)
    if settings.catalog_type == "jdbc" and settings.catalog_uri is None:
        private_dir(settings.catalog_db_path.parent, root=settings.state_dir)
    setup = build_spark_setup(settings, endpoint, jar_paths, ui=ui, truststore=truststore)
    log_opt = f"-Dlog4j2.configurationFile={LOG4J_CONFIG}"
    for key in ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"):
        setup.conf[key] = f"{log_opt} {setup.conf.get(key, '')}".strip()
    return setup


def start_session(
    settings: PlatformSettings,
    endpoint: StoreEndpoint,
    *,
    app_name: str = "lakehouse",
    ui: bool = False,
) -> SparkSession:
    """A SparkSession with the platform's Iceberg catalog, secrets set after launch."""
    from pyspark.sql import SparkSession

    setup = prepare(settings, endpoint, ui=ui)
    os.environ.update(setup.env)  # inherited by the driver JVM pyspark is about to launch
    builder = SparkSession.builder.appName(app_name)
    for key, value in setup.conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    apply_secrets(spark, setup.secret_conf)
    return spark


def apply_secrets(spark: SparkSession, secret_conf: dict[str, str]) -> None:
    """Catalog options are read when the catalog is first used, so setting them now is in time."""
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in secret_conf.items():
        if key.startswith(_HADOOP_PREFIX):
            hadoop_conf.set(key[len(_HADOOP_PREFIX) :], value)
        else:
            spark.conf.set(key, value)


_PATTERNS: list[tuple[str, type[PlatformError], str]] = [
    (
        r"CommitStateUnknownException",
        CatalogError,
        "Iceberg could not tell whether the commit landed (the store or catalog went away during "
        "the commit). Check the table's latest snapshot before re-running, or rows may be doubled.",
    ),
    (
        r"Connection refused|Unable to execute HTTP request|connect timed out|SdkClientException",
        StoreUnreachableError,
        "The object store at {url} stopped answering during the Spark job. The table keeps its "
        "previous snapshot; start the store and re-run the job.",
    ),
    (
        r"SignatureDoesNotMatch|InvalidAccessKeyId|Status Code: 403",
        CredentialsError,
        "The object store at {url} rejected the credentials during the Spark job. Check "
        "PLATFORM_S3_ACCESS_KEY/PLATFORM_S3_SECRET_KEY.",
    ),
    (
        r"SQLException|No suitable driver|database is locked|Connection to .* refused",
        CatalogError,
        "The Iceberg catalog database {catalog} failed. Check PLATFORM_CATALOG_URI and that the "
        "database is reachable.",
    ),
]


def explain_failure(
    exc: BaseException, settings: PlatformSettings, endpoint: StoreEndpoint
) -> PlatformError:
    """Turn a Py4J/Spark exception into one platform error whose first line says what to do."""
    text = str(exc)
    uri = mask_uri(settings.catalog_uri or str(settings.catalog_db_path))
    for pattern, cls, message in _PATTERNS:
        if re.search(pattern, text):
            first = next((ln for ln in text.splitlines() if re.search(pattern, ln)), "")
            explained = message.format(url=endpoint.url, catalog=uri)
            return cls(f"{explained}\nCause: {first.strip()[:400]}")
    return PlatformError(f"Spark job failed: {text.splitlines()[0][:500] if text else exc!r}")

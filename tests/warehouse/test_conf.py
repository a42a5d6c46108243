"""Fast tests: conf building, URI conversion, jar verification, Java parsing. No JVM, no store."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assets.spark_jobs.context import launch_env, launch_extras
from assets.spark_jobs.inventory import prefix_of, summarize
from assets.spark_jobs.maintenance import MaintenanceParams
from platform_defs.catalog_uri import bounded_catalog_uri, mask_uri
from platform_defs.credentials import Credentials
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import CatalogError, JavaError, SettingsError, SparkJarsError
from platform_defs.spark import jars
from platform_defs.spark.conf import build_spark_setup, jdbc_target
from platform_defs.spark.java import check_java, parse_major
from platform_defs.spark.tls import TRUSTSTORE_PASSWORD, truststore_for
from tests.warehouse.conftest import flip_keeping_size_and_mtime, make_settings

SECRET = "s3cr3t-value-for-tests-only"
EP = StoreEndpoint(url="http://127.0.0.1:9000", credentials=Credentials("tester", SECRET))


def test_jdbc_conf_names_catalog_and_keeps_secrets_off_launch_conf(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "lake", catalog_name="wh")
    setup = build_spark_setup(settings, EP, [tmp_path / "a.jar"])
    c = setup.conf
    assert c["spark.sql.catalog.wh"] == "org.apache.iceberg.spark.SparkCatalog"
    assert c["spark.sql.catalog.wh.type"] == "jdbc"
    assert c["spark.sql.catalog.wh.uri"] == f"jdbc:sqlite:{settings.catalog_db_path}"
    assert c["spark.sql.catalog.wh.jdbc.schema-version"] == "V1"
    assert c["spark.sql.catalog.wh.warehouse"] == "s3://lake/warehouse"
    assert c["spark.sql.catalog.wh.io-impl"] == "org.apache.iceberg.aws.s3.S3FileIO"
    assert c["spark.sql.catalog.wh.s3.endpoint"] == EP.url
    assert c["spark.sql.catalog.wh.s3.path-style-access"] == "true"
    assert c["spark.sql.catalog.wh.client.region"] == "us-east-1"
    assert c["spark.master"] == "local[*]" and c["spark.ui.enabled"] == "false"
    assert c["spark.jars"] == str(tmp_path / "a.jar")
    assert "IcebergSparkSessionExtensions" in c["spark.sql.extensions"]
    assert c["spark.executorEnv.AWS_REQUEST_CHECKSUM_CALCULATION"] == "when_required"
    assert setup.env["AWS_RESPONSE_CHECKSUM_VALIDATION"] == "when_required"
    assert SECRET not in repr(setup) and SECRET not in str(c)
    assert setup.secret_conf["spark.sql.catalog.wh.s3.secret-access-key"] == SECRET
    assert setup.redacted()["spark.sql.catalog.wh.s3.secret-access-key"] == "***"


def test_write_settings_the_ingest_benchmark_chose(tmp_path: Path) -> None:
    """Pinned from docs/benchmarks.md "Ingest tuning": snappy as a table default (a table's own
    codec wins), 8 MiB S3 parts on 8 upload threads, for both catalog types."""
    for catalog_type in ("jdbc", "hadoop"):
        settings = make_settings(tmp_path, "lake", catalog_name="wh", catalog_type=catalog_type)
        c = build_spark_setup(settings, EP, []).conf
        assert c["spark.sql.catalog.wh.table-default.write.parquet.compression-codec"] == "snappy"
        assert "spark.sql.iceberg.compression-codec" not in c  # would override every table's own
    c = build_spark_setup(make_settings(tmp_path, "lake", catalog_name="wh"), EP, []).conf
    assert c["spark.sql.catalog.wh.s3.multipart.part-size-bytes"] == str(8 * 1024 * 1024)
    assert c["spark.sql.catalog.wh.s3.multipart.num-threads"] == "8"


def test_master_and_memory_come_from_settings(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, "lake", spark_master="spark://h:7077", spark_driver_memory="3g"
    )
    setup = build_spark_setup(settings, EP, [])
    assert setup.conf["spark.master"] == "spark://h:7077"
    assert setup.conf["spark.driver.memory"] == "3g"
    assert "SPARK_LOCAL_IP" not in setup.env


def test_postgres_uri_becomes_jdbc_with_password_as_secret(tmp_path: Path) -> None:
    uri = "postgresql+psycopg2://iceberg:pw%40x@db.example:5433/catalog?sslmode=require"  # pragma: allowlist secret
    settings = make_settings(tmp_path, "lake", catalog_uri=uri)
    target = jdbc_target(settings)
    assert target.url == (
        "jdbc:postgresql://db.example:5433/catalog?sslmode=require&connectTimeout=10"
        "&socketTimeout=40&options=-c%20statement_timeout%3D30000"
    )
    assert (target.user, target.password) == ("iceberg", "pw@x")
    setup = build_spark_setup(settings, EP, [])
    assert setup.conf["spark.sql.catalog.lakehouse.jdbc.user"] == "iceberg"
    password = setup.secret_conf["spark.sql.catalog.lakehouse.jdbc.password"]
    assert password == "pw@x"  # pragma: allowlist secret
    assert "pw" not in str(setup.conf)
    assert (
        mask_uri(uri) == "postgresql+psycopg2://iceberg:***@db.example:5433/catalog?sslmode=require"
    )


def test_catalog_uris_carry_the_timeouts_unless_they_set_their_own(tmp_path: Path) -> None:
    pg = "postgresql+psycopg2://u:p%40w@db:5432/cat"  # pragma: allowlist secret
    settings = make_settings(tmp_path, "lake", catalog_uri=pg, catalog_connect_timeout_seconds=2.5,
                             catalog_statement_timeout_seconds=7)  # fmt: skip
    assert bounded_catalog_uri(settings) == (
        "postgresql+psycopg2://u:p%40w@db:5432/cat?connect_timeout=3"  # pragma: allowlist secret
        "&options=-c+statement_timeout%3D7000"
    )
    own = make_settings(
        tmp_path, "lake", catalog_uri=pg + "?connect_timeout=1&options=-c%20statement_timeout%3D5"
    )
    assert bounded_catalog_uri(own) == own.catalog_uri  # the URI's own values win
    assert bounded_catalog_uri(make_settings(tmp_path, "lake")).endswith("lakehouse.db?timeout=30")
    assert jdbc_target(own).url.endswith("connect_timeout=1&options=-c%20statement_timeout%3D5"
                                         "&connectTimeout=10&socketTimeout=40")  # fmt: skip


def test_unsupported_catalog_uri_is_one_clear_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "lake", catalog_uri="mysql://u:hunter22@h/db")
    with pytest.raises(CatalogError, match=r"mysql://u:\*\*\*@h/db.*postgresql\+psycopg2") as info:
        jdbc_target(settings)
    assert "hunter22" not in str(info.value)


def test_hadoop_conf_uses_s3a_and_keeps_keys_secret(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "lake", catalog_type="hadoop")
    setup = build_spark_setup(settings, EP, [])
    c = setup.conf
    assert c["spark.sql.catalog.lakehouse.type"] == "hadoop"
    assert c["spark.sql.catalog.lakehouse.warehouse"] == "s3a://lake/hadoop-warehouse"
    assert c["spark.hadoop.fs.s3a.endpoint"] == EP.url
    assert c["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert c["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert setup.secret_conf["spark.hadoop.fs.s3a.secret.key"] == SECRET
    assert SECRET not in str(c)


def test_truststore_goes_to_driver_and_executor_options(tmp_path: Path) -> None:
    setup = build_spark_setup(
        make_settings(tmp_path, "lake"), EP, [], truststore=tmp_path / "t.p12"
    )
    for key in ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"):
        assert f"-Djavax.net.ssl.trustStore={tmp_path / 't.p12'}" in setup.conf[key]


def test_lock_pins_every_jar_with_sha256() -> None:
    specs = jars.read_lock()
    coords = {s.coordinate for s in specs}
    assert "org.apache.iceberg:iceberg-spark-runtime-4.1_2.13:1.12.0" in coords
    assert "org.apache.iceberg:iceberg-aws-bundle:1.12.0" in coords
    assert "org.apache.hadoop:hadoop-aws:3.4.2" in coords
    assert "software.amazon.awssdk:bundle:2.29.52" in coords
    assert all(len(s.sha256) == 64 for s in specs)


def test_hadoop_aws_matches_hadoop_in_pyspark_wheel() -> None:
    import pyspark

    bundled = list((Path(pyspark.__file__).parent / "jars").glob("hadoop-client-api-*.jar"))
    version = bundled[0].name.removeprefix("hadoop-client-api-").removesuffix(".jar")
    assert any(s.coordinate == f"org.apache.hadoop:hadoop-aws:{version}" for s in jars.read_lock())


def test_missing_and_corrupted_jar_name_the_jar_and_the_fix(tmp_path: Path) -> None:
    spec = jars.JarSpec("core", "org.example:thing:1.0", hashlib.sha256(b"good").hexdigest())
    with pytest.raises(SparkJarsError, match=r"org.example:thing:1.0 is missing.*jars fetch"):
        jars.verified_jar(tmp_path, spec)
    (tmp_path / "thing-1.0.jar").write_bytes(b"bad")
    with pytest.raises(SparkJarsError, match=r"org.example:thing:1.0 .* is corrupted.*jars fetch"):
        jars.verified_jar(tmp_path, spec)
    (tmp_path / "thing-1.0.jar").write_bytes(b"good")
    assert jars.verified_jar(tmp_path, spec) == tmp_path / "thing-1.0.jar"


def test_a_jar_changed_behind_its_size_and_mtime_is_refused(tmp_path: Path) -> None:
    good = os.urandom(64 * 1024)
    spec = jars.JarSpec("core", "org.example:thing:1.0", hashlib.sha256(good).hexdigest())
    jar = tmp_path / spec.filename
    jar.write_bytes(good)
    assert jars.verified_jar(tmp_path, spec) == jar  # verified once, as `make setup` does
    flip_keeping_size_and_mtime(jar, 16 * 1024)
    actual = hashlib.sha256(jar.read_bytes()).hexdigest()
    with pytest.raises(SparkJarsError) as info:
        jars.verified_jar(tmp_path, spec)
    message = str(info.value)
    for needle in ("org.example:thing:1.0", str(jar), spec.sha256, actual,
                   "python -m platform_defs.spark.jars fetch --group core"):  # fmt: skip
        assert needle in message, message


@pytest.mark.parametrize(
    ("output", "major"),
    [('openjdk version "17.0.15" 2025-04-15', 17), ('java version "1.8.0_392"', 8),
     ('openjdk version "21" 2023-09-19', 21), ('openjdk version "11.0.2"', 11)],
)  # fmt: skip
def test_parse_java_major(output: str, major: int) -> None:
    assert parse_major(output) == major


def test_missing_java_names_the_required_version(tmp_path: Path) -> None:
    with pytest.raises(JavaError, match="Java 17 or 21"):
        check_java({"JAVA_HOME": str(tmp_path), "PATH": str(tmp_path)})
    with pytest.raises(JavaError, match=r"not on PATH.*Java 17 or 21"):
        check_java({"PATH": str(tmp_path)})


def test_wrong_java_version_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "java"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    fake.chmod(0o755)
    with pytest.raises(JavaError, match=r"is Java 11; Spark 4\.1 needs Java 17 or 21"):
        check_java({"JAVA_HOME": str(tmp_path)})


def test_prefixes_group_two_levels() -> None:
    assert prefix_of("warehouse/ops/t/data/f.parquet") == "warehouse/ops/"
    assert prefix_of("raw/f.csv") == "raw/"
    assert prefix_of("f.csv") == "/"
    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    stats = summarize([("a/b/c", 1, t1), ("a/b/d", 2, t2), ("x", 5, None)])
    assert stats["a/b/"].object_count == 2 and stats["a/b/"].total_bytes == 3
    assert stats["a/b/"].newest_modified == t2 and stats["/"].total_bytes == 5


def test_maintenance_refuses_unsafe_parameters() -> None:
    with pytest.raises(SettingsError, match="24 h safety cutoff"):
        MaintenanceParams.from_params({"orphan_older_than_hours": 1})
    with pytest.raises(SettingsError, match="at least 1 snapshot"):
        MaintenanceParams.from_params({"retain_last": 0})
    assert MaintenanceParams.from_params({"retain_last": "2"}).retain_last == 2


def test_pipes_extras_carry_no_secret(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "lake", catalog_uri="postgresql://u:topsecretpw@h/db")
    extras = launch_extras(settings, EP, {"retain_last": 2})
    assert SECRET not in str(extras) and "topsecretpw" not in str(extras)
    assert extras["endpoint"]["url"] == EP.url and extras["params"] == {"retain_last": 2}
    env = launch_env(settings, EP)
    assert env["PLATFORM_S3_SECRET_KEY"] == SECRET
    assert env["PLATFORM_CATALOG_URI"].startswith("postgresql://")


def _self_signed_pem() -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_truststore_from_pem_bundle_holds_every_ca(tmp_path: Path) -> None:
    import subprocess

    bundle = tmp_path / "ca.pem"
    bundle.write_text(_self_signed_pem() + _self_signed_pem())
    store = truststore_for(bundle, tmp_path / "tls")
    assert truststore_for(bundle, tmp_path / "tls") == store  # reused while the PEM is unchanged
    listing = subprocess.run(
        ["keytool", "-list", "-keystore", str(store), "-storepass", TRUSTSTORE_PASSWORD],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "ca-0" in listing and "ca-1" in listing

"""StoreEndpoint owns its projections: JSON without the keys, TLS verify, pyiceberg's names,
Spark's Iceberg catalog and s3a conf."""

from __future__ import annotations

import json
from pathlib import Path

from pyiceberg.io import S3_ACCESS_KEY_ID, S3_ENDPOINT, S3_SECRET_ACCESS_KEY

from platform_defs.credentials import Credentials
from platform_defs.endpoint import StoreEndpoint

KEYS = Credentials("test-access-key-1", "test-secret-key-0123456789")


def test_public_json_round_trips_without_the_keys(tmp_path: Path) -> None:
    ep = StoreEndpoint(
        "https://127.0.0.1:9443", KEYS, "eu-west-1", tmp_path / "ca.crt", "https://c", "minio"
    )
    text = json.dumps(ep.public())
    assert KEYS.access_key not in text and KEYS.secret_key not in text
    assert StoreEndpoint.from_public(json.loads(text), KEYS) == ep


def test_verify_is_the_bundle_or_system_trust_never_false(tmp_path: Path) -> None:
    assert StoreEndpoint("http://127.0.0.1:1", KEYS).verify is True
    bundle = tmp_path / "ca.crt"
    assert StoreEndpoint("https://127.0.0.1:1", KEYS, ca_bundle=bundle).verify == str(bundle)


def test_pyiceberg_properties_use_pyicebergs_names() -> None:
    props = StoreEndpoint("http://127.0.0.1:8333", KEYS, "us-east-1").pyiceberg_properties()
    assert props[S3_ENDPOINT] == "http://127.0.0.1:8333"
    assert (props[S3_ACCESS_KEY_ID], props[S3_SECRET_ACCESS_KEY]) == (
        KEYS.access_key,
        KEYS.secret_key,
    )
    assert props["s3.path-style-access"] == "true"


def test_spark_catalog_conf_is_the_same_properties_with_the_keys_apart() -> None:
    """Spark's Iceberg catalog gets pyiceberg's FileIO properties under its prefix (region as
    Iceberg Java's `client.region`); the keys only in the secret half."""
    ep = StoreEndpoint("https://127.0.0.1:9443", KEYS, "eu-west-1")
    conf, secrets = ep.spark_catalog_conf("spark.sql.catalog.lake")
    assert conf == {
        "spark.sql.catalog.lake.s3.endpoint": "https://127.0.0.1:9443",
        "spark.sql.catalog.lake.s3.path-style-access": "true",
        "spark.sql.catalog.lake.client.region": "eu-west-1",
    }
    assert secrets == {
        "spark.sql.catalog.lake.s3.access-key-id": KEYS.access_key,
        "spark.sql.catalog.lake.s3.secret-access-key": KEYS.secret_key,
    }
    assert KEYS.secret_key not in json.dumps(conf)


def test_s3a_conf_follows_the_scheme_and_keeps_the_keys_apart() -> None:
    conf, secrets = StoreEndpoint("http://127.0.0.1:8333", KEYS, "us-east-1").s3a_conf()
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:8333"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert (
        StoreEndpoint("https://h:1", KEYS).s3a_conf()[0][
            "spark.hadoop.fs.s3a.connection.ssl.enabled"
        ]
        == "true"
    )
    assert set(secrets.values()) == {KEYS.access_key, KEYS.secret_key}
    assert not set(conf.values()) & {KEYS.access_key, KEYS.secret_key}

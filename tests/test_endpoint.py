"""StoreEndpoint owns its projections: JSON without the keys, TLS verify, pyiceberg's names."""

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

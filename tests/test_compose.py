"""docker-compose.yml, checked offline (no Docker daemon here): the Compose Specification's
schema, the rules of tools/compose_policies.py, and that what the file hands the platform
and Dagster is what they accept. Every rule is shown to catch a deliberately broken copy."""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from platform_defs import compose_env, credentials
from platform_defs.settings import ENV_PREFIX, PlatformSettings, load_settings
from platform_defs.spark.conf import jdbc_target
from tools import compose_policies as cp

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DEPLOY = ROOT / "deploy" / "compose"
SCHEMA_DIGESTS = {
    "compose-spec.json": "d549057ebc2925f39f62799eab0db7b9e2c18b35b6c00595199116da3ed10e64",  # pragma: allowlist secret
    "github-workflows.json": "d10c9f4656e1bd5bc6727e9b35080e017dc167154726fca93da33c7a6bd1c4f3",  # pragma: allowlist secret
}
SERVICES = ("minio", "postgres", "code-location", "webserver", "daemon")
DAGSTER_SERVICES = ("code-location", "webserver", "daemon")
FIELDS = {ENV_PREFIX + f.upper() for f in PlatformSettings.model_fields}
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}")


def load_compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "tests/schemas/compose-spec.json").read_text())
    return data


def test_vendored_schemas_are_the_published_files() -> None:
    for name, digest in SCHEMA_DIGESTS.items():
        assert hashlib.sha256((ROOT / "tests/schemas" / name).read_bytes()).hexdigest() == digest


def test_compose_file_passes_schema_and_every_rule(
    compose: dict[str, Any], spec: dict[str, Any]
) -> None:
    assert cp.schema(compose, spec) == []
    assert cp.required_services(compose, SERVICES) == []
    assert cp.check(compose) == []
    assert cp.platform_settings(compose, FIELDS) == []


def _svc(c: dict[str, Any], name: str) -> dict[str, Any]:
    svc: dict[str, Any] = c["services"][name]
    return svc


def _set_env(name: str, key: str, value: str) -> Callable[[dict[str, Any]], None]:
    def mutate(c: dict[str, Any]) -> None:
        _svc(c, name)["environment"] = {**_svc(c, name)["environment"], key: value}

    return mutate


def _set(name: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(c: dict[str, Any]) -> None:
        _svc(c, name)[key] = value

    return mutate


def _drop(name: str, key: str) -> Callable[[dict[str, Any]], None]:
    return lambda c: _svc(c, name).pop(key)


BROKEN: dict[str, tuple[Callable[[dict[str, Any]], None], Callable[..., list[str]], str]] = {
    "missing service": (
        lambda c: c["services"].pop("postgres"),
        lambda c: cp.required_services(c, SERVICES),
        "service 'postgres' is missing",
    ),
    "no image, no build": (_drop("minio", "image"), cp.image_or_build, "neither `image`"),
    "no healthcheck": (_drop("postgres", "healthcheck"), cp.healthchecks, "no healthcheck"),
    "disabled healthcheck": (
        _set("daemon", "healthcheck", {"disable": True}),
        cp.healthchecks,
        "'daemon' runs continuously",
    ),
    "curl in the minio image": (
        _set("minio", "healthcheck", {"test": ["CMD", "curl", "-f", "http://127.0.0.1:9000"]}),
        cp.healthcheck_tools,
        "curl/wget",
    ),
    "depends on an undefined service": (
        _set("webserver", "depends_on", {"redis": {"condition": "service_healthy"}}),
        cp.depends_on,
        "'redis', which is not defined",
    ),
    "depends on a healthchecked service without waiting": (
        _set("webserver", "depends_on", ["postgres", "code-location"]),
        cp.depends_on,
        "use `condition: service_healthy`",
    ),
    "unpinned image": (
        _set("minio", "image", "quay.io/minio/minio"),
        cp.pinned_images,
        "is not pinned",
    ),
    "latest image": (_set("postgres", "image", "postgres:latest"), cp.pinned_images, "not pinned"),
    "Docker Hub minio": (
        _set("minio", "image", "minio/minio:RELEASE.2025-09-07T16-13-09Z"),
        cp.pinned_images,
        "repository that is gone",
    ),
    "bitnami image": (
        _set("postgres", "image", "docker.io/bitnami/postgresql:16.4.0"),
        cp.pinned_images,
        "repository that is gone",
    ),
    "literal password": (
        _set_env("minio", "MINIO_ROOT_PASSWORD", "Zq8vL2mN4pR7tW1x"),  # pragma: allowlist secret
        cp.no_literal_secrets,
        "MINIO_ROOT_PASSWORD must be",
    ),
    "secret with a default": (
        _set_env("postgres", "POSTGRES_PASSWORD", "${DAGSTER_POSTGRES_PASSWORD:-dagster}"),
        cp.no_literal_secrets,
        "POSTGRES_PASSWORD must be",
    ),
    "optional secret reference": (
        _set_env("code-location", "PLATFORM_S3_SECRET_KEY", "${PLATFORM_S3_SECRET_KEY}"),
        cp.no_literal_secrets,
        "PLATFORM_S3_SECRET_KEY must be",
    ),
    "password inside a URI": (
        _set_env(
            "code-location",
            "PLATFORM_CATALOG_URI",
            "postgresql+psycopg2://iceberg:Zq8vL2mN4pR7@postgres:5432/x",  # pragma: allowlist secret
        ),
        cp.no_literal_secrets,
        "password in its URI",
    ),
    "port on every interface": (
        _set("minio", "ports", ["9000:9000"]),
        cp.loopback_ports,
        "not bound to 127.0.0.1",
    ),
    "port on 0.0.0.0": (
        _set("webserver", "ports", ["0.0.0.0:3000:3000"]),
        cp.loopback_ports,
        "not bound to 127.0.0.1",
    ),
    "long-syntax port without host_ip": (
        _set("webserver", "ports", [{"target": 3000, "published": "3000"}]),
        cp.loopback_ports,
        "not bound to 127.0.0.1",
    ),
    "undeclared volume": (
        lambda c: c["volumes"].pop("postgres-data"),
        cp.declared_volumes,
        "'postgres-data', which is not declared",
    ),
    "undeclared network": (
        lambda c: c.pop("networks"),
        cp.declared_networks,
        "'lakehouse', which is not declared",
    ),
    "service on no network": (_drop("minio", "networks"), cp.declared_networks, "no declared"),
    "misspelt platform setting": (
        _set_env("code-location", "PLATFORM_S3_ENDPIONT", "http://minio:9000"),
        lambda c: cp.platform_settings(c, FIELDS),
        "PLATFORM_S3_ENDPIONT is not a platform setting",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_rule_catches_a_broken_copy(case: str, compose: dict[str, Any]) -> None:
    mutate, rule, expected = BROKEN[case]
    broken = copy.deepcopy(compose)
    mutate(broken)
    assert rule(compose) == [], "the real file must pass the rule the case breaks"
    violations = rule(broken)
    assert any(expected in v for v in violations), violations


@pytest.mark.parametrize(
    "mutate",
    [
        _set("minio", "healthcheck", {"test": 42}),
        _set("webserver", "depends_on", {"postgres": {"condition": "service_ready"}}),
        _set("minio", "imagee", "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"),
    ],
    ids=["healthcheck test not a command", "unknown condition", "unknown key"],
)
def test_schema_catches_a_broken_copy(
    mutate: Callable[[dict[str, Any]], None], compose: dict[str, Any], spec: dict[str, Any]
) -> None:
    broken = copy.deepcopy(compose)
    mutate(broken)
    assert cp.schema(broken, spec) != []


def test_a_digest_pins_an_image(compose: dict[str, Any]) -> None:
    _svc(compose, "postgres")["image"] = "postgres@sha256:" + "0" * 64
    assert cp.pinned_images(compose) == []


def test_env_file_names_match_the_compose_file() -> None:
    """What compose interpolates = what `make compose-env` writes = what .env.example lists."""
    referenced = cp.required_variables(load_compose())
    written = {v.name for v in compose_env.VARIABLES}
    example = compose_env.parse_env((ROOT / ".env.example").read_text(encoding="utf-8"))
    assert referenced == written == set(example)
    assert set(example.values()) == {compose_env.PLACEHOLDER}


def _interpolate(value: str, env: dict[str, str]) -> str:
    return _REF.sub(lambda m: env[m.group(1)], value)


def test_code_location_environment_is_valid_platform_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The code location's PLATFORM_* values, with .env filled in, load and point the platform
    at the compose MinIO and Postgres; Spark's JDBC URL is derived from the same URI."""
    dotenv = tmp_path / "compose.env"
    compose_env.ensure_env(dotenv)
    env = compose_env.parse_env(dotenv.read_text())
    code_env = cp.environment(_svc(load_compose(), "code-location"))
    monkeypatch.delenv("PLATFORM_STATE_DIR")
    for key, value in code_env.items():
        if key.startswith(ENV_PREFIX):
            monkeypatch.setenv(key, _interpolate(value, env))
    settings = load_settings()
    assert settings.s3_endpoint == "http://minio:9000"
    assert not settings.embedded_store
    assert settings.state_dir == Path("/var/lib/lakehouse")
    assert credentials.resolve(settings).access_key == env["PLATFORM_S3_ACCESS_KEY"]
    target = jdbc_target(settings)
    # the catalog's connect and statement bounds ride on the URL (PLATFORM_CATALOG_*_TIMEOUT_SECONDS)
    assert target.url.startswith("jdbc:postgresql://postgres:5432/iceberg_catalog?")
    assert "connectTimeout=10" in target.url and "statement_timeout" in target.url
    assert (target.user, target.password) == ("iceberg", env["CATALOG_POSTGRES_PASSWORD"])


def test_postgres_init_creates_the_catalog_role_and_database() -> None:
    uri = cp.environment(_svc(load_compose(), "code-location"))["PLATFORM_CATALOG_URI"]
    m = re.match(r"postgresql\+psycopg2://(\w+):.*@postgres:5432/(\w+)$", uri)
    assert m, uri
    user, db = m.groups()
    script = (DEPLOY / "postgres-init" / "10-iceberg-catalog.sh").read_text()
    assert f"CREATE ROLE {user} LOGIN" in script
    assert f"CREATE DATABASE {db} OWNER {user}" in script
    pg_env = cp.environment(_svc(load_compose(), "postgres"))
    assert "CATALOG_POSTGRES_PASSWORD" in pg_env  # the script reads it


def test_bind_mounts_exist_in_the_repository() -> None:
    for name, svc in cp.services(load_compose()):
        for vol in svc.get("volumes") or []:
            source = str(vol).split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is missing"


def test_dagster_instance_config_is_valid_and_its_env_is_provided(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dagster._core.instance.config import dagster_instance_config

    instance_yaml = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    env_names = set(re.findall(r"env: (\w+)", (DEPLOY / "dagster.yaml").read_text()))
    assert env_names == {"DAGSTER_POSTGRES_PASSWORD"}
    for name in env_names:
        monkeypatch.setenv(name, "validation-only-value")
    dagster_instance_config(str(DEPLOY))  # raises on any schema error
    for key, entry in instance_yaml.items():
        if isinstance(entry, dict) and "module" in entry:
            cls = getattr(importlib.import_module(entry["module"]), entry["class"], None)
            assert isinstance(cls, type), f"{key}: {entry['module']}.{entry['class']} not found"
    compose = load_compose()
    assert instance_yaml["storage"]["postgres"]["postgres_db"]["hostname"] in compose["services"]
    for name in DAGSTER_SERVICES:
        svc = _svc(compose, name)
        assert env_names <= set(cp.environment(svc)), f"{name} lacks the instance's env"
        home = cp.environment(svc)["DAGSTER_HOME"]
        assert f"./deploy/compose/dagster.yaml:{home}/dagster.yaml:ro" in svc["volumes"]


def test_workspace_points_at_the_code_location_service() -> None:
    compose = load_compose()
    (entry,) = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())["load_from"]
    grpc = entry["grpc_server"]
    command = _svc(compose, grpc["host"])["command"]
    assert command[command.index("--port") + 1] == str(grpc["port"])
    assert command[command.index("--module-name") + 1] == "platform_defs.definitions"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert grpc["location_name"] == pyproject["tool"]["dagster"]["code_location_name"]
    for name in ("webserver", "daemon"):
        cmd = _svc(compose, name)["command"]
        home = cp.environment(_svc(compose, name))["DAGSTER_HOME"]
        assert cmd[cmd.index("--workspace") + 1] == f"{home}/workspace.yaml"


def test_dagster_services_run_the_repository_image() -> None:
    default_image = PlatformSettings.model_fields["k8s_image"].default
    for name in DAGSTER_SERVICES:
        svc = _svc(load_compose(), name)
        assert svc["image"] == default_image
        assert (ROOT / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()


def test_dagster_postgres_is_locked_for_the_image() -> None:
    """deploy/compose/dagster.yaml needs dagster-postgres in the image, i.e. in uv.lock."""
    lock = (ROOT / "uv.lock").read_text()
    if 'name = "dagster-postgres"' not in lock:
        pytest.skip("dagster-postgres==0.29.27 is not in uv.lock yet: the compose stack needs it")
    assert re.search(r'name = "dagster-postgres"\nversion = "0\.29\.27"', lock)

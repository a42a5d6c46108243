"""Settings fail at load, naming the variable and the fix; valid ones derive every path."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_defs.errors import SettingsError
from platform_defs.settings import load_settings


def test_defaults_describe_the_guide_platform(tmp_path: Path) -> None:
    s = load_settings()
    assert (s.target, s.namespace, s.bucket) == ("local", "analytics", "datalake")
    assert s.embedded_store
    assert s.store_dir == tmp_path / "state" / "analytics" / "object-store"
    assert s.warehouse_uri == "s3://datalake/warehouse"


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("PLATFORM_BUCKET", "Data_Lake", "lowercase"),
        ("PLATFORM_BUCKET", "192.168.1.10", "IP address"),
        ("PLATFORM_BUCKET", "ab", "3-63"),
        ("PLATFORM_NAMESPACE", "Analytics", "DNS-1123"),
        ("PLATFORM_TARGET", "cloud", "local"),
        ("PLATFORM_S3_ENDPOINT", "minio:9000", "http://host:port"),
        ("PLATFORM_S3_ENDPOINT", "http://minio:9000/datalake", "path"),
        ("PLATFORM_S3_PORT", "80", "between 1024 and 65535"),
        ("PLATFORM_S3_PORT", "nine", "integer"),
        ("PLATFORM_CATALOG_NAME", "my-catalog", "identifier"),
    ],
)
def test_invalid_value_names_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    message = str(err.value)
    assert variable in message and fragment in message and "Fix it" in message


def test_secret_values_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_S3_SECRET_KEY", "x" * 5000)
    monkeypatch.setenv("PLATFORM_S3_TIMEOUT_SECONDS", "soon")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "xxxxx" not in str(err.value)


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"PLATFORM_CREDENTIALS_SOURCE": "env"}, "PLATFORM_S3_ACCESS_KEY"),
        ({"PLATFORM_CREDENTIALS_SOURCE": "file"}, "PLATFORM_CREDENTIALS_FILE"),
        ({"PLATFORM_S3_ENDPOINT": "http://127.0.0.1:9"}, "only works with the embedded store"),
        ({"PLATFORM_S3_PORT": "9100", "PLATFORM_CONSOLE_PORT": "9100"}, "different values"),
        ({"PLATFORM_SPARK_CONNECT_PORT": "8181"}, "PLATFORM_SPARK_CONNECT_PORT=8181 is also"),
        (
            {"PLATFORM_SPARK_CONNECT_PORT": "80"},
            "PLATFORM_SPARK_CONNECT_PORT='80': Value error, must be a port",
        ),
        ({"PLATFORM_SPARK_MODE": "remote"}, "PLATFORM_SPARK_MODE='remote'"),
    ],
)
def test_inconsistent_combinations(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], fragment: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError, match=fragment):
        load_settings()


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PLATFORM_BUCKET=lake-from-dotenv\n")  # pragma: allowlist secret
    assert load_settings().bucket == "lake-from-dotenv"


def test_every_setting_is_in_the_readme() -> None:
    from pathlib import Path

    from platform_defs.settings import ENV_PREFIX, PlatformSettings

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    missing = [f for f in PlatformSettings.model_fields if ENV_PREFIX + f.upper() not in readme]
    assert missing == [], f"settings missing from README's settings table: {missing}"


TIMEOUTS = [
    "PLATFORM_S3_TIMEOUT_SECONDS",
    "PLATFORM_STORE_START_TIMEOUT_SECONDS",
    "PLATFORM_HEALTH_PROBE_TIMEOUT_SECONDS",
    "PLATFORM_K8S_API_TIMEOUT_SECONDS",
    "PLATFORM_K8S_ROLLOUT_TIMEOUT_SECONDS",
    "PLATFORM_K8S_POD_WAIT_TIMEOUT_SECONDS",
]


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
@pytest.mark.parametrize("variable", TIMEOUTS)
def test_non_positive_timeouts_are_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    """A timeout of 0 or -1 used to load and then make every health tick raise ValueError."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    message = str(err.value)
    assert message.count("\n- ") == 1, "one error, for the one bad variable"
    assert f"{variable}={value!r}" in message and "Fix it" in message
    assert "greater than 0" in message or "finite number" in message


def test_a_negative_rotation_grace_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_ROTATION_GRACE_SECONDS", "-1")
    with pytest.raises(SettingsError, match="PLATFORM_ROTATION_GRACE_SECONDS='-1'"):
        load_settings()


def test_equal_inputs_share_one_load_and_any_changed_input_loads_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loads are memoised on what they read: the environment, HOME and `.env`."""
    monkeypatch.chdir(tmp_path)
    first = load_settings()
    assert load_settings() is first
    monkeypatch.setenv("PLATFORM_BUCKET", "other-bucket")
    assert load_settings().bucket == "other-bucket"
    (tmp_path / ".env").write_text("PLATFORM_NAMESPACE=from-dotenv\n")  # pragma: allowlist secret
    assert load_settings().namespace == "from-dotenv"
    (tmp_path / ".env").write_text("PLATFORM_NAMESPACE=edited-later\n")  # pragma: allowlist secret
    assert load_settings().namespace == "edited-later"
    monkeypatch.delenv("PLATFORM_STATE_DIR", raising=False)  # the suite sets one
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert (
        load_settings().state_dir == tmp_path / "home" / ".local" / "state" / "lakehouse-platform"
    )
    assert load_settings(bucket="override").bucket == "override"
    monkeypatch.setenv("PLATFORM_BUCKET", "not a valid bucket!")
    for _ in range(2):  # a refusal is never remembered as a success
        with pytest.raises(SettingsError, match="PLATFORM_BUCKET"):
            load_settings()

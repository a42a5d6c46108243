"""`make compose-env`: generated, validated credentials in a 0600 .env, idempotently."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from platform_defs import compose_env, credentials
from platform_defs.errors import CredentialsError

NAMES = [v.name for v in compose_env.VARIABLES]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generates_every_credential_once(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    assert compose_env.ensure_env(env_file) == NAMES
    assert _mode(env_file) == 0o600
    values = compose_env.parse_env(env_file.read_text())
    assert set(values) == set(NAMES)
    assert len(set(values.values())) == len(NAMES), "every value is different"
    for name in NAMES[1:]:
        credentials.validate(credentials.Credentials("someone", values[name]), source=name)
    before = env_file.read_bytes()
    assert compose_env.ensure_env(env_file) == []
    assert env_file.read_bytes() == before, "a second run must change nothing"


def test_keeps_existing_values_and_lines(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    mine = "Kp3sV9xQ2mW7zL4tR8nB"  # pragma: allowlist secret
    env_file.write_text(f"# mine\nPLATFORM_BUCKET=lake\nDAGSTER_POSTGRES_PASSWORD={mine}\n")
    env_file.chmod(0o644)
    generated = compose_env.ensure_env(env_file)
    assert "DAGSTER_POSTGRES_PASSWORD" not in generated
    text = env_file.read_text()
    assert text.startswith("# mine\nPLATFORM_BUCKET=lake\n")
    assert compose_env.parse_env(text)["DAGSTER_POSTGRES_PASSWORD"] == mine
    assert _mode(env_file) == 0o600


def test_loose_permissions_are_fixed_even_when_nothing_is_missing(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    compose_env.ensure_env(env_file)
    env_file.chmod(0o644)
    assert compose_env.ensure_env(env_file) == []
    assert _mode(env_file) == 0o600


def test_replaces_the_example_placeholders_in_place(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / ".env.example"
    env_file = tmp_path / ".env"
    env_file.write_text(example.read_text())
    assert compose_env.ensure_env(env_file) == NAMES
    text = env_file.read_text()
    assert compose_env.PLACEHOLDER not in text
    assert text.splitlines()[0] == example.read_text().splitlines()[0], "comments kept"
    assert sorted(compose_env.parse_env(text)) == sorted(NAMES)


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("DAGSTER_POSTGRES_PASSWORD=short", "needs at least"),
        ("CATALOG_POSTGRES_PASSWORD=minioadmin", "publicly known"),
        ("CATALOG_POSTGRES_PASSWORD=p@ss/word:with-uri-chars", "not a usable value"),
        (
            "PLATFORM_S3_ACCESS_KEY=sameval123\nPLATFORM_S3_SECRET_KEY=sameval123",  # pragma: allowlist secret
            "equals",
        ),
    ],
)
def test_refuses_values_the_platform_would_refuse(tmp_path: Path, line: str, fragment: str) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(line + "\n")
    with pytest.raises(CredentialsError, match=fragment):
        compose_env.ensure_env(env_file)


def test_cli_never_prints_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_file = tmp_path / ".env"
    assert compose_env.main(["--env-file", str(env_file)]) == 0
    out = capsys.readouterr().out
    for value in compose_env.parse_env(env_file.read_text()).values():
        assert value not in out
    assert compose_env.main(["--env-file", str(env_file)]) == 0
    assert "nothing changed" in capsys.readouterr().out

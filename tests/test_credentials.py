"""Credentials are generated strong, stored 0600, and publicly known ones are refused.

The guide's sample password is read from the guide itself at test time (it sits in shared/ next
to the repository) so the literal never enters this repository.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from platform_defs import credentials
from platform_defs.credentials import Credentials
from platform_defs.errors import CredentialsError, IdentityError
from platform_defs.settings import load_settings

GUIDE = Path(__file__).resolve().parents[2] / "shared" / "seed" / "data-infrastructure-guide.md"


def guide_sample_secret() -> str:
    if not GUIDE.exists():
        pytest.skip(f"the user's guide is not at {GUIDE} (it is on CI and developer machines)")
    match = re.search(r'secret_key="([^"]+)"', GUIDE.read_text())
    assert match, "the guide's Python example no longer shows a secret_key"
    return match.group(1)


def test_guide_sample_credentials_are_refused() -> None:
    sample = guide_sample_secret()
    with pytest.raises(CredentialsError, match="publicly known"):
        credentials.validate(Credentials("admin", sample), source="test")


def test_guide_sample_refused_through_env_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_CREDENTIALS_SOURCE", "env")
    monkeypatch.setenv("PLATFORM_S3_ACCESS_KEY", "admin")
    monkeypatch.setenv("PLATFORM_S3_SECRET_KEY", guide_sample_secret())
    with pytest.raises(CredentialsError, match="PLATFORM_S3_ACCESS_KEY"):
        credentials.resolve(load_settings())


@pytest.mark.parametrize(
    ("access", "secret", "fragment"),
    [
        ("minioadmin", "minioadmin", "publicly known"),
        ("platform", "short", "at least 8"),
        ("samesame-key", "samesame-key", "equals its access key"),
        ("ab", "a-long-enough-secret", "shorter than 3"),
    ],
)
def test_weak_credentials_refused(access: str, secret: str, fragment: str) -> None:
    with pytest.raises(CredentialsError, match=fragment):
        credentials.validate(Credentials(access, secret), source="test")


def test_generated_credentials_are_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "creds" / "root.json"
    first, new = credentials.load_or_generate(path)
    second, again = credentials.load_or_generate(path)
    assert new and not again and first == second
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(first.secret_key) >= 32 and first.secret_key not in repr(first)


def test_two_generations_differ() -> None:
    assert credentials.generate() != credentials.generate()


def test_world_readable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "root.json"
    credentials.save(path, credentials.generate())
    path.chmod(0o644)
    with pytest.raises(CredentialsError, match="chmod 600"):
        credentials.load_file(path)


def test_malformed_file_explains(tmp_path: Path) -> None:
    path = tmp_path / "root.json"
    path.write_text("not json")
    path.chmod(0o600)
    with pytest.raises(CredentialsError, match="access_key"):
        credentials.load_file(path)


def test_one_resolver_finds_root_and_every_identity(tmp_path: Path) -> None:
    """Root and the service identities come from `credentials.resolve`: root generated on first
    use, an identity only from the file provisioning wrote (a missing one is an error that says
    how to create it, never generated on the spot)."""
    settings = load_settings(state_dir=tmp_path)
    with pytest.raises(IdentityError, match="service_identities"):
        credentials.resolve(settings, "spark")
    assert not credentials.identity_file(settings, "spark").exists()
    root = credentials.resolve(settings)
    assert credentials.resolve(settings, credentials.ROOT) == root
    spark = credentials.generate("spark")
    credentials.save(credentials.identity_file(settings, "spark"), spark)
    assert credentials.resolve(settings, "spark") == spark != root


def test_a_spark_job_run_by_hand_writes_as_spark_never_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside Dagster (no launcher keys in the environment) the Spark job takes the spark
    identity's keys; with no spark identity it refuses rather than falling back to root's."""
    from assets.spark_jobs.context import ACCESS_KEY_ENV, SECRET_KEY_ENV, endpoint_from

    for name in (ACCESS_KEY_ENV, SECRET_KEY_ENV):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(state_dir=tmp_path)
    credentials.resolve(settings)  # root exists
    with pytest.raises(CredentialsError, match="spark identity"):
        endpoint_from(settings, None)
    spark = credentials.generate("spark")
    credentials.save(credentials.identity_file(settings, "spark"), spark)
    assert endpoint_from(settings, None).credentials == spark

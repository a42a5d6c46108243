"""The secret scanner (detect-secrets plus the platform's plugins) catches planted secrets in a
throw-away git repository (never this one), and this repository scans clean, which is what
`make scan-secrets` enforces. Rules are named as detect-secrets names them."""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
import secrets
import string
import subprocess
from pathlib import Path

import pytest

from platform_defs import tls
from tests.test_credentials import guide_sample_secret
from tools import secret_scan

REPO = Path(__file__).resolve().parents[2]


def git_repo(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    return repo


def random_secret() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))


def rules(repo: Path) -> set[str]:
    return {f.rule for f in secret_scan.scan_repo(repo)}


def test_clean_repository_passes(tmp_path: Path) -> None:
    repo = git_repo(tmp_path, {"app.py": 'SECRET_ENV = "PLATFORM_S3_SECRET_KEY"\nx = 1\n'})
    assert secret_scan.main([str(repo)]) == 0


def test_names_and_placeholders_are_not_findings(tmp_path: Path) -> None:
    """What detect-secrets' keyword and entropy rules report on names, which the platform's
    filter drops; a real-looking value under the same keys still fails."""
    code = (
        'uri = "postgresql+psycopg2://user:password@host:5432/db"\n'
        'LOG = "/api/v1/namespaces/analytics/pods/iceberg-minio-7d9f6c5b8d-x2k4q/log"\n'
    )
    names = {"values.yaml": "tls:\n  - secretName: minio-tls-secret\n", "app.py": code}
    assert rules(git_repo(tmp_path / "a", names)) == set()
    real = f"tls:\n  - secretName: minio-tls-secret\npassword: {random_secret()}\n"
    assert rules(git_repo(tmp_path / "b", {"values.yaml": real})) == {"Secret Keyword"}


@pytest.mark.parametrize(
    ("name", "make", "rule"),
    [
        ("key.txt", lambda: tls.make_ca("x", "example.org").key_pem.decode(), "Private Key"),
        ("ca.txt", lambda: tls.make_ca("x", "example.org").cert_pem.decode(), "Certificate"),
        ("conf.py", lambda: f'secret_key = "{random_secret()}"\n', "Secret Keyword"),
        ("aws.env", lambda: "AWS_ACCESS_KEY_ID=AKIA" + "ABCDEFGHIJKLMNOP\n", "AWS Access Key"),
        ("certs/server.pem", lambda: "anything\n", "Key Or Certificate File"),
    ],
)  # fmt: skip
def test_planted_secret_fails_the_scan(tmp_path: Path, name: str, make: object, rule: str) -> None:
    repo = git_repo(tmp_path, {name: make()})  # type: ignore[operator]
    assert rule in rules(repo)
    assert secret_scan.main([str(repo)]) == 1


def test_guide_sample_password_is_caught_by_digest(tmp_path: Path) -> None:
    sample = guide_sample_secret()
    repo = git_repo(tmp_path, {"values.yaml": f"rootPassword: {sample}\n"})
    findings = secret_scan.scan_repo(repo)
    assert [f.rule for f in findings] == ["Publicly Known Credential"]
    assert sample not in str(findings[0]), "a finding never repeats the secret"


def test_allow_marker_and_untracked_ignored_files(tmp_path: Path) -> None:
    repo = git_repo(
        tmp_path, {"t.py": f'token = "{random_secret()}"  # pragma: allowlist secret\n'}
    )
    (repo / ".gitignore").write_text("state/\n")
    (repo / "state").mkdir()
    (repo / "state" / "root.json").write_text(f'{{"secret_key": "{random_secret()}"}}')
    assert rules(repo) == set()


def test_this_repository_is_clean() -> None:
    assert secret_scan.scan_repo(REPO) == []


def test_the_scan_starts_no_worker_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """detect-secrets' own `scan_files` forks a pool from the test session, whose threads can
    leave a lock held in the fork: on CI a scan of three files hung until pytest's timeout."""

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("the secret scan must not start a multiprocessing pool")

    monkeypatch.setattr(multiprocessing, "Pool", no_pool)
    monkeypatch.setattr(multiprocessing.pool, "Pool", no_pool)
    files = {f"f{i}.py": f'password = "{random_secret()}"\n' for i in range(3)}
    assert [f.rule for f in secret_scan.scan_repo(git_repo(tmp_path, files))] == [
        "Secret Keyword"
    ] * 3

"""The prepare tool: private files, stable reruns, deliberate rotation, refusal of weak input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography import x509

from platform_defs import credentials
from platform_defs.errors import CredentialsError, ManifestError
from platform_defs.k8s import htpasswd, prepare

SECRET_FILES = ("root-credentials.json", "root-user", "root-password", "console-htpasswd")


def _snapshot(gen: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(gen.iterdir())}


def test_every_file_is_private(scratch_manifests: Path) -> None:
    result = prepare.prepare("dev", manifests_dir=scratch_manifests, env={})
    gen = result.generated_dir
    assert gen.stat().st_mode & 0o777 == 0o700
    names = {p.name for p in gen.iterdir()}
    assert set(SECRET_FILES) | {"ca.crt", "ca.key", "tls.crt", "tls.key"} <= names
    for path in gen.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert not any(n.endswith(".tmp") for n in names)


def test_rerun_keeps_every_secret(scratch_manifests: Path) -> None:
    first = prepare.prepare("dev", manifests_dir=scratch_manifests, env={})
    before = _snapshot(first.generated_dir)
    second = prepare.prepare("dev", manifests_dir=scratch_manifests, env={})
    assert second.written == []
    assert _snapshot(second.generated_dir) == before


def test_rotate_changes_every_secret(scratch_manifests: Path) -> None:
    gen = prepare.prepare("dev", manifests_dir=scratch_manifests, env={}).generated_dir
    before = _snapshot(gen)
    prepare.prepare("dev", manifests_dir=scratch_manifests, env={}, rotate=True)
    after = _snapshot(gen)
    for name in (*SECRET_FILES, "console-credentials.json", "ca.key", "tls.key", "tls.crt"):
        assert after[name] != before[name], name
    for path in gen.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path


def test_generated_credentials_are_strong_and_consistent(scratch_manifests: Path) -> None:
    gen = prepare.prepare("prod", manifests_dir=scratch_manifests, env={}).generated_dir
    root = credentials.load_file(gen / "root-credentials.json")
    assert (gen / "root-user").read_text() == root.access_key  # no trailing newline
    assert (gen / "root-password").read_text() == root.secret_key
    console = credentials.load_file(gen / "console-credentials.json")
    assert console != root
    htp = (gen / "console-htpasswd").read_text()
    assert htpasswd.verify_line(htp, console.access_key, console.secret_key)
    assert not (gen / "tls.key").exists(), "prod TLS comes from cert-manager"


def test_env_supplied_credentials_are_installed(scratch_manifests: Path) -> None:
    env = {
        "PLATFORM_MINIO_ROOT_USER": "lake-admin",
        "PLATFORM_MINIO_ROOT_PASSWORD": "x" * 12 + "Q7rT0pLw9",
    }
    gen = prepare.prepare("dev", manifests_dir=scratch_manifests, env=env).generated_dir
    assert (gen / "root-user").read_text() == "lake-admin"
    again = prepare.prepare("dev", manifests_dir=scratch_manifests, env=env)
    assert "root-credentials.json" in again.kept and again.written == []


@pytest.mark.parametrize(
    ("user", "secret", "fragment"),
    [
        # MinIO's factory default (not the guide's sample, which never appears in this repo).
        ("minioadmin", "minioadmin", "publicly known"),
        ("lake-admin", "short", "at least 8"),
        ("lake-admin-user", "lake-admin-user", "equals its access key"),
    ],
)
def test_weak_env_credentials_are_refused(
    scratch_manifests: Path, user: str, secret: str, fragment: str
) -> None:
    env = {"PLATFORM_MINIO_ROOT_USER": user, "PLATFORM_MINIO_ROOT_PASSWORD": secret}
    with pytest.raises(CredentialsError, match=fragment) as info:
        prepare.prepare("dev", manifests_dir=scratch_manifests, env=env)
    assert "PLATFORM_MINIO_ROOT_USER/PLATFORM_MINIO_ROOT_PASSWORD" in str(info.value)
    assert not (scratch_manifests / "overlays/dev/generated/root-password").exists()


def test_weak_console_credentials_are_refused_too(scratch_manifests: Path) -> None:
    env = {"PLATFORM_CONSOLE_USER": "minioadmin", "PLATFORM_CONSOLE_PASSWORD": "minioadmin"}
    with pytest.raises(CredentialsError, match="PLATFORM_CONSOLE_USER"):
        prepare.prepare("dev", manifests_dir=scratch_manifests, env=env)


def test_half_a_pair_is_an_error(scratch_manifests: Path) -> None:
    with pytest.raises(ManifestError, match="must be set together"):
        prepare.prepare(
            "dev", manifests_dir=scratch_manifests, env={"PLATFORM_MINIO_ROOT_USER": "lake-admin"}
        )


def test_rotate_with_fixed_env_credentials_is_an_error(scratch_manifests: Path) -> None:
    env = {
        "PLATFORM_MINIO_ROOT_USER": "lake-admin",
        "PLATFORM_MINIO_ROOT_PASSWORD": "Zr8" * 6,  # pragma: allowlist secret
    }
    with pytest.raises(ManifestError, match="--rotate"):
        prepare.prepare("dev", manifests_dir=scratch_manifests, env=env, rotate=True)


def test_weak_existing_file_is_refused(scratch_manifests: Path) -> None:
    gen = prepare.prepare("dev", manifests_dir=scratch_manifests, env={}).generated_dir
    credentials.write_private_json(
        gen / "root-credentials.json", {"access_key": "minioadmin", "secret_key": "minioadmin"}
    )
    with pytest.raises(CredentialsError, match="publicly known"):
        prepare.prepare("dev", manifests_dir=scratch_manifests, env={})


def test_dev_certificate_chains_to_the_exported_ca(scratch_manifests: Path) -> None:
    result = prepare.prepare("dev", manifests_dir=scratch_manifests, env={})
    assert result.ca_cert == (result.generated_dir / "ca.crt").resolve()
    ca = x509.load_pem_x509_certificate(result.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate((result.generated_dir / "tls.crt").read_bytes())
    server.verify_directly_issued_by(ca)
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(sans.get_values_for_type(x509.DNSName)) == sorted(prepare.HOSTS)
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    client_env = (result.generated_dir / "client.env").read_text()
    assert f"AWS_CA_BUNDLE={result.ca_cert}" in client_env


def test_expired_server_certificate_is_renewed_with_the_same_ca(scratch_manifests: Path) -> None:
    gen = prepare.prepare("dev", manifests_dir=scratch_manifests, env={}).generated_dir
    ca_before = (gen / "ca.crt").read_bytes()
    other_ca = prepare.tls.make_ca("someone else", prepare.DNS_SUFFIX)
    foreign = prepare.tls.make_server_cert(other_ca, prepare.HOSTS)
    prepare.write_private(gen / "tls.crt", foreign.cert_pem)
    prepare.write_private(gen / "tls.key", foreign.key_pem)
    result = prepare.prepare("dev", manifests_dir=scratch_manifests, env={})
    assert "tls.crt" in result.written
    assert (gen / "ca.crt").read_bytes() == ca_before


def test_cli_reports_errors_without_a_traceback(
    scratch_manifests: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PLATFORM_MINIO_ROOT_USER", "minioadmin")
    monkeypatch.setenv("PLATFORM_MINIO_ROOT_PASSWORD", "minioadmin")
    code = prepare.main(["--overlay", "dev", "--manifests-dir", str(scratch_manifests)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and "Traceback" not in err


def test_cli_json_output(
    scratch_manifests: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in list(os.environ):
        if key.startswith("PLATFORM_"):
            monkeypatch.delenv(key)
    code = prepare.main(["--overlay", "dev", "--manifests-dir", str(scratch_manifests), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["ca_cert"].endswith("generated/ca.crt")


def test_unknown_manifests_dir_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="--manifests-dir"):
        prepare.prepare("dev", manifests_dir=tmp_path, env={})

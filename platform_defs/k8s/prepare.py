"""Write what the manifests need but git must never hold, into `overlays/<env>/generated/`.

`kubectl kustomize` reads these files through `secretGenerator`, so a render (in CI too) only
works after this tool ran. Every file is 0600. Reruns keep what exists, so applying twice does
not change the credentials under a running MinIO; `--rotate` replaces them on purpose.
Credentials can be supplied through the environment; like generated ones they go through
`platform_defs.credentials.validate`, which refuses the guide's published samples.

    python -m platform_defs.k8s.prepare --overlay dev|prod [--rotate] [--manifests-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from platform_defs import credentials, tls
from platform_defs.credentials import Credentials
from platform_defs.errors import ManifestError, PlatformError
from platform_defs.k8s import htpasswd

API_HOST = "minio.ml-platform.local"
CONSOLE_HOST = "minio-console.ml-platform.local"
HOSTS = (API_HOST, CONSOLE_HOST)
DNS_SUFFIX = "ml-platform.local"
# Which overlays get a self-signed certificate from here; prod's comes from cert-manager.
OVERLAYS: Mapping[str, bool] = {"dev": True, "prod": False}
# Overlays that add the optional REST catalog to a base overlay: `<base>-rest-catalog` renders
# `<base>` (whose generated/ is prepared first) plus the catalog's own Postgres password.
REST_CATALOG_OVERLAYS: Mapping[str, str] = {f"{o}-rest-catalog": o for o in OVERLAYS}
ALL_OVERLAYS = (*OVERLAYS, *REST_CATALOG_OVERLAYS)
ROOT_ENV = ("PLATFORM_MINIO_ROOT_USER", "PLATFORM_MINIO_ROOT_PASSWORD")
CONSOLE_ENV = ("PLATFORM_CONSOLE_USER", "PLATFORM_CONSOLE_PASSWORD")
MANIFESTS_ENV = "PLATFORM_MANIFESTS_DIR"
# Read by the optional rest-catalog component's Secret (see its kustomization.yaml).
POSTGRES_PASSWORD_FILE = "rest-catalog-postgres-password"


@dataclass
class PrepareResult:
    """What a run did; file names are relative to `generated_dir`, except for a
    `<env>-rest-catalog` overlay, which writes into two: there every name is
    `<overlay>/generated/<file>`, relative to `overlays/`."""

    overlay: str
    generated_dir: Path
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    ca_cert: Path | None = None


write_private = credentials.write_private_bytes


def _sync(result: PrepareResult, name: str, content: bytes) -> None:
    """Write a derived file only when its content or mode is wrong, so reruns change nothing."""
    path = result.generated_dir / name
    if path.exists() and path.read_bytes() == content and path.stat().st_mode & 0o777 == 0o600:
        result.kept.append(name)
        return
    write_private(path, content)
    result.written.append(name)


def _from_env(env: Mapping[str, str], names: tuple[str, str]) -> Credentials | None:
    user, secret = (env.get(n, "") for n in names)
    if not user and not secret:
        return None
    if not user or not secret:
        missing = names[0] if not user else names[1]
        raise ManifestError(
            f"{names[0]} and {names[1]} must be set together; {missing} is empty. Set both, "
            "or unset both to have strong values generated."
        )
    return credentials.validate(Credentials(user, secret), source=f"{names[0]}/{names[1]}")


def _pair(
    result: PrepareResult,
    json_name: str,
    env: Mapping[str, str],
    env_names: tuple[str, str],
    prefix: str,
    rotate: bool,
) -> Credentials:
    """Credentials from the environment, else the existing file, else freshly generated."""
    path = result.generated_dir / json_name
    supplied = _from_env(env, env_names)
    if supplied is not None and rotate:
        raise ManifestError(
            f"--rotate generates new credentials, but {env_names[0]}/{env_names[1]} supply "
            "fixed ones. Unset them to rotate, or drop --rotate to install the supplied ones."
        )
    if supplied is None and path.exists() and not rotate:
        creds = credentials.load_file(path)
        result.kept.append(json_name)
        return creds
    creds = supplied or credentials.generate(prefix)
    credentials.validate(creds, source=str(path))
    if path.exists() and not rotate and credentials.load_file(path) == creds:
        result.kept.append(json_name)
        return creds
    credentials.save(path, creds)
    result.written.append(json_name)
    return creds


def _console_htpasswd(result: PrepareResult, console: Credentials) -> None:
    """Keep the existing hash while it still matches: a new salt would change the Secret."""
    path = result.generated_dir / "console-htpasswd"
    if (
        path.exists()
        and path.stat().st_mode & 0o777 == 0o600
        and htpasswd.verify_line(path.read_text("utf-8"), console.access_key, console.secret_key)
    ):
        result.kept.append(path.name)
        return
    write_private(path, htpasswd.line(console.access_key, console.secret_key).encode("utf-8"))
    result.written.append(path.name)


def _read_pair(directory: Path, cert: str, key: str) -> tls.KeyPair | None:
    cert_path, key_path = directory / cert, directory / key
    if not (cert_path.exists() and key_path.exists()):
        return None
    return tls.KeyPair(cert_path.read_bytes(), key_path.read_bytes())


def _tls(result: PrepareResult, rotate: bool) -> None:
    """Self-signed CA + server certificate; the CA survives renewals so client trust does too."""
    gen = result.generated_dir
    ca = None if rotate else _read_pair(gen, "ca.crt", "ca.key")
    if ca is None or not tls.ca_is_usable(ca):
        ca = tls.make_ca("lakehouse-platform dev CA", DNS_SUFFIX)
    server = None if rotate else _read_pair(gen, "tls.crt", "tls.key")
    if server is None or not tls.server_cert_is_current(server, ca, HOSTS):
        server = tls.make_server_cert(ca, HOSTS)
    for name, content in (
        ("ca.key", ca.key_pem),
        ("ca.crt", ca.cert_pem),
        ("tls.key", server.key_pem),
        ("tls.crt", server.cert_pem),
    ):
        _sync(result, name, content)
    ca_path = (gen / "ca.crt").resolve()
    result.ca_cert = ca_path
    # Not secret, but in the same place so a client setup can `source` it.
    _sync(
        result, "client.env", f"PLATFORM_S3_CA_BUNDLE={ca_path}\nAWS_CA_BUNDLE={ca_path}\n".encode()
    )


def overlay_dir(manifests_dir: Path, overlay: str) -> Path:
    if overlay not in ALL_OVERLAYS:
        raise ManifestError(
            f"Unknown overlay {overlay!r}; choose one of {', '.join(ALL_OVERLAYS)}."
        )
    path = manifests_dir / "overlays" / overlay
    if not (path / "kustomization.yaml").is_file():
        raise ManifestError(
            f"{path}/kustomization.yaml does not exist. Run from the repository root or pass "
            f"--manifests-dir (or set {MANIFESTS_ENV}) to the `manifests` directory."
        )
    return path


def prepare(
    overlay: str,
    *,
    manifests_dir: Path,
    rotate: bool = False,
    env: Mapping[str, str] | None = None,
) -> PrepareResult:
    """Create or refresh `overlays/<overlay>/generated/` and return what changed."""
    environ = os.environ if env is None else env
    gen = overlay_dir(manifests_dir, overlay) / "generated"
    if overlay in REST_CATALOG_OVERLAYS:
        base = prepare(
            REST_CATALOG_OVERLAYS[overlay], manifests_dir=manifests_dir, rotate=rotate, env=env
        )
        where = f"{base.overlay}/generated/"
        result = PrepareResult(
            overlay=overlay,
            generated_dir=gen,
            written=[where + n for n in base.written],
            kept=[where + n for n in base.kept],
            ca_cert=base.ca_cert,
        )
        _private_dir(gen)
        _postgres_password(result)
        return result
    _private_dir(gen)
    result = PrepareResult(overlay=overlay, generated_dir=gen)
    root = _pair(result, "root-credentials.json", environ, ROOT_ENV, "minio-root", rotate)
    _sync(result, "root-user", root.access_key.encode("utf-8"))
    _sync(result, "root-password", root.secret_key.encode("utf-8"))
    console = _pair(result, "console-credentials.json", environ, CONSOLE_ENV, "console", rotate)
    if console == root:
        raise ManifestError(
            "The console basic-auth credentials equal the MinIO root credentials; one leak "
            f"would then give both away. Set different values in {CONSOLE_ENV[0]}/{CONSOLE_ENV[1]}."
        )
    _console_htpasswd(result, console)
    if OVERLAYS[overlay]:
        _tls(result, rotate)
    return result


def _private_dir(gen: Path) -> None:
    gen.mkdir(mode=0o700, exist_ok=True)
    os.chmod(gen, 0o700)


def _postgres_password(result: PrepareResult) -> None:
    """The REST catalog's Postgres password: generated once, kept even by `--rotate`.

    Postgres reads POSTGRES_PASSWORD_FILE only when it initialises an empty volume, so a new
    value in the Secret would lock the catalog out of its own database; changing it is an
    `ALTER USER` first, then this file (manifests/README.md).
    """
    path = result.generated_dir / POSTGRES_PASSWORD_FILE
    name = f"{result.generated_dir.parent.name}/generated/{path.name}"
    if path.exists() and path.read_bytes().strip():
        os.chmod(path, 0o600)  # a copied file keeps its value, never its mode
        result.kept.append(name)
        return
    write_private(path, secrets.token_urlsafe(32).encode("ascii"))
    result.written.append(name)


def _summary(result: PrepareResult) -> str:
    lines = [
        f"Prepared overlay {result.overlay!r} in {result.generated_dir} (files 0600, gitignored)."
    ]
    if result.written:
        lines.append(f"  written: {', '.join(result.written)}")
    if result.kept:
        lines.append(f"  kept:    {', '.join(result.kept)}")
    if result.ca_cert is not None:
        lines.append(f"  clients must trust the CA at {result.ca_cert}:")
        lines.append(f"    export AWS_CA_BUNDLE={result.ca_cert}")
    else:
        lines.append("  TLS comes from the cert-manager issuer named in settings.env.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m platform_defs.k8s.prepare",
        description="Generate the secrets and certificates the Kubernetes overlays read.",
    )
    parser.add_argument("--overlay", required=True, choices=sorted(ALL_OVERLAYS))
    parser.add_argument(
        "--rotate",
        action="store_true",
        help="replace existing secrets (not the REST catalog's Postgres password)",
    )
    parser.add_argument(
        "--manifests-dir",
        type=Path,
        default=Path(os.environ.get(MANIFESTS_ENV, "manifests")),
        help=f"the `manifests` directory (default: ./manifests or ${MANIFESTS_ENV})",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    try:
        result = prepare(args.overlay, manifests_dir=args.manifests_dir, rotate=args.rotate)
    except PlatformError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        payload = {
            "overlay": result.overlay,
            "generated_dir": str(result.generated_dir),
            "written": result.written,
            "kept": result.kept,
            "ca_cert": str(result.ca_cert) if result.ca_cert else None,
        }
        print(json.dumps(payload, indent=2))
    else:
        print(_summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

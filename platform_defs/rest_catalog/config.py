"""What the REST catalog server is told: its catalog, its S3 keys, the identities' tokens.

Everything secret goes into one Java properties file of mode 0600 that the server reads at start
(its path is in the environment, never on the command line, which `ps` shows to every user).
Tokens are per identity and kept across restarts in `<state>/<ns>/rest-catalog/tokens/`, so
clients keep working when the server is restarted.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from platform_defs.credentials import write_private_text
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import RestCatalogError
from platform_defs.private import private_dir
from platform_defs.settings import PlatformSettings
from platform_defs.spark.conf import S3_FILE_IO, jdbc_target

READ_WRITE = "spark"
READ_ONLY = "analyst"
IDENTITIES = (READ_WRITE, READ_ONLY)


def token_file(settings: PlatformSettings, identity: str) -> Path:
    return settings.rest_catalog_dir / "tokens" / f"{identity}.token"


def ensure_tokens(settings: PlatformSettings) -> dict[str, str]:
    """Each identity's bearer token, generated once (256 random bits)."""
    private_dir(token_file(settings, READ_WRITE).parent, root=settings.state_dir)
    tokens = {}
    for identity in IDENTITIES:
        path = token_file(settings, identity)
        if not path.exists():
            write_private_text(path, secrets.token_urlsafe(32))
        tokens[identity] = path.read_text(encoding="utf-8").strip()
    return tokens


def read_token(settings: PlatformSettings, identity: str) -> str:
    """The token of `identity`, or an error saying how to get one."""
    if identity not in IDENTITIES:
        raise RestCatalogError(
            f"The REST catalog has no identity {identity!r}; it knows {IDENTITIES} "
            f"({READ_ONLY} reads only)."
        )
    path = token_file(settings, identity)
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise RestCatalogError(
            f"No REST catalog token for {identity!r} at {path}: the REST catalog has not been "
            "started on this state directory. Run `make run` (it materializes `rest_catalog`)."
        ) from None


def _escape(value: str) -> str:
    """Java properties escaping for a value (keys here are plain)."""
    out = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    return "\\ " + out[1:] if out.startswith(" ") else out


def render(settings: PlatformSettings, store: StoreEndpoint, tokens: dict[str, str]) -> str:
    """The server's properties file; `store` carries the keys the server writes metadata with."""
    target = jdbc_target(settings)
    props = {
        "server.port": str(settings.rest_catalog_port),
        "catalog.name": settings.catalog_name,
        "catalog.catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog",
        "catalog.uri": target.url,
        "catalog.jdbc.schema-version": "V1",
        "catalog.warehouse": settings.warehouse_uri,
        "catalog.io-impl": S3_FILE_IO,
        "catalog.s3.endpoint": store.url,
        "catalog.s3.path-style-access": "true",
        "catalog.client.region": store.region,
        "catalog.s3.access-key-id": store.credentials.access_key,
        "catalog.s3.secret-access-key": store.credentials.secret_key,
        "readonly": READ_ONLY,
        **{f"token.{identity}": token for identity, token in tokens.items()},
    }
    if target.user:
        props["catalog.jdbc.user"] = target.user
    if target.password:
        props["catalog.jdbc.password"] = target.password
    return "".join(f"{key}={_escape(value)}\n" for key, value in sorted(props.items()))


def write(settings: PlatformSettings, path: Path, text: str) -> str:
    """Write the properties file (0600) and return its fingerprint (a changed one restarts)."""
    private_dir(path.parent, root=settings.state_dir)
    write_private_text(path, text)
    return hashlib.sha256(text.encode()).hexdigest()

"""Object-store credentials: generated, stored with 0600 permissions, never weak, and found
in one place (`resolve`) whoever asks: the local target (root), the identities (their files),
a Spark job run by hand (the spark identity's file). Kubernetes keeps root in a Secret, which
only the kubernetes target reads (`k8s.live.root_credentials`), behind the target seam.

The platform never ships a default password. On first start it generates a random key pair and
writes it to a file in the state directory that only the owner can read. Credentials a person
supplies are checked against publicly known values (the data-infrastructure guide's samples,
vendor defaults). Those values are held here only as SHA-256 digests so the literal strings never
enter the repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from platform_defs.errors import CredentialsError, IdentityError
from platform_defs.settings import PlatformSettings

# SHA-256 of secrets that are public: the guide's sample root password, MinIO's factory
# default, and the guide's console basic-auth password. Matching is on the digest only.
# (`pragma: allowlist secret`: digests of public values, which the secret scan must not flag.)
_KNOWN_SECRET_DIGESTS = frozenset(
    {
        "fdeeb9c4fa64a43ab6c8ab2e4d644a1d144707f52d71a51d582bc85e6b59b23d",  # pragma: allowlist secret
        "ad9858116e63b0c5a4d7dc7f50f034c7247e56838dae22c1832712ffde48e694",  # pragma: allowlist secret
        "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",  # pragma: allowlist secret
    }
)
# MinIO refuses root passwords shorter than this; we apply it to every backend.
MIN_SECRET_LENGTH = 8
MIN_ACCESS_KEY_LENGTH = 3
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Credentials:
    """An S3 access key pair. `repr` hides the secret so it never lands in a log."""

    access_key: str
    secret_key: str

    def __repr__(self) -> str:
        return f"Credentials(access_key={self.access_key!r}, secret_key='***')"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def is_publicly_known(secret: str) -> bool:
    """True when `secret` is a published sample or vendor default."""
    return _digest(secret) in _KNOWN_SECRET_DIGESTS


def validate(creds: Credentials, *, source: str) -> Credentials:
    """Refuse credentials an attacker could guess; `source` names where they came from."""
    fix = (
        "Remove them to let the platform generate strong ones, or set a random secret of at "
        f"least {MIN_SECRET_LENGTH} characters (e.g. `python -c 'import secrets; "
        "print(secrets.token_urlsafe(32))'`)."
    )
    if len(creds.access_key) < MIN_ACCESS_KEY_LENGTH:
        raise CredentialsError(
            f"The access key from {source} is shorter than {MIN_ACCESS_KEY_LENGTH} characters. {fix}"
        )
    if is_publicly_known(creds.secret_key) or is_publicly_known(creds.access_key):
        raise CredentialsError(
            f"The credentials from {source} are publicly known sample or default values "
            f"(for example the ones printed in the data-infrastructure guide); anyone could use "
            f"them. {fix}"
        )
    if len(creds.secret_key) < MIN_SECRET_LENGTH:
        raise CredentialsError(
            f"The secret key from {source} has {len(creds.secret_key)} characters; the store "
            f"needs at least {MIN_SECRET_LENGTH}. {fix}"
        )
    if creds.secret_key == creds.access_key:
        raise CredentialsError(
            f"The secret key from {source} equals its access key, so knowing the user name is "
            f"knowing the password. {fix}"
        )
    return creds


def generate(prefix: str = "platform") -> Credentials:
    """A fresh key pair: 20-char access key (AWS shape) and a 40-char random secret."""
    suffix = "".join(secrets.choice(_ALPHABET) for _ in range(12)).lower()
    secret = "".join(secrets.choice(_ALPHABET) for _ in range(40))
    return Credentials(access_key=f"{prefix}-{suffix}", secret_key=secret)


def write_private_bytes(path: Path, content: bytes) -> None:
    """Atomically write `content`, 0600 from its first byte (no umask window); the one place
    every secret file of the platform (credentials, Kubernetes secret inputs, keys) is written."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def write_private_text(path: Path, text: str) -> None:
    write_private_bytes(path, text.encode("utf-8"))


def write_private_json(path: Path, payload: dict[str, str]) -> None:
    write_private_text(path, json.dumps(payload, indent=2) + "\n")


def load_file(path: Path) -> Credentials:
    """Read a credentials file written by `save` (or by hand) and validate it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        creds = Credentials(access_key=str(data["access_key"]), secret_key=str(data["secret_key"]))
    except FileNotFoundError as exc:
        raise CredentialsError(
            f"Credentials file {path} does not exist. Run `make run` once to generate it, or "
            "point PLATFORM_CREDENTIALS_FILE at an existing file."
        ) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise CredentialsError(
            f"Credentials file {path} is not JSON with `access_key` and `secret_key`. Fix it or "
            "delete it to have new credentials generated (the store must then be reset)."
        ) from exc
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise CredentialsError(
            f"Credentials file {path} is readable by other users (mode {mode:o}). "
            f"Run `chmod 600 {path}`."
        )
    return validate(creds, source=str(path))


def save(path: Path, creds: Credentials) -> None:
    write_private_json(path, {"access_key": creds.access_key, "secret_key": creds.secret_key})


def load_or_generate(path: Path) -> tuple[Credentials, bool]:
    """The credentials at `path`, generating and saving them on first use. Returns (creds, new)."""
    if path.exists():
        return load_file(path), False
    creds = generate()
    save(path, creds)
    return creds, True


ROOT = "root"


def identity_file(settings: PlatformSettings, identity: str) -> Path:
    """Where a service identity's keys live (`<state>/credentials/<identity>.json`, 0600)."""
    return settings.credentials_dir / f"{identity}.json"


def resolve(
    settings: PlatformSettings, identity: str = ROOT, *, generate_missing: bool = True
) -> Credentials:
    """The key pair of `identity`, validated: root from the configured credentials source
    (PLATFORM_S3_* settings, PLATFORM_CREDENTIALS_FILE, or generated on first use unless
    `generate_missing` is off); a service identity from its file, which only provisioning
    writes (so a missing one is never generated here)."""
    if identity != ROOT:
        path = identity_file(settings, identity)
        if not path.exists():
            raise IdentityError(
                f"Service identity {identity!r} has no credentials at {path}. Materialize the "
                "`service_identities` asset (`make run`) to create it; for an external store "
                "that is not MinIO, create the identity at the store and write its keys there "
                "(0600)."
            )
        return load_file(path)
    if settings.credentials_source == "env":
        creds = Credentials(settings.s3_access_key or "", settings.s3_secret_key or "")
        return validate(creds, source="PLATFORM_S3_ACCESS_KEY/PLATFORM_S3_SECRET_KEY")
    if settings.credentials_source == "file":
        assert settings.credentials_file is not None  # enforced by load_settings
        return load_file(settings.credentials_file)
    path = settings.generated_credentials_file
    if not generate_missing and not path.exists():
        raise CredentialsError(
            f"No generated credentials at {path}: the embedded store has never been started "
            "with this state directory. Run `make run` first."
        )
    return load_or_generate(path)[0]


def fingerprint(creds: Credentials) -> str:
    """A digest that identifies a key pair without revealing it (stored next to the server)."""
    return _digest(f"{creds.access_key}\0{creds.secret_key}")[:16]

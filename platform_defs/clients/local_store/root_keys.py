"""Whose store is this? The embedded store's root keys, and the refusal of any other keys.

A store's data directory belongs to the root keys it was created with: its service identities,
its console login and every client's files were made by that root. Starting it with other keys
would make them root (weed and MinIO both take root from the command line), lock out every file
that holds the real keys, and hand the data to whoever set the variables. So configured keys
that disagree with the store's record are refused before anything is started or written.

The record is the fingerprint in `store.json` (both backends) and, for SeaweedFS, the root
identity in `s3.json`, which also holds the extra root key of a root rotation in progress.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from platform_defs import credentials as creds_mod
from platform_defs.clients.local_store import identities_file
from platform_defs.credentials import Credentials
from platform_defs.errors import CredentialsError
from platform_defs.settings import PlatformSettings


@dataclass(frozen=True)
class RootRecord:
    """What the store directory says about its root: fingerprints, and the keys if stored."""

    fingerprints: frozenset[str]
    keys: tuple[Credentials, ...]

    def accepts(self, creds: Credentials) -> bool:
        return creds_mod.fingerprint(creds) in self.fingerprints


def read_record(state_fingerprint: str | None, s3_config: Path) -> RootRecord | None:
    """The store's root as recorded, or None for a store that was never started."""
    keys = tuple(_s3_config_root_keys(s3_config))
    prints = {creds_mod.fingerprint(k) for k in keys}
    if state_fingerprint:
        prints.add(state_fingerprint)
    return RootRecord(frozenset(prints), keys) if prints else None


def _s3_config_root_keys(path: Path) -> list[Credentials]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return []
    entry = next(
        (e for e in doc.get("identities", []) if e.get("name") == identities_file.ROOT), None
    )
    return identities_file.keys_of(entry) if entry else []


def configured_source(settings: PlatformSettings) -> str:
    """Where the configured root keys come from, as the person who set them would say it."""
    if settings.credentials_source == "env":
        return "PLATFORM_CREDENTIALS_SOURCE=env (PLATFORM_S3_ACCESS_KEY/PLATFORM_S3_SECRET_KEY)"
    if settings.credentials_source == "file":
        return f"PLATFORM_CREDENTIALS_FILE={settings.credentials_file}"
    return f"the generated credentials file {settings.generated_credentials_file}"


def _file_holding(record: RootRecord, candidates: list[Path]) -> Path | None:
    for path in candidates:
        try:
            if record.accepts(creds_mod.load_file(path)):
                return path
        except (CredentialsError, OSError):
            continue
    return None


def require_root(
    settings: PlatformSettings,
    configured: Credentials,
    record: RootRecord,
    data_dir: Path,
    s3_config: Path,
) -> None:
    """Refuse `configured` unless it is one of the store's recorded root keys."""
    if record.accepts(configured):
        return
    candidates = [settings.generated_credentials_file]
    if settings.credentials_file is not None:
        candidates.append(settings.credentials_file)
    holder = _file_holding(record, candidates)
    where = f"stored in {holder}" if holder else _no_file(record, s3_config)
    root_key = f" (access key {record.keys[0].access_key!r})" if record.keys else ""
    raise CredentialsError(
        f"The configured root keys (access key {configured.access_key!r} from "
        f"{configured_source(settings)}) are not the root keys of the embedded object store at "
        f"{data_dir}: that store was created with other root keys{root_key}, {where}. Nothing "
        f"was started or changed. {_what_to_do(settings, holder)} To start over with the "
        "configured keys instead, run `make reset`, which deletes the store's data, the Iceberg "
        "catalog and the generated credentials."
    )


def _no_file(record: RootRecord, s3_config: Path) -> str:
    if record.keys:
        return (
            f"which no credentials file holds any more; the store's own identities file "
            f"{s3_config} still has them"
        )
    return "which no credentials file the platform knows of holds"


def _what_to_do(settings: PlatformSettings, holder: Path | None) -> str:
    generated = settings.generated_credentials_file
    if settings.credentials_source == "env":
        if holder == generated:
            return (
                "To use the store, unset PLATFORM_CREDENTIALS_SOURCE, PLATFORM_S3_ACCESS_KEY and "
                f"PLATFORM_S3_SECRET_KEY (environment and .env) so the platform reads {generated}, "
                "or set the two keys to the ones in that file."
            )
        return (
            "To use the store, set PLATFORM_S3_ACCESS_KEY and PLATFORM_S3_SECRET_KEY to its root "
            "keys."
        )
    if settings.credentials_source == "file":
        if holder == generated:
            return (
                "To use the store, unset PLATFORM_CREDENTIALS_SOURCE and PLATFORM_CREDENTIALS_FILE "
                f"(environment and .env) so the platform reads {generated}, or point "
                "PLATFORM_CREDENTIALS_FILE at that file."
            )
        return "To use the store, point PLATFORM_CREDENTIALS_FILE at a file with its root keys."
    return (
        f"To use the store, put its root keys back into {generated} (from a backup of the "
        "credentials directory)."
    )


def refuse_missing_generated_file(
    settings: PlatformSettings, record: RootRecord, data_dir: Path, s3_config: Path
) -> CredentialsError:
    """The error for a store whose generated root file was deleted: generating a new one would
    be the same takeover as configuring other keys."""
    kept = f"; its identities file {s3_config} still holds them" if record.keys else ""
    return CredentialsError(
        f"The generated root credentials file {settings.generated_credentials_file} "
        f"is missing, but the embedded object store at {data_dir} exists and was created with "
        "root keys"
        f"{kept}. Nothing was started or changed. Put the file back from a backup of the "
        "credentials directory, or run `make reset` to start over, which deletes the store's "
        "data, the Iceberg catalog and the generated credentials."
    )

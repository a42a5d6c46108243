"""SeaweedFS's identities file (`-s3.config`): root plus the platform's service identities.

Verified against weed 4.48: the S3 gateway re-reads this file on SIGHUP without dropping
connections, so identities are added and revoked on a running store. Service identities are
kept in their own file (`service-identities.json`, 0600) and merged with root's identity every
time `s3.json` is written, so a restart of the store never forgets them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from platform_defs.credentials import Credentials, write_private_json

ROOT_ACTIONS = ["Admin", "Read", "Write", "List", "Tagging"]
ROOT = "root"
Identity = dict[str, Any]


def identity(name: str, keys: list[Credentials], actions: list[str]) -> Identity:
    return {
        "name": name,
        "credentials": [{"accessKey": c.access_key, "secretKey": c.secret_key} for c in keys],
        "actions": list(actions),
    }


def keys_of(entry: Identity) -> list[Credentials]:
    return [Credentials(c["accessKey"], c["secretKey"]) for c in entry.get("credentials", [])]


def with_key(
    entries: list[Identity], name: str, creds: Credentials, actions: list[str]
) -> list[Identity]:
    """`entries` where identity `name` also accepts `creds` and has exactly `actions`."""
    current = next((e for e in entries if e["name"] == name), None)
    keys = [k for k in keys_of(current) if k.access_key != creds.access_key] if current else []
    others = [e for e in entries if e["name"] != name]
    return [*others, identity(name, [*keys, creds], actions)]


def without_key(entries: list[Identity], name: str, access_key: str) -> list[Identity]:
    """`entries` where identity `name` no longer accepts `access_key`.

    The identity itself stays (with its remaining keys, possibly none): weed 4.48 keeps an
    identity that disappears from the file until it restarts, but it does drop a key removed
    from an identity that is still listed (both checked by experiment).
    """
    out = []
    for entry in entries:
        if entry["name"] == name:
            keys = [k for k in keys_of(entry) if k.access_key != access_key]
            entry = identity(name, keys, entry.get("actions", []))
        out.append(entry)
    return out


def read_service_identities(path: Path) -> list[Identity]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    return list(data.get("identities", []))


def write_service_identities(path: Path, entries: list[Identity]) -> None:
    write_private_json(path, {"identities": entries})  # type: ignore[dict-item]


def compose(root: Credentials, service: list[Identity]) -> dict[str, Any]:
    """The whole `-s3.config` document. Root's identity holds the key in the root credentials
    file plus, during a root rotation, the keys of the service entry named "root"."""
    extra = next((keys_of(e) for e in service if e["name"] == ROOT), [])
    root_keys = [root, *(k for k in extra if k.access_key != root.access_key)]
    out = [identity(ROOT, root_keys, ROOT_ACTIONS)]
    out += [e for e in service if e["name"] != ROOT]
    return {"identities": out}


def write_s3_config(path: Path, root: Credentials, service: list[Identity]) -> None:
    write_private_json(path, compose(root, service))

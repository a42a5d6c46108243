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
Identity = dict[str, Any]


def identity(name: str, creds: Credentials, actions: list[str]) -> Identity:
    return {
        "name": name,
        "credentials": [{"accessKey": creds.access_key, "secretKey": creds.secret_key}],
        "actions": list(actions),
    }


def access_key_of(entry: Identity) -> str:
    return str(entry["credentials"][0]["accessKey"])


def read_service_identities(path: Path) -> list[Identity]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    return list(data.get("identities", []))


def write_service_identities(path: Path, entries: list[Identity]) -> None:
    write_private_json(path, {"identities": entries})  # type: ignore[dict-item]


def compose(root: Credentials, service: list[Identity]) -> dict[str, Any]:
    """The whole `-s3.config` document: root first, then each service key once."""
    seen = {root.access_key}
    out = [identity("root", root, ROOT_ACTIONS)]
    for entry in service:
        key = access_key_of(entry)
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return {"identities": out}


def write_s3_config(path: Path, root: Credentials, service: list[Identity]) -> None:
    write_private_json(path, compose(root, service))

"""The `security.toml` that closes `weed mini`'s internal listeners, and the one check that
uses them.

Besides S3 and the console, `weed mini` runs a master, a volume server and a filer, each with an
HTTP and a gRPC listener on 127.0.0.1 that every local user can reach. Measured on weed 4.48
without this file: the filer lists, reads, writes and recursively deletes (every version) any
bucket; the master hands out volume write tokens and deletes a bucket's whole collection; the
volume server returns any object's bytes by file id; filer gRPC does all the filer can. So:

- `-disableHttp` (a `weed mini` flag, set in `backends.py`) removes the filer's and master's
  HTTP APIs;
- HTTPS with client certificates on the master's, volume server's and filer's HTTP listeners:
  weed 4.48 serves status pages there whatever else is configured (bucket names, sizes, the
  data path); the S3 gateway dials the volume server with the store's certificate;
- mutual TLS on every gRPC listener, with a CA of this store's own;
- JWT keys: the volume server refuses reads and writes not signed by the master
  (`jwt.signing`, `jwt.signing.read`); the filer's keys guard its HTTP API should it ever be
  enabled again. The S3 gateway inside `weed mini` reads this file and signs its requests;
- the console login (`[admin]`), so it is no command-line option: `weed mini` copies every
  option it was given into `data/mini.options`, a 0644 file.

weed finds the file through `weed -config_dir=<dir>`, searched before `.`, `~/.seaweedfs`,
`/usr/local/etc/seaweedfs` and `/etc/seaweedfs`. Everything here is 0600 in a 0700 directory.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from platform_defs import credentials
from platform_defs.clients.local_store.ports import GRPC_OFFSET
from platform_defs.credentials import Credentials, write_private_json, write_private_text
from platform_defs.local_tls import MutualTlsFiles, ensure_mutual_tls
from platform_defs.private import private_dir

JWT_KEYS = ("signing", "signing.read", "filer_signing", "filer_signing.read")
# weed's defaults: volume-server tokens live 10 s, filer read tokens 60 s.
_EXPIRES = {"signing": 10, "signing.read": 10, "filer_signing": 10, "filer_signing.read": 60}
GRPC_SECTIONS = (
    "master",
    "volume",
    "filer",
    "s3",
    "admin",
    "worker",
    "msg_broker",
    "msg_agent",
    "mq",
    "client",
)
HTTPS_SERVERS = ("master", "volume", "filer")
_HEX_KEY = re.compile(r"^[0-9a-f]{64}$")
_VOLUME_LIST = "/master_pb.Seaweed/VolumeList"


@dataclass(frozen=True)
class WeedSecurity:
    config_dir: Path  # what `weed -config_dir=` gets
    tls: MutualTlsFiles


def ensure(store_root: Path, console: Credentials) -> WeedSecurity:
    """Write `security.toml` for this start. JWT keys are generated once and kept (tokens a
    client holds stay valid across a restart); the gRPC certificate is kept while current."""
    directory = private_dir(store_root / "security", root=store_root)
    keys = _jwt_keys(directory / "jwt-keys.json")
    tls = ensure_mutual_tls(directory)
    write_private_text(directory / "security.toml", render(keys, console, tls))
    return WeedSecurity(directory, tls)


def _jwt_keys(path: Path) -> dict[str, str]:
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        kept = {}
    if isinstance(kept, dict) and all(_HEX_KEY.match(str(kept.get(k, ""))) for k in JWT_KEYS):
        return {k: str(kept[k]) for k in JWT_KEYS}
    keys = {k: secrets.token_hex(32) for k in JWT_KEYS}
    write_private_json(path, keys)
    return keys


def _toml(value: str) -> str:
    """A TOML basic string (JSON's escapes are a subset of TOML's)."""
    return json.dumps(value)


def render(keys: dict[str, str], console: Credentials, tls: MutualTlsFiles) -> str:
    pair = [f"cert = {_toml(str(tls.cert))}", f"key = {_toml(str(tls.key))}"]
    ca = f"ca = {_toml(str(tls.ca_cert))}"
    lines = [
        "# Written by the platform at every start of the embedded store",
        "# (platform_defs/clients/local_store/weed_security.py): edits are overwritten.",
    ]
    for name in JWT_KEYS:
        lines += [f"[jwt.{name}]", f"key = {_toml(keys[name])}"]
        lines += [f"expires_after_seconds = {_EXPIRES[name]}"]
    lines += ["[access]", "ui = false"]  # the volume server's status UI
    lines += ["[filer.expose_directory_metadata]", "enabled = false"]
    lines += ["[admin]", f"user = {_toml(console.access_key)}"]
    lines += [f"password = {_toml(console.secret_key)}"]
    lines += ["[grpc]", ca]
    for section in GRPC_SECTIONS:
        lines += [f"[grpc.{section}]", *pair]
    # HTTPS with client certificates (a `ca`) on the internal HTTP listeners: what weed keeps
    # serving on them whatever its other settings (status pages) then needs a certificate.
    for section in HTTPS_SERVERS:
        lines += [f"[https.{section}]", *pair, ca]
    lines += ["[https.client]", "enabled = true", *pair, ca]  # S3 gateway -> volume server
    return "\n".join(lines) + "\n"


def console_credentials(path: Path) -> Credentials:
    """The console's own login (0600), generated once: never root's S3 keys, so the page that
    shows the whole cluster does not share a password with the store's root."""
    if path.exists():
        return credentials.load_file(path)
    login = credentials.generate("console")
    credentials.save(path, login)
    return login


# Options of `weed mini` that carry a login; weed copies whatever options it was given into
# data/mini.options and applies that file's values at the next start.
_SECRET_OPTIONS = ("admin.user", "admin.password", "admin.readOnlyUser", "admin.readOnlyPassword")


def remove_secret_copies(store_root: Path, data_dir: Path) -> None:
    """Remove what an older platform left: `weed.options` (the console login as options,
    root's keys) and the lines of `data/mini.options` that repeat it, which weed would apply
    again and which it had written 0644. The file's other lines (ports, the volume size it
    computed once) are kept; rewritten 0600, and weed keeps an existing file's mode."""
    (store_root / "weed.options").unlink(missing_ok=True)
    options = data_dir / "mini.options"
    try:
        lines = options.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return
    kept = [
        ln
        for ln in lines
        if ln.split("=", 1)[0].strip().lstrip("-") not in (*_SECRET_OPTIONS, "options")
    ]
    write_private_text(options, "\n".join(kept) + "\n")


def volume_server_registered(
    tls: MutualTlsFiles, master_port: int, volume_port: int, timeout: float
) -> bool:
    """True once the master's topology lists our volume server, asked over mutual-TLS gRPC
    (the master's HTTP API is off). Until then S3 answers /healthz but reads of existing
    objects fail for a few seconds after a restart."""
    import grpc

    try:
        pem = [tls.ca_cert.read_bytes(), tls.key.read_bytes(), tls.cert.read_bytes()]
    except OSError:  # not a store this platform locked (or its files were removed)
        return False
    creds = grpc.ssl_channel_credentials(*pem)
    options = [("grpc.ssl_target_name_override", "localhost")]
    target = f"127.0.0.1:{master_port + GRPC_OFFSET}"
    with grpc.secure_channel(target, creds, options=options) as channel:
        call = channel.unary_unary(
            _VOLUME_LIST, request_serializer=lambda b: b, response_deserializer=lambda b: b
        )
        try:
            topology = call(b"", timeout=timeout)  # VolumeListRequest{} -> raw protobuf bytes
        except grpc.RpcError:
            return False
    # The data node's id is a plain string field in the response: no proto classes needed.
    return f"127.0.0.1:{volume_port}".encode() in bytes(topology)

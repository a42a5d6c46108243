"""Lifecycle of the local Iceberg REST catalog server: start, find, reuse, restart, stop.

Like the embedded object store, the server is a detached process (its own session) that outlives
the run that started it; `server.json` records its pid, java binary and the fingerprint of the
configuration it was started with. A live, healthy server with the same configuration is reused;
a dead one, one on another port, or one whose keys or tokens changed is restarted. A pid is
trusted only while its command line is still the java we launched, so a reused pid is never
signalled. It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from platform_defs import detached
from platform_defs.clients.local_store.ports import free_within
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import RestCatalogError
from platform_defs.private import private_dir
from platform_defs.rest_catalog import build, config
from platform_defs.settings import PlatformSettings
from platform_defs.spark.conf import CHECKSUM_ENV
from platform_defs.spark.tls import TRUSTSTORE_PASSWORD, truststore_for

START_TIMEOUT_SECONDS = 60.0
_HEAP = "-Xmx384m"  # one catalog, small JSON documents; the machine is shared


@dataclass
class ServerState:
    pid: int
    java: str
    port: int
    config_fingerprint: str
    started_at: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class EnsureResult:
    state: ServerState
    action: str  # "reused", "started", "restarted"
    seconds: float


class RestCatalogServer(detached.DetachedServer[ServerState]):
    state_type = ServerState

    def __init__(self, settings: PlatformSettings) -> None:
        self.settings = settings
        self.state_dir = settings.state_dir
        self.root = settings.rest_catalog_dir
        self.state_file = self.root / "server.json"
        self.config_file = self.root / "server.properties"
        self.log_file = self.root / "logs" / "server.log"

    # ---- inspection ----------------------------------------------------------------------
    def is_alive(self, state: ServerState) -> bool:
        cmdline = detached.live_cmdline(state.pid)
        if cmdline is None:
            return False
        return cmdline[0].decode(errors="replace") == state.java and build.MAIN_CLASS.encode() in (
            cmdline
        )

    def is_healthy(self, state: ServerState, timeout: float = 2.0) -> bool:
        """The catalog answers an authenticated config request (so its database is loaded)."""
        token = config.read_token(self.settings, config.READ_ONLY)
        try:
            resp = requests.get(
                f"{state.url}/v1/config",
                headers={"Authorization": f"Bearer {token}"},
                timeout=timeout,
            )
        except requests.RequestException:
            return False
        return resp.status_code == 200

    # ---- lifecycle -----------------------------------------------------------------------
    def ensure_running(self, store: StoreEndpoint) -> EnsureResult:
        """Reuse a healthy server with this configuration, else (re)start one.

        `store` is the object store as the server's writer identity (spark) sees it.
        """
        t0 = time.monotonic()
        with self._lock():
            tokens = config.ensure_tokens(self.settings)
            text = config.render(self.settings, store, tokens)
            written = config.write(self.settings, self.config_file, text)
            fingerprint = hashlib.sha256((written + build.code_fingerprint()).encode()).hexdigest()
            state, action = self._reuse_or_start(
                lambda live: (
                    live.port == self.settings.rest_catalog_port
                    and live.config_fingerprint == fingerprint
                ),
                lambda previous: self._start(store, fingerprint, grace=5.0 if previous else 0.0),
            )
        return EnsureResult(state, action, time.monotonic() - t0)

    def _start(self, store: StoreEndpoint, fingerprint: str, grace: float) -> ServerState:
        port = self.settings.rest_catalog_port
        if not free_within(port, grace):
            raise RestCatalogError(
                f"Port {port} on 127.0.0.1 is already in use by another program, so the Iceberg "
                f"REST catalog cannot listen there. Stop that program (`ss -ltnp 'sport = :{port}'`"
                " shows it) or choose another port with PLATFORM_REST_CATALOG_PORT=<free port>."
            )
        jar_paths = build.classpath(self.settings)
        classes = build.compiled_classes(self.settings, jar_paths)
        java = build.java_binary()
        argv = [str(java), _HEAP, *self._tls_options(store, java)]
        argv += ["-cp", ":".join([str(classes), *map(str, jar_paths)]), build.MAIN_CLASS]
        env = {**os.environ, **CHECKSUM_ENV, "LAKEHOUSE_REST_CONFIG": str(self.config_file)}
        private_dir(self.log_file.parent, root=self.settings.state_dir)
        try:
            proc = detached.spawn(argv, self.log_file, self.root, env)
        except OSError as exc:
            raise RestCatalogError(f"Could not execute {argv[0]}: {exc}") from exc
        state = ServerState(proc.pid, argv[0], port, fingerprint, time.time())
        self._wait_started(proc, state)
        self._write_state(state)
        return state

    def _tls_options(self, store: StoreEndpoint, java: Path) -> list[str]:
        if store.ca_bundle is None:
            return []
        java_home = java.resolve().parent.parent
        trust = truststore_for(store.ca_bundle, self.settings.namespace_dir / "tls", java_home)
        return [
            f"-Djavax.net.ssl.trustStore={trust}",
            "-Djavax.net.ssl.trustStoreType=PKCS12",
            f"-Djavax.net.ssl.trustStorePassword={TRUSTSTORE_PASSWORD}",
        ]

    def _wait_started(self, proc: subprocess.Popen[bytes], state: ServerState) -> None:
        detached.wait_started(
            proc,
            lambda: self.is_healthy(state, timeout=1.0),
            START_TIMEOUT_SECONDS,
            exited=lambda code: RestCatalogError(
                f"The REST catalog server exited with code {code} while starting."
                f" Last lines of {self.log_file}:\n{self.log_tail()}"
            ),
            timed_out=lambda: RestCatalogError(
                f"The REST catalog server did not answer within {START_TIMEOUT_SECONDS:.0f} s. "
                f"Last lines of {self.log_file}:\n{self.log_tail()}"
            ),
            interval=0.2,
        )

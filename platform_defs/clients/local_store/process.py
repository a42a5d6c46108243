"""Lifecycle of the embedded S3 server: start, find, reuse, restart, stop.

The server is a detached process (its own session) so it survives the Dagster run that started
it; the next run finds it through `store.json` in the state directory. A pid in that file is
trusted only if the process is alive *and* its command line is the one we launched, so a stale
file whose pid was reused by another program is recognised and replaced. Starts are serialised by
an exclusive lock on the store directory, so two runs never start two servers on one data dir.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from platform_defs import credentials as creds_mod
from platform_defs import detached
from platform_defs.clients.local_store import (
    backends,
    identities_file,
    ports,
    root_keys,
    weed_security,
)
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import IdentityError, StoreStartError
from platform_defs.local_tls import TlsFiles, ensure_store_tls, mutual_tls_files
from platform_defs.private import private_dir, private_tree
from platform_defs.settings import PlatformSettings


@dataclass
class StoreState:
    """What `store.json` records about the running server."""

    pid: int
    backend: str
    binary: str
    version: str
    s3_port: int
    console_port: int
    internal_ports: list[int]
    credentials_fingerprint: str
    started_at: float
    console_url: str | None
    health_path: str
    scheme: str = "http"  # "https" with PLATFORM_STORE_TLS
    ca_bundle: str | None = None  # the CA clients must trust when scheme is https
    internal_auth: bool = False  # SeaweedFS started with security.toml (older servers were not)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.s3_port}"


@dataclass(frozen=True)
class EnsureResult:
    endpoint: StoreEndpoint
    state: StoreState
    action: str  # "reused", "started", "restarted"
    seconds: float


class LocalStore(detached.DetachedServer[StoreState]):
    state_type = StoreState

    def __init__(self, settings: PlatformSettings) -> None:
        self.settings = settings
        self.state_dir = settings.state_dir
        self.root = settings.store_dir
        self.data_dir = self.root / "data"
        self.log_file = self.root / "logs" / "server.log"
        self.state_file = self.root / "store.json"
        self.s3_config_file = self.root / "s3.json"
        self.service_identities_file = self.root / "service-identities.json"
        self.security_dir = self.root / "security"
        self.console_credentials_file = settings.credentials_dir / "console.json"

    # ---- inspection -------------------------------------------------------------------
    def is_alive(self, state: StoreState) -> bool:
        """Alive and really ours: a reused pid running something else does not count."""
        cmdline = detached.live_cmdline(state.pid)
        if cmdline is None:
            return False
        return bool(cmdline) and cmdline[0].decode(errors="replace") == state.binary

    def is_healthy(self, state: StoreState, timeout: float = 2.0) -> bool:
        """Ready to serve existing data, not merely listening.

        SeaweedFS's S3 gateway answers /healthz before the volume server has re-registered
        with the master after a restart; reads then fail for a few seconds with InternalError.
        So for SeaweedFS the master's topology must also list the volume server.
        """
        try:
            verify: str | bool = state.ca_bundle or True
            resp = requests.get(state.url + state.health_path, timeout=timeout, verify=verify)
            if resp.status_code != 200:
                return False
        except requests.RequestException:
            return False
        if state.backend == "seaweedfs":
            master, volume, _filer = state.internal_ports
            tls = mutual_tls_files(self.security_dir)
            return weed_security.volume_server_registered(tls, master, volume, timeout)
        return True

    def endpoint(self, state: StoreState) -> StoreEndpoint:
        public = {
            "url": state.url,
            "region": self.settings.s3_region,
            "ca_bundle": state.ca_bundle,
            "console_url": state.console_url,
            "backend": state.backend,
        }
        keys = creds_mod.resolve(self.settings, generate_missing=False)
        return StoreEndpoint.from_public(public, keys)

    # ---- lifecycle --------------------------------------------------------------------
    def ensure_running(self, adopt_root: bool = False) -> EnsureResult:
        """Reuse a healthy server, restart a dead or mis-configured one, or start one.

        Configured root keys that are not the store's recorded root are refused before anything
        is started or written (see `root_keys`); only a root rotation passes `adopt_root`, for a
        backend that takes a new root by restarting (MinIO).
        """
        t0 = time.monotonic()
        with self._lock():
            creds = self._configured_root(self.read_state(), adopt_root)
            state, action = self._reuse_or_start(
                lambda live: self._matches(live, creds),
                lambda previous: self._start(creds, previous=previous),
            )
        return EnsureResult(self.endpoint(state), state, action, time.monotonic() - t0)

    def require_configured_root(self) -> None:
        """Refuse configured keys that are not this store's root, before anything starts (the
        preflight asks, so the refusal comes before any asset runs)."""
        self._configured_root(self.read_state(), adopt_root=False)

    def _configured_root(self, state: StoreState | None, adopt_root: bool) -> creds_mod.Credentials:
        """The configured root keys, once they are known to be this store's root."""
        record = root_keys.read_record(
            state.credentials_fingerprint if state else None, self.s3_config_file
        )
        if record is None or adopt_root:
            return creds_mod.resolve(self.settings)
        generated = self.settings.generated_credentials_file
        if self.settings.credentials_source == "generated" and not generated.exists():
            raise root_keys.refuse_missing_generated_file(
                self.settings, record, self.data_dir, self.s3_config_file
            )
        creds = creds_mod.resolve(self.settings, generate_missing=False)
        root_keys.require_root(self.settings, creds, record, self.data_dir, self.s3_config_file)
        if state and state.credentials_fingerprint != creds_mod.fingerprint(creds):
            # another recorded root key (a root rotation between publish and revoke): the
            # running server already accepts it, so remember it instead of restarting
            state.credentials_fingerprint = creds_mod.fingerprint(creds)
            self._write_state(state)
        return creds

    def _matches(self, state: StoreState, creds: creds_mod.Credentials) -> bool:
        return (
            state.s3_port == self.settings.s3_port
            and state.console_port == self.settings.console_port
            and state.credentials_fingerprint == creds_mod.fingerprint(creds)
            and state.scheme == self._scheme
            and (state.internal_auth or state.backend != "seaweedfs")
        )

    @property
    def _scheme(self) -> str:
        return "https" if self.settings.store_tls else "http"

    def _start(self, creds: creds_mod.Credentials, previous: StoreState | None) -> StoreState:
        s = self.settings
        # A server we just stopped may take a moment to release its sockets.
        grace = 5.0 if previous else 0.0
        ports.require_free(s.s3_port, "PLATFORM_S3_PORT", wait=grace)
        ports.require_free(s.console_port, "PLATFORM_CONSOLE_PORT", wait=grace)
        backend, binary = backends.find_binary(s.store_backend)
        if backend == "seaweedfs":  # SeaweedFS also listens on each port + 10000 (gRPC)
            ports.require_grpc_pair(s.s3_port, "PLATFORM_S3_PORT", wait=grace)
            ports.require_grpc_pair(s.console_port, "PLATFORM_CONSOLE_PORT", wait=grace)
        private_dir(self.data_dir, root=s.state_dir)
        private_dir(self.log_file.parent, root=s.state_dir)
        private_tree(self.root)  # a tree written under another umask, or by an older platform
        internal = self._internal_ports(previous)
        tls = ensure_store_tls(s) if s.store_tls else None
        if backend == "seaweedfs":
            launch = self._seaweedfs_launch(binary, creds, internal, tls)
        else:
            launch = backends.minio(binary, self.data_dir, creds, s.s3_port, s.console_port, tls)
        proc = self._spawn(launch)
        state = StoreState(
            pid=proc.pid,
            backend=backend,
            binary=binary,
            version=backends.binary_version(backend, binary),
            s3_port=s.s3_port,
            console_port=s.console_port,
            internal_ports=internal,
            credentials_fingerprint=creds_mod.fingerprint(creds),
            started_at=time.time(),
            console_url=launch.console_url,
            health_path=launch.health_path,
            scheme=self._scheme,
            ca_bundle=str(tls.ca_cert) if tls else None,
            internal_auth=backend == "seaweedfs",
        )
        self._wait_started(proc, state)
        self._write_state(state)
        return state

    def _seaweedfs_launch(
        self,
        binary: str,
        creds: creds_mod.Credentials,
        internal: list[int],
        tls: TlsFiles | None,
    ) -> backends.Launch:
        """`weed mini` with its internal listeners locked and no copy of a secret outside the
        0600 credentials files (copies an older platform left are removed first)."""
        console = weed_security.console_credentials(self.console_credentials_file)
        weed_security.remove_secret_copies(self.root, self.data_dir)
        security = weed_security.ensure(self.root, console)
        return backends.seaweedfs(
            binary,
            self.data_dir,
            self.root,
            creds,
            self.settings.s3_port,
            self.settings.console_port,
            internal,
            security.config_dir,
            service_identities=identities_file.read_service_identities(
                self.service_identities_file
            ),
            tls=tls,
        )

    # ---- identities (SeaweedFS: identities file + SIGHUP) -------------------------------
    def update_identities(
        self, change: Callable[[list[identities_file.Identity]], list[identities_file.Identity]]
    ) -> None:
        """Apply `change` to the service identities and make the running server re-read them.

        Root's identity is rebuilt from the current root credentials file each time, so a root
        rotation is `add the next root as a service identity, switch root.json, update again`.
        """
        with self._lock():
            state = self.read_state()
            if state is None or not self.is_alive(state) or state.backend != "seaweedfs":
                raise IdentityError(
                    "The embedded SeaweedFS store is not running, so its identities cannot be "
                    "changed. Materialize `object_store` (`make run`) first."
                )
            current = identities_file.read_service_identities(self.service_identities_file)
            updated = change(current)
            identities_file.write_service_identities(self.service_identities_file, updated)
            root = creds_mod.resolve(self.settings, generate_missing=False)
            identities_file.write_s3_config(self.s3_config_file, root, updated)
            os.kill(state.pid, signal.SIGHUP)  # weed re-reads -s3.config on SIGHUP
            if state.credentials_fingerprint != creds_mod.fingerprint(root):
                # root was rotated in place: remember it so the next run reuses this server
                state.credentials_fingerprint = creds_mod.fingerprint(root)
                self._write_state(state)

    def _internal_ports(self, previous: StoreState | None) -> list[int]:
        """Reuse the previous run's internal ports when still free, so logs and URLs stay put."""
        avoid = {self.settings.s3_port, self.settings.console_port}
        if previous and len(previous.internal_ports) == 3:
            pairs = [p for q in previous.internal_ports for p in (q, q + ports.GRPC_OFFSET)]
            if not avoid & set(pairs) and all(ports.is_free(p) for p in pairs):
                return previous.internal_ports
        avoid |= {p + ports.GRPC_OFFSET for p in avoid}
        return ports.pick_free_pairs(3, avoid)

    def _spawn(self, launch: backends.Launch) -> subprocess.Popen[bytes]:
        try:  # its volumes, indexes and sockets are the owner's only (umask 077)
            return detached.spawn(
                launch.argv, self.log_file, self.root, {**os.environ, **launch.env}
            )
        except OSError as exc:
            raise StoreStartError(f"Could not execute {launch.argv[0]}: {exc}") from exc

    def _wait_started(self, proc: subprocess.Popen[bytes], state: StoreState) -> None:
        seconds = self.settings.store_start_timeout_seconds
        detached.wait_started(
            proc,
            lambda: self.is_healthy(state, timeout=1.0),
            seconds,
            exited=lambda code: StoreStartError(
                f"The {state.backend} server exited with code {code} while "
                f"starting. Last lines of {self.log_file}:\n{self.log_tail()}"
            ),
            timed_out=lambda: StoreStartError(
                f"The {state.backend} server did not become healthy within {seconds:.0f} s "
                f"(PLATFORM_STORE_START_TIMEOUT_SECONDS). "
                f"Last lines of {self.log_file}:\n{self.log_tail()}"
            ),
        )

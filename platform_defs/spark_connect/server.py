"""Lifecycle of the local Spark Connect server: start, find, reuse, restart, stop.

Every Spark step used to pay a JVM start (tens of seconds on a loaded machine). The server is one
long-lived Spark driver, run like the REST catalog: a detached process (its own session) that
outlives the run that started it, recorded in `server.json` with its pid and the fingerprint of
the configuration it was started with. A live, healthy server with the same configuration is
reused; a dead one, one on another port, or one whose keys changed is restarted; `make down`
stops it. A pid is trusted only while its command line still names our main class and our
properties file, so a reused pid is never signalled.

It is started with `spark-submit --class SparkConnectServer` from the pyspark wheel (the connect
jar ships in it) and the same Spark configuration the in-process sessions get
(`platform_defs.spark.session.prepare`). Everything secret (the spark identity's S3 keys, the
catalog database password, the client token) goes into one properties file of mode 0600 passed
with `--properties-file`: `ps` shows a command line to every user, a 0600 file only to us. The
gRPC listener binds 127.0.0.1 and refuses clients without the token
(`spark.connect.authenticate.token`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from platform_defs import detached
from platform_defs.clients.local_store.ports import free_within
from platform_defs.credentials import write_private_text
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import SparkConnectError
from platform_defs.private import private_dir
from platform_defs.settings import PlatformSettings
from platform_defs.spark import jars
from platform_defs.spark.conf import build_spark_setup

MAIN_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
PORT_SETTING = "PLATFORM_SPARK_CONNECT_PORT"
START_TIMEOUT_SECONDS = 180.0  # a JVM with Spark and Iceberg on a loaded 2-core machine
# What pyspark's client side puts in os.environ; never handed to the server's JVM.
CLIENT_ENV = (
    "SPARK_CONNECT_MODE_ENABLED",
    "SPARK_REMOTE",
    "SPARK_LOCAL_REMOTE",
    "SPARK_API_MODE",
    "SPARK_CONNECT_AUTHENTICATE_TOKEN",
)
# Secrets a Spark job process holds in its environment (assets/spark_jobs/context.py): the
# server reads its keys from the properties file, so they are not passed on.
_SECRET_ENV = ("PLATFORM_S3_ACCESS_KEY", "PLATFORM_S3_SECRET_KEY", "PLATFORM_CATALOG_URI")


@dataclass
class ServerState:
    pid: int
    port: int
    config_fingerprint: str
    started_at: float

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass(frozen=True)
class EnsureResult:
    state: ServerState
    action: str  # "reused", "started", "restarted"
    seconds: float


def spark_home() -> Path:
    """The pyspark wheel is a Spark distribution: bin/spark-submit, jars/ (connect included)."""
    import pyspark

    return Path(pyspark.__file__).parent


def _escape(value: str) -> str:
    """Java properties escaping for a value (our keys are plain)."""
    out = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    return "\\ " + out[1:] if out.startswith(" ") else out


def render(conf: dict[str, str]) -> str:
    return "".join(f"{key}={_escape(value)}\n" for key, value in sorted(conf.items()))


class SparkConnectServer(detached.DetachedServer[ServerState]):
    state_type = ServerState
    probe_timeout = 2.0  # a JVM busy with a query answers AnalyzePlan late

    def __init__(self, settings: PlatformSettings) -> None:
        self.settings = settings
        self.state_dir = settings.state_dir
        self.root = settings.spark_connect_dir
        self.state_file = self.root / "server.json"
        self.properties_file = self.root / "server.properties"
        self.token_file = self.root / "token"
        self.log_file = self.root / "logs" / "server.log"

    # ---- inspection ----------------------------------------------------------------------
    def is_alive(self, state: ServerState) -> bool:
        cmdline = detached.live_cmdline(state.pid)
        if cmdline is None:
            return False
        return MAIN_CLASS.encode() in cmdline and str(self.properties_file).encode() in cmdline

    def token(self) -> str:
        """The clients' bearer token, or an error saying how to get one."""
        try:
            return self.token_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise SparkConnectError(
                f"No Spark Connect token at {self.token_file}: the Spark Connect server has not "
                "been started on this state directory. Run `make run` (its Spark steps start it "
                "unless PLATFORM_SPARK_MODE=session) or any Spark step."
            ) from None

    def url(self, state: ServerState | None = None) -> str:
        """The connection string clients use (it holds the token: do not print it)."""
        port = state.port if state else self.settings.spark_connect_port
        return f"sc://127.0.0.1:{port}/;token={self.token()}"

    def is_healthy(self, state: ServerState, timeout: float = 2.0) -> bool:
        return probe(state.port, self.token(), timeout) is None

    # ---- lifecycle -----------------------------------------------------------------------
    def ensure_running(self, store: StoreEndpoint) -> EnsureResult:
        """Reuse a healthy server with this configuration, else (re)start one.

        `store` is the object store as the server's writer identity (spark) sees it.
        """
        t0 = time.monotonic()
        with self._lock():
            token = self._ensure_token()
            fingerprint = self._fingerprint(store, token)
            state, action = self._reuse_or_start(
                lambda live: (
                    live.port == self.settings.spark_connect_port
                    and live.config_fingerprint == fingerprint
                ),
                lambda previous: self._start(
                    store, token, fingerprint, grace=5.0 if previous else 0.0
                ),
                healthy_within=10.0,
            )
        return EnsureResult(state, action, time.monotonic() - t0)

    def _ensure_token(self) -> str:
        """256 random bits, generated once and kept across restarts (clients keep working)."""
        private_dir(self.root, root=self.settings.state_dir)
        if not self.token_file.exists():
            write_private_text(self.token_file, secrets.token_urlsafe(32))
        return self.token()

    def _fingerprint(self, store: StoreEndpoint, token: str) -> str:
        """What a running server was started with, computed without the pre-start checks (so a
        reuse costs no jar hashing): the jars' paths stand for the lock's digests."""
        groups = ("core", "hadoop") if self.settings.catalog_type == "hadoop" else ("core",)
        cache = self.settings.resolved_jar_cache_dir
        paths = [cache / spec.filename for spec in jars.select(jars.read_lock(), groups)]
        setup = build_spark_setup(self.settings, store, paths)
        parts = {
            **setup.conf,
            **setup.secret_conf,
            "ca_bundle": str(store.ca_bundle),
            "port": str(self.settings.spark_connect_port),
            "token": token,
            "lock": jars.sha256_of(jars.LOCK_PATH),
            "spark_home": str(spark_home()),
        }
        return hashlib.sha256(render(parts).encode()).hexdigest()

    def _server_conf(
        self, store: StoreEndpoint, token: str
    ) -> tuple[dict[str, str], dict[str, str]]:
        """(properties file content, the driver's environment additions)."""
        from platform_defs.spark.session import prepare  # pyiceberg etc.: only when starting

        setup = prepare(self.settings, store)  # Java, jars, bucket, catalog: clear errors first
        conf = {
            **setup.conf,
            **setup.secret_conf,
            "spark.app.name": "lakehouse-spark-connect",
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(self.settings.spark_connect_port),
            "spark.connect.grpc.port.maxRetries": "0",  # never drift to another port silently
            "spark.connect.authenticate.token": token,
        }
        return conf, setup.env

    def _start(
        self, store: StoreEndpoint, token: str, fingerprint: str, grace: float
    ) -> ServerState:
        port = self.settings.spark_connect_port
        if not free_within(port, grace):
            raise SparkConnectError(
                f"Port {port} on 127.0.0.1 is already in use by another program, so the Spark "
                f"Connect server cannot listen there. Stop that program (`ss -ltnp 'sport = "
                f":{port}'` shows it) or choose another port with {PORT_SETTING}=<free port>."
            )
        conf, driver_env = self._server_conf(store, token)
        private_dir(self.log_file.parent, root=self.settings.state_dir)
        write_private_text(self.properties_file, render(conf))
        home = spark_home()
        argv = [
            str(home / "bin" / "spark-submit"),
            "--class",
            MAIN_CLASS,
            "--name",
            "lakehouse-spark-connect",
            "--properties-file",
            str(self.properties_file),
        ]
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in CLIENT_ENV and key not in _SECRET_ENV and not key.startswith("PYSPARK_")
        }
        env.update(driver_env)
        env["SPARK_HOME"] = str(home)  # never another Spark the user's SPARK_HOME points at
        try:
            proc = detached.spawn(argv, self.log_file, self.root, env)
        except OSError as exc:
            raise SparkConnectError(f"Could not execute {argv[0]}: {exc}") from exc
        state = ServerState(proc.pid, port, fingerprint, time.time())
        self._wait_started(proc, state, token)
        self._write_state(state)
        return state

    def _wait_started(self, proc: subprocess.Popen[bytes], state: ServerState, token: str) -> None:
        detached.wait_started(
            proc,
            lambda: probe(state.port, token, 1.0) is None,
            START_TIMEOUT_SECONDS,
            exited=lambda code: SparkConnectError(
                f"The Spark Connect server exited with code {code} while starting."
                f" Last lines of {self.log_file}:\n{self.log_tail()}"
            ),
            timed_out=lambda: SparkConnectError(
                f"The Spark Connect server did not answer within {START_TIMEOUT_SECONDS:.0f} s. "
                f"Last lines of {self.log_file}:\n{self.log_tail()}"
            ),
            interval=0.25,
        )


def probe(port: int, token: str | None, timeout: float = 2.0) -> str | None:
    """Ask the server for its Spark version over gRPC, as a client would (with `token` as the
    bearer token, or none): None when it answered, else the gRPC status it failed with.

    A raw gRPC call rather than a pyspark client session: it leaves os.environ alone and opens
    no session that would have to be released (it releases the one it made)."""
    import grpc
    from pyspark.sql.connect.proto import base_pb2, base_pb2_grpc

    metadata = [("authorization", f"Bearer {token}")] if token is not None else []
    session = str(uuid.uuid4())
    user = base_pb2.UserContext(user_id="lakehouse-health")
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = base_pb2_grpc.SparkConnectServiceStub(channel)  # type: ignore[no-untyped-call]
        try:
            stub.AnalyzePlan(
                base_pb2.AnalyzePlanRequest(
                    session_id=session,
                    user_context=user,
                    spark_version=base_pb2.AnalyzePlanRequest.SparkVersion(),
                ),
                metadata=metadata,
                timeout=timeout,
            )
        except grpc.RpcError as exc:
            return str(exc.code())
        with contextlib.suppress(grpc.RpcError):
            stub.ReleaseSession(
                base_pb2.ReleaseSessionRequest(session_id=session, user_context=user),
                metadata=metadata,
                timeout=timeout,
            )
    return None

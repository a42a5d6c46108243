"""Attach to the platform's Spark Connect server, and pick the Spark a process gets by setting.

`spark_session(settings, endpoint)` is what a Spark step uses: with PLATFORM_SPARK_MODE=session
(or on Kubernetes) a SparkSession of its own (a JVM start), with `connect` a client session on the
long-lived server, started first if it is not running.

pyspark decides "classic or Connect" from os.environ (`is_remote()` reads
SPARK_CONNECT_MODE_ENABLED; the classic builder also looks at SPARK_REMOTE and
SPARK_LOCAL_REMOTE), and a Connect client leaves those set. Left behind, they turn every later
classic session of the same process into a Connect one (CONNECT_URL_NOT_SET). So the variables are
snapshotted before the client session is made and restored only after it is stopped (pyspark's
Column and function dispatch reads them while the session lives): `remote_session` does both,
`open_remote` + `close_remote` split them for shells that keep the session open.

The client is made with the Connect builder itself and a channel builder of our own: pyspark's
default channel uses TLS whenever a token is given unless the host is spelled `localhost`, and
the server is plain gRPC bound to 127.0.0.1. Ours uses gRPC's local credentials (loopback only,
what pyspark itself does for `localhost`) and sends the token as a bearer token.

No process may hang at its exit on the client. pyspark sends ReleaseExecute from a class-wide
thread pool (joined at interpreter exit, and by every `SparkConnectClient.close`, which a
session's `__del__` calls during garbage collection) and ReleaseSession from `stop()`, with no
deadline, retrying UNAVAILABLE for up to ~10 minutes; each client also registers an atexit
handler that runs one more command on the server. So a server that stopped answering (stopped
by `make down` or a fixture, SIGSTOPped, swapping) held a finished step, a test process or a
shell at exit. Ours: every release call has a deadline (`RELEASE_TIMEOUT_SECONDS`, a gRPC
service config on the channel), retries give up after seconds (`RETRY_POLICY`: the server is on
loopback, an outage longer than that is a dead server), and a session is closed explicitly, by
`close_remote` or, for one left open (a shell's), by an atexit hook that runs before pyspark's.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

from platform_defs.endpoint import StoreEndpoint
from platform_defs.settings import PlatformSettings
from platform_defs.spark_connect.server import CLIENT_ENV, SparkConnectServer

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Per open client session: the os.environ snapshot restored when it is closed (see the module
# docstring) and the atexit hook that closes it, unregistered then.
_OPEN: dict[int, tuple[dict[str, str | None], Callable[[], None]]] = {}

RELEASE_TIMEOUT_SECONDS = 10.0  # ReleaseSession / ReleaseExecute: cheap calls on a live server
_SERVICE = "spark.connect.SparkConnectService"
SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [
                    {"service": _SERVICE, "method": method}
                    for method in ("ReleaseExecute", "ReleaseSession")
                ],
                "timeout": f"{RELEASE_TIMEOUT_SECONDS:g}s",
            }
        ]
    }
)
# pyspark's DefaultPolicy arguments (milliseconds): sleeps 0.05, 0.2, 0.8, 3.2, 4 s (+ <= 0.5 s
# jitter each from 2 s on), so a call gives up within ~10 s of the server going away.
RETRY_POLICY: dict[str, Any] = {
    "max_retries": 5,
    "initial_backoff": 50,
    "backoff_multiplier": 4.0,
    "max_backoff": 4000,
    "max_server_retry_delay": 4000,
}


def uses_connect(settings: PlatformSettings) -> bool:
    """Connect mode is a local-target feature: on Kubernetes a step keeps its own pod."""
    return settings.spark_mode == "connect" and settings.target == "local"


def _channel_builder(url: str) -> Any:
    import grpc
    from pyspark.sql.connect.client import DefaultChannelBuilder

    class LoopbackChannelBuilder(DefaultChannelBuilder):
        """`sc://127.0.0.1:PORT/;token=...` over plain loopback gRPC with the bearer token."""

        def toChannel(self) -> grpc.Channel:
            if self.use_ssl or self.token is None:
                return super().toChannel()
            creds = grpc.composite_channel_credentials(
                grpc.local_channel_credentials(grpc.LocalConnectionType.LOCAL_TCP),
                grpc.access_token_call_credentials(self.token),
            )
            return self._secure_channel(self.endpoint, creds)

    return LoopbackChannelBuilder(url, [("grpc.service_config", SERVICE_CONFIG)])


def open_remote(settings: PlatformSettings, app_name: str = "lakehouse") -> SparkSession:
    """A Connect client session on the running server; close it with `close_remote`."""
    from pyspark.sql.connect.client.retries import DefaultPolicy
    from pyspark.sql.connect.session import SparkSession as RemoteSparkSession

    server = SparkConnectServer(settings)
    url = server.url()
    saved = {key: os.environ.get(key) for key in CLIENT_ENV}
    os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"  # pyspark.sql.functions dispatch to Connect
    try:
        builder = RemoteSparkSession.builder.channelBuilder(_channel_builder(url))
        session = builder.config("spark.app.name", app_name).create()
        session.client.set_retry_policies([DefaultPolicy(**RETRY_POLICY)])
    except BaseException:
        _restore(saved)
        raise
    result = cast("SparkSession", session)  # the Connect class stands in for the classic one

    def close_at_exit() -> None:
        close_remote(result)

    _OPEN[id(session)] = (saved, close_at_exit)
    atexit.register(close_at_exit)  # after pyspark's own hook for this client: runs before it
    return result


def close_remote(session: SparkSession) -> None:
    """Stop the client session (the server keeps running), then put os.environ back.

    Bounded (see the module docstring); pyspark's atexit hook for the client is dropped with it,
    so the closed client is not kept alive until exit nor asked for one more command there."""
    try:
        session.stop()
    finally:
        client = getattr(session, "client", None)
        if client is not None and hasattr(client, "_cleanup_ml_cache"):
            atexit.unregister(client._cleanup_ml_cache)
        opened = _OPEN.pop(id(session), None)
        if opened is not None:
            saved, hook = opened
            atexit.unregister(hook)
            _restore(saved)


def _restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@contextlib.contextmanager
def remote_session(
    settings: PlatformSettings, app_name: str = "lakehouse"
) -> Iterator[SparkSession]:
    session = open_remote(settings, app_name)
    try:
        yield session
    finally:
        close_remote(session)


def ensure_server(settings: PlatformSettings, endpoint: StoreEndpoint) -> None:
    """Start the server if it is not running healthy with this configuration."""
    SparkConnectServer(settings).ensure_running(endpoint)


def open_spark(
    settings: PlatformSettings, endpoint: StoreEndpoint, app_name: str = "lakehouse"
) -> SparkSession:
    """The SparkSession the mode asks for; close it with `close_spark`. `endpoint` is the store
    as the spark identity sees it (the server is started with its keys if it is not running)."""
    if uses_connect(settings):
        ensure_server(settings, endpoint)
        return open_remote(settings, app_name)
    from platform_defs.spark.session import start_session

    return start_session(settings, endpoint, app_name=app_name)


def close_spark(session: SparkSession) -> None:
    if id(session) in _OPEN:
        close_remote(session)
    else:
        session.stop()


@contextlib.contextmanager
def spark_session(
    settings: PlatformSettings, endpoint: StoreEndpoint, app_name: str = "lakehouse"
) -> Iterator[SparkSession]:
    """`open_spark` for the life of a block (a Spark step)."""
    session = open_spark(settings, endpoint, app_name)
    try:
        yield session
    finally:
        close_spark(session)

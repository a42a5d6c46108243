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
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from platform_defs.endpoint import StoreEndpoint
from platform_defs.settings import PlatformSettings
from platform_defs.spark_connect.server import CLIENT_ENV, SparkConnectServer

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# One snapshot per open client session, restored when it is closed (see the module docstring).
_SAVED: dict[int, dict[str, str | None]] = {}


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

    return LoopbackChannelBuilder(url)


def open_remote(settings: PlatformSettings, app_name: str = "lakehouse") -> SparkSession:
    """A Connect client session on the running server; close it with `close_remote`."""
    from pyspark.sql.connect.session import SparkSession as RemoteSparkSession

    server = SparkConnectServer(settings)
    url = server.url()
    saved = {key: os.environ.get(key) for key in CLIENT_ENV}
    os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"  # pyspark.sql.functions dispatch to Connect
    try:
        builder = RemoteSparkSession.builder.channelBuilder(_channel_builder(url))
        session = builder.config("spark.app.name", app_name).create()
    except BaseException:
        _restore(saved)
        raise
    _SAVED[id(session)] = saved
    return cast("SparkSession", session)  # the Connect class stands in for the classic one


def close_remote(session: SparkSession) -> None:
    """Stop the client session (the server keeps running), then put os.environ back."""
    try:
        session.stop()
    finally:
        saved = _SAVED.pop(id(session), None)
        if saved is not None:
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
    if id(session) in _SAVED:
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

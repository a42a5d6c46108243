"""The embedded store's lifecycle on a real SeaweedFS process: start, reuse, crash, stale state."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

import pytest

from platform_defs.clients.local_store import LocalStore
from platform_defs.clients.local_store.ports import is_free
from platform_defs.clients.s3 import ObjectStore
from platform_defs.errors import StoreStartError
from platform_defs.settings import load_settings
from tests import process_guard
from tests.s3_servers import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    settings = load_settings(
        state_dir=tmp_path / "state", s3_port=free_port(), console_port=free_port()
    )
    local = LocalStore(settings)
    yield local
    local.stop()
    process_guard.stop_mentioning(tmp_path)  # a start that a timeout interrupted


def test_start_then_reuse(store: LocalStore) -> None:
    first = store.ensure_running()
    second = store.ensure_running()
    assert first.action == "started" and second.action == "reused"
    assert first.state.pid == second.state.pid
    assert first.endpoint.url == f"http://127.0.0.1:{store.settings.s3_port}"
    listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    ours = [line for line in listening.splitlines() if f"pid={first.state.pid}," in line]
    assert ours and all("127.0.0.1:" in line.split()[3] for line in ours), ours


def test_kill_9_restarts_with_data_intact(store: LocalStore) -> None:
    first = store.ensure_running()
    client = ObjectStore(first.endpoint)
    client.ensure_bucket("survivor")
    client.client.put_object("survivor", "k", io.BytesIO(b"kept"), 4)
    os.kill(first.state.pid, signal.SIGKILL)
    time.sleep(0.3)
    again = store.ensure_running()
    assert again.action == "restarted" and again.state.pid != first.state.pid
    body = ObjectStore(again.endpoint).client.get_object("survivor", "k").read()
    assert body == b"kept"


class _PausingStream:
    """An upload body that stops after `parts` parts until told to go on: the test kills the
    store while the upload is known to be half done, not after a guessed delay."""

    def __init__(self, part: int, parts: int) -> None:
        self.part, self.parts, self.sent = part, parts, 0
        self.paused, self.resume = threading.Event(), threading.Event()

    def read(self, size: int = -1) -> bytes:
        if self.sent >= self.part * self.parts:
            self.paused.set()
            self.resume.wait(timeout=120)
        chunk = os.urandom(min(size if size > 0 else self.part, self.part))
        self.sent += len(chunk)
        return chunk


def test_kill_9_during_a_multipart_upload(store: LocalStore) -> None:
    """Issue 12 (passed when attacked; kept so): the half-uploaded object never appears, the
    objects beside it survive, and the same upload succeeds after the restart."""
    first = store.ensure_running()
    client = ObjectStore(first.endpoint).client
    client.make_bucket("uploads")
    client.put_object("uploads", "before", io.BytesIO(b"kept"), 4)
    part = 5 * 1024 * 1024
    body = _PausingStream(part, parts=3)
    failure: list[BaseException] = []

    def upload() -> None:
        try:
            stream = cast(BinaryIO, body)  # read() is all the SDK calls
            client.put_object("uploads", "big", stream, -1, part_size=part, num_parallel_uploads=1)
        except BaseException as exc:  # the store dies under it
            failure.append(exc)

    uploader = threading.Thread(target=upload)
    uploader.start()
    try:
        assert body.paused.wait(timeout=120), "the upload never reached its third part"
        os.kill(first.state.pid, signal.SIGKILL)
    finally:
        body.resume.set()
        uploader.join(timeout=180)
    assert not uploader.is_alive() and failure, "the upload did not fail with the store killed"
    again = store.ensure_running()
    assert again.action == "restarted"
    after = ObjectStore(again.endpoint).client
    names = [o.object_name for o in after.list_objects("uploads")]
    assert names == ["before"], names
    assert after.get_object("uploads", "before").read() == b"kept"
    payload = os.urandom(3 * part + 17)
    after.put_object("uploads", "big", io.BytesIO(payload), len(payload), part_size=part)
    assert after.get_object("uploads", "big").read() == payload


def test_stale_pidfile_of_another_process_is_not_trusted(store: LocalStore) -> None:
    first = store.ensure_running()
    store.stop()
    impostor = subprocess.Popen(["sleep", "60"])  # a live pid that is not our server
    try:
        state = json.loads(store.state_file.read_text())
        state["pid"] = impostor.pid
        store.state_file.write_text(json.dumps(state))
        again = store.ensure_running()
        assert again.action == "restarted" and again.state.pid != impostor.pid
        assert impostor.poll() is None, "the platform must never signal a process it did not start"
        assert again.state.internal_ports == first.state.internal_ports
    finally:
        impostor.kill()


def test_busy_port_is_a_clear_error_not_a_hang(store: LocalStore) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", store.settings.s3_port))
        squatter.listen()
        t0 = time.monotonic()
        with pytest.raises(StoreStartError) as err:
            store.ensure_running()
    assert time.monotonic() - t0 < 5
    assert str(store.settings.s3_port) in str(err.value) and "PLATFORM_S3_PORT" in str(err.value)
    assert store.read_state() is None, "a failed start must leave no state behind"


def test_stop_keeps_data_and_is_idempotent(store: LocalStore) -> None:
    store.ensure_running()
    assert store.stop() is True
    assert store.stop() is False
    assert store.data_dir.exists()


def test_forced_missing_backend_is_explained(tmp_path: Path) -> None:
    settings = load_settings(
        state_dir=tmp_path, s3_port=free_port(), console_port=free_port(), store_backend="minio"
    )
    if __import__("shutil").which("minio"):
        pytest.skip("a minio binary is on PATH here, so forcing it is not an error")
    with pytest.raises(StoreStartError, match="no `minio` binary"):
        LocalStore(settings).ensure_running()


def test_no_secret_on_the_command_line(store: LocalStore) -> None:
    """`ps` shows every user each command line, so secrets must go through 0600 files."""
    result = store.ensure_running()
    cmdline = Path(f"/proc/{result.state.pid}/cmdline").read_bytes().decode()
    assert result.endpoint.credentials.secret_key not in cmdline
    security = store.security_dir / "security.toml"  # the console's login goes there
    assert security.stat().st_mode & 0o777 == 0o600
    console = store.console_credentials_file.read_text()
    assert json.loads(console)["secret_key"] in security.read_text()
    assert result.endpoint.credentials.secret_key not in security.read_text()
    assert result.endpoint.credentials.secret_key not in store.log_file.read_text()


def test_console_requires_login(store: LocalStore) -> None:
    import requests

    result = store.ensure_running()
    assert result.endpoint.console_url
    deadline = time.monotonic() + 10
    while True:
        try:
            resp = requests.get(result.endpoint.console_url + "/", allow_redirects=False, timeout=2)
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    assert resp.status_code in (302, 303, 307) and "login" in resp.headers["Location"]


def test_port_without_room_for_grpc_is_explained(tmp_path: Path) -> None:
    high = next(p for p in range(60000, 65000) if is_free(p))  # no room for its gRPC twin
    settings = load_settings(state_dir=tmp_path, s3_port=high, console_port=free_port())
    with pytest.raises(StoreStartError, match="at most 55535"):
        LocalStore(settings).ensure_running()


def test_restart_keeps_the_internal_keys_and_the_data(store: LocalStore) -> None:
    """JWT keys and the gRPC certificate are generated once: a restart (with data kept)
    reuses them, and the locked-down store still serves what it stored."""
    first = store.ensure_running()
    ObjectStore(first.endpoint).ensure_bucket("kept")
    ObjectStore(first.endpoint).client.put_object("kept", "k", io.BytesIO(b"v1"), 2)
    security = store.security_dir
    before = {n: (security / n).read_bytes() for n in ("jwt-keys.json", "grpc.pem", "grpc-ca.pem")}
    store.stop()
    again = store.ensure_running()
    assert again.action == "restarted" and again.state.internal_auth
    after = {n: (security / n).read_bytes() for n in before}
    assert after == before
    assert ObjectStore(again.endpoint).client.get_object("kept", "k").read() == b"v1"


def test_a_running_store_without_internal_auth_is_restarted(store: LocalStore) -> None:
    """A server an older platform started (open internal listeners) is not reused."""
    first = store.ensure_running()
    state = json.loads(store.state_file.read_text())
    del state["internal_auth"]  # what an older platform's store.json looks like
    store.state_file.write_text(json.dumps(state))
    again = store.ensure_running()
    assert again.action == "restarted" and again.state.pid != first.state.pid
    assert again.state.internal_auth

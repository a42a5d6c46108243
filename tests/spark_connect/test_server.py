"""The Spark Connect server's lifecycle, its access control and its secrets, against real
processes: a real S3 server, a real Spark Connect JVM, real pyspark clients."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from platform_defs import cli, detached
from platform_defs.errors import SparkConnectError
from platform_defs.spark_connect import client
from platform_defs.spark_connect.server import SparkConnectServer, probe
from tests import process_guard
from tests.s3_servers import free_port
from tests.spark_connect.conftest import Lake, settings_from, started

pytestmark = pytest.mark.slow


def _group_cmdlines(pgid: int) -> list[bytes]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) == pgid and not detached.is_zombie(int(entry.name)):
                out.append((entry / "cmdline").read_bytes())
        except OSError:
            continue
    return out


def _listening(port: int) -> list[str]:
    """Local addresses listening on `port`, from /proc/net/tcp{,6} (state 0A = LISTEN), as
    IPv4 text; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is its IPv4 address."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if fields[3] != "0A" or int(hex_port, 16) != port:
                continue
            if len(address) == 32 and address[:24] != "0000000000000000FFFF0000":
                found.append(f"ipv6:{address}")
                continue
            found.append(socket.inet_ntoa(bytes.fromhex(address[-8:])[::-1]))
    return found


def test_a_query_through_the_server_reaches_the_iceberg_catalog(lake: Lake) -> None:
    catalog = lake.settings.catalog_name
    with client.remote_session(lake.settings, app_name="test-query") as spark:
        spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {catalog}.scq")
        spark.sql(
            f"CREATE TABLE IF NOT EXISTS {catalog}.scq.t (id BIGINT, name STRING) USING iceberg"
        )
        spark.sql(f"INSERT INTO {catalog}.scq.t VALUES (1, 'a'), (2, 'b')")
        rows = spark.sql(f"SELECT count(*) AS n, max(name) AS m FROM {catalog}.scq.t").collect()
        assert (rows[0]["n"], rows[0]["m"]) == (2, "b")
        spark.sql(f"DROP TABLE {catalog}.scq.t PURGE")


def test_a_client_without_the_token_is_refused(lake: Lake) -> None:
    state = lake.server().running()
    assert state is not None
    assert probe(state.port, lake.server().token()) is None
    assert probe(state.port, None) == "StatusCode.UNAUTHENTICATED"
    assert probe(state.port, "not-the-token") == "StatusCode.UNAUTHENTICATED"
    # and through pyspark's own client, as a user would try it
    from pyspark.sql.connect.session import SparkSession as RemoteSparkSession

    saved = dict(os.environ)
    try:
        spark = RemoteSparkSession.builder.remote(f"sc://localhost:{state.port}").create()
        with pytest.raises(Exception, match=r"(?i)unauthenticated|authenticat"):
            spark.sql("SELECT 1").collect()
        spark.stop()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_it_listens_on_127_0_0_1_only(lake: Lake) -> None:
    state = lake.server().running()
    assert state is not None
    assert _listening(state.port) == ["127.0.0.1"]


def test_keys_and_token_are_in_a_0600_file_never_on_a_command_line(lake: Lake) -> None:
    server = lake.server()
    state = server.running()
    assert state is not None
    for path in (server.properties_file, server.token_file, server.state_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    props = server.properties_file.read_text()
    secret = lake.writer.credentials.secret_key
    assert lake.writer.credentials.access_key in props and secret in props
    token = server.token()
    assert token in props
    cmdlines = _group_cmdlines(state.pid)
    assert cmdlines, "the server's process group is empty"
    for cmdline in cmdlines:
        for value in (secret, lake.writer.credentials.access_key, token):
            assert value.encode() not in cmdline
    assert str(server.properties_file).encode() in b"".join(cmdlines)


def test_a_healthy_server_is_reused_a_killed_one_restarted_and_make_down_stops_it(
    lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    server = lake.server()
    first = server.running()
    assert first is not None
    again = server.ensure_running(lake.writer)
    assert (again.action, again.state.pid) == ("reused", first.pid)
    os.killpg(first.pid, signal.SIGKILL)  # the server this module started
    restarted = server.ensure_running(lake.writer)
    assert restarted.action == "restarted" and restarted.state.pid != first.pid
    started(server, lake.writer, "restarted")  # registers the new pid (reused here)
    with client.remote_session(lake.settings) as spark:
        assert spark.sql("SELECT 41 + 1 AS x").collect()[0]["x"] == 42
    assert cli.down(lake.settings) == 0  # what `make down` runs
    assert "Spark Connect server stopped." in capsys.readouterr().out
    assert server.running() is None and not _group_cmdlines(restarted.state.pid)
    assert server.stop() is False
    again = server.ensure_running(lake.writer)  # later tests of the module use it
    started(server, lake.writer, "started again")
    assert again.action == "restarted"


def test_a_server_started_by_a_step_that_ignores_sigterm_still_answers_it(lake: Lake) -> None:
    """A step of `make run &` runs with SIGINT ignored, and Dagster gives SIGTERM the same
    disposition around the run; a JVM that inherits SIGTERM ignored never installs its shutdown
    handler, so `make down` would wait out its grace and SIGKILL it."""
    server = lake.server()
    assert server.stop() is True
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in saved:
        signal.signal(s, signal.SIG_IGN)
    try:
        pid = started(server, lake.writer, "started ignoring SIGTERM")
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
    sigterm = 1 << (signal.SIGTERM - 1)
    assert process_guard.signal_set(pid, "SigIgn") & sigterm == 0
    assert process_guard.signal_set(pid, "SigCgt") & sigterm, "the JVM installed no SIGTERM handler"
    assert server.stop() is True and server.running() is None
    assert not _group_cmdlines(pid)
    started(server, lake.writer, "started again")  # later tests of the module use it


def test_a_busy_port_is_one_clear_error_naming_the_setting(lake: Lake, tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {
            **lake.env,
            "PLATFORM_STATE_DIR": str(tmp_path),
            "PLATFORM_SPARK_CONNECT_PORT": str(port),
        }
        server = SparkConnectServer(settings_from(env))
        with pytest.raises(SparkConnectError, match=f"Port {port} .*PLATFORM_SPARK_CONNECT_PORT"):
            server.ensure_running(lake.writer)
        assert server.running() is None


def test_missing_java_is_the_existing_clear_error(
    lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from platform_defs.errors import JavaError

    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java"))
    env = {
        **lake.env,
        "PLATFORM_STATE_DIR": str(tmp_path),
        "PLATFORM_SPARK_CONNECT_PORT": str(free_port()),
    }
    server = SparkConnectServer(settings_from(env))
    with pytest.raises(JavaError, match="has no executable bin/java"):
        server.ensure_running(lake.writer)
    assert server.running() is None


def test_a_classic_session_works_after_a_connect_client_and_environ_is_unchanged(
    lake: Lake,
) -> None:
    """pyspark's Connect client marks the process as Connect in os.environ; left behind, the next
    classic session fails with CONNECT_URL_NOT_SET. Run in a child so this test's classic JVM
    is its own (the suite's other tests share one)."""
    code = r"""
import os, sys
from platform_defs.spark_connect import client
from platform_defs.spark.session import start_session
from tests.spark_connect.conftest import settings_from
import json
env = json.loads(os.environ["SC_TEST_LAKE"])
settings = settings_from(env)
before = dict(os.environ)
with client.remote_session(settings, app_name="isolation") as spark:
    assert spark.sql("SELECT 1 AS x").collect()[0]["x"] == 1
    assert os.environ.get("SPARK_CONNECT_MODE_ENABLED") == "1"
assert dict(os.environ) == before, set(os.environ.items()) ^ set(before.items())
from pyspark.sql.utils import is_remote
assert not is_remote()
from platform_defs import identities
from dataclasses import replace
from tests.s3_servers import RunningServer
writer = json.loads(os.environ["SC_TEST_WRITER"])
from platform_defs.endpoint import StoreEndpoint
from platform_defs.credentials import Credentials
endpoint = StoreEndpoint(url=writer["url"], credentials=Credentials(writer["a"], writer["s"]), region="us-east-1")
classic = start_session(settings, endpoint, app_name="classic-after-connect")
from pyspark.sql import functions as F
assert classic.range(3).select(F.sum("id").alias("s")).collect()[0]["s"] == 3
assert type(classic).__module__ == "pyspark.sql.session", type(classic)
classic.stop()
print("ISOLATED-OK")
"""

    writer = {
        "url": lake.writer.url,
        "a": lake.writer.credentials.access_key,
        "s": lake.writer.credentials.secret_key,
    }
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={
            **os.environ,
            "SC_TEST_LAKE": json.dumps(lake.env),
            "SC_TEST_WRITER": json.dumps(writer),
        },
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parents[2],
    )
    assert "ISOLATED-OK" in proc.stdout, proc.stderr[-3000:]


def test_spark_steps_run_through_the_server_in_connect_mode(lake: Lake, tmp_path: Path) -> None:
    """`python -m assets.spark_jobs` as the local launcher runs it, PLATFORM_SPARK_MODE=connect:
    both steps use the module's running server (same pid), and start no JVM of their own: they
    succeed with JAVA_HOME pointing nowhere, which an in-process session refuses."""
    server = lake.server()
    before = server.running()
    assert before is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLATFORM_", "SPARK_"))}
    env.update({**lake.env, "PYTHONPATH": str(Path(__file__).parents[2])})
    env["PLATFORM_S3_ACCESS_KEY"] = lake.writer.credentials.access_key  # the spark identity,
    env["PLATFORM_S3_SECRET_KEY"] = lake.writer.credentials.secret_key  # as launch_env sets them
    env["JAVA_HOME"] = str(tmp_path / "no-java")
    for job in ("lake_inventory", "maintenance"):
        proc = subprocess.run(
            [sys.executable, "-m", "assets.spark_jobs", job],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "through Spark Connect" in proc.stderr, proc.stderr[-2000:]
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith('{"materialization"'))
        assert json.loads(line)["materialization"]
    after = server.running()
    assert after is not None and after.pid == before.pid
    with client.remote_session(lake.settings) as spark:
        rows = spark.sql(
            f"SELECT count(*) AS n FROM {lake.settings.catalog_name}.ops.lake_inventory"
        )
        assert rows.collect()[0]["n"] >= 1


def test_make_spark_sql_attaches_to_the_server(lake: Lake, tmp_path: Path) -> None:
    """`make spark-sql SQL=...` in connect mode: answered by the running server, no JVM here."""
    server = lake.server()
    before = server.running()
    assert before is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLATFORM_", "SPARK_"))}
    env.update({**lake.env, "JAVA_HOME": str(tmp_path / "no-java")})
    proc = subprocess.run(
        [sys.executable, "-m", "platform_defs.shell", "spark-sql", "-e", "SELECT 6 * 7 AS answer"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parents[2],
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "42" in proc.stdout
    after = server.running()
    assert after is not None and after.pid == before.pid


# A step's body, then (on a line from the test, once the server has stopped answering) its end:
# `closed` closes the session as `spark_session` does, `left-open` leaves it to the exit hooks.
_STEP = r"""
import json, os, sys
from platform_defs.spark_connect import client
from tests.spark_connect.conftest import settings_from
spark = client.open_remote(settings_from(json.loads(os.environ["SC_TEST_LAKE"])), "exit-test")
spark.sql("SELECT 1 AS x").collect(); spark.range(1000).count(); spark.range(10).toPandas()
open(sys.argv[2], "w").close()
sys.stdin.readline()
if sys.argv[1] == "closed":
    client.close_remote(spark)
"""
# Releasing the session (one deadline) and joining the release pool (one more), plus the
# interpreter's own exit; without the bounds the process waits for the server forever.
_EXIT_BOUND_SECONDS = 2 * client.RELEASE_TIMEOUT_SECONDS + 20.0


@pytest.mark.parametrize("ending", ["closed", "left-open"])
def test_a_process_with_a_connect_session_exits_promptly_when_the_server_stops_answering(
    lake: Lake, ending: str, tmp_path: Path
) -> None:
    """pyspark's release calls have no deadline and its atexit hook runs a command on the
    server: a step, a test process or a shell whose server was stopped or hung stayed alive.
    The server is frozen (SIGSTOP: it accepts connections and never answers) after the step's
    queries and before its end, and thawed afterwards for the module's other tests. The
    child's output goes to files (a full pipe would block it) and its "step done" is a file."""
    state = lake.server().running()
    assert state is not None
    done, log = tmp_path / "step-done", tmp_path / "child.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", _STEP, ending, str(done)],
            env={**os.environ, "SC_TEST_LAKE": json.dumps(lake.env)},
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).parents[2],
        )
    assert proc.stdin is not None
    try:
        assert detached.wait_until(lambda: done.exists() or proc.poll() is not None, 300.0)
        assert done.exists(), f"the step failed:\n{log.read_text(errors='replace')[-3000:]}"
        os.killpg(state.pid, signal.SIGSTOP)
        try:
            started_at = time.monotonic()
            proc.stdin.write(b"end\n")
            proc.stdin.close()
            try:
                proc.wait(timeout=_EXIT_BOUND_SECONDS)
            except subprocess.TimeoutExpired:
                pytest.fail(
                    f"the {ending} process was still running {_EXIT_BOUND_SECONDS:.0f} s after "
                    "its step (blocked on a call to the unanswering Spark Connect server)"
                )
            seconds = time.monotonic() - started_at
        finally:
            os.killpg(state.pid, signal.SIGCONT)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == 0, log.read_text(errors="replace")[-3000:]
    print(f"{ending}: exited {seconds:.1f} s after its step")
    assert lake.server().is_healthy(state, timeout=30.0), "the thawed server answers again"

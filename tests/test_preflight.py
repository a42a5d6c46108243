"""The bootstrap's preflight, run lock and one-line failure summary (issue 12, finding 9).

Tests run as root here, where `chmod 0500` does not stop writes. A read-only state directory is
made honestly in two ways: `chattr +i` (immutable even for root; the fixture refuses to pretend
when the file system does not support it) and a state directory below a regular file.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from platform_defs.definitions import defs
from platform_defs.errors import AlreadyRunningError
from platform_defs.run_lock import RunLock
from platform_defs.run_summary import first_line, user_message
from tests.s3_servers import free_port

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
MAKE_ERROR = re.compile(r"^make(\[\d+\])?: \*\*\* ")  # make's own failure line, any level
HOLDER = (
    "import sys; from pathlib import Path; from platform_defs.run_lock import RunLock\n"
    "lock = RunLock(Path(sys.argv[1]), 'bootstrap_platform'); lock.acquire(float(sys.argv[2]))\n"
    "print('held', flush=True); sys.stdin.read()"
)


@pytest.fixture(params=["immutable", "below-a-file"])
def unwritable_state_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    if request.param == "below-a-file":
        (tmp_path / "a-file").write_text("not a directory\n")
        yield tmp_path / "a-file" / "state"
        return
    parent = tmp_path / "immutable"
    parent.mkdir()
    chattr = subprocess.run(["chattr", "+i", str(parent)], capture_output=True, text=True)
    if chattr.returncode != 0:
        pytest.skip(f"chattr +i is not supported here: {chattr.stderr.strip()}")
    try:
        yield parent / "state"
    finally:
        subprocess.run(["chattr", "-i", str(parent)], check=True)


def run_bootstrap(instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("bootstrap_platform").execute_in_process(
        instance=instance or dg.DagsterInstance.ephemeral(), raise_on_error=False
    )


def failure(result: dg.ExecuteInProcessResult) -> tuple[str, str]:
    """(step, user-facing message) of the first failed step."""
    event = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert event.step_failure_data is not None
    return str(event.step_key), user_message(event.step_failure_data.error)


def materialized(result: dg.ExecuteInProcessResult) -> list[str]:
    return [
        str(e.asset_key.to_user_string())
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key
    ]


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "platform_defs.cli", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_dagster_home_makes_an_instance_whose_daemon_dequeues_every_second(
    tmp_path: Path,
) -> None:
    """A run launched from the UI waits in the queue until the daemon looks: Dagster's 5 s
    default was 2.5 s of bench/ui.py's 11 s warm materialization."""
    env = {**os.environ, "PLATFORM_STATE_DIR": str(tmp_path / "state")}
    proc = cli("dagster-home", env=env)
    assert proc.returncode == 0, proc.stderr
    home = Path(proc.stdout.strip())
    with dg.DagsterInstance.from_config(str(home)) as instance:
        coordinator = instance.run_coordinator
        assert type(coordinator).__name__ == "QueuedRunCoordinator"
        assert coordinator.dequeue_interval_seconds == 1  # type: ignore[attr-defined]
        assert instance.telemetry_enabled is False
    assert (home / "dagster.yaml").stat().st_mode & 0o077 == 0


def test_cli_unwritable_state_dir_is_one_line_and_exit_2(unwritable_state_dir: Path) -> None:
    env = {**os.environ, "PLATFORM_STATE_DIR": str(unwritable_state_dir)}
    proc = cli("dagster-home", env=env)
    assert proc.returncode == 2
    assert proc.stdout == "", "nothing may be printed for the Makefile to take as DAGSTER_HOME"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"error: state directory {unwritable_state_dir} is not writable: ")
    assert "Set PLATFORM_STATE_DIR" in lines[0] and "fix its permissions" in lines[0]
    assert not unwritable_state_dir.exists()


@pytest.mark.slow
def test_make_run_stops_when_dagster_home_fails(unwritable_state_dir: Path) -> None:
    env = {**os.environ, "PLATFORM_STATE_DIR": str(unwritable_state_dir)}
    for inherited in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):  # under `make test` make says make[1]
        env.pop(inherited, None)
    proc = subprocess.run(
        # -o: the venv's install stamp is taken as current, so only the run recipe prints
        ["make", "--no-print-directory", "-o", ".venv/.installed", "run"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stdout == "", "no dagster job execute may run with an empty DAGSTER_HOME"
    lines = [line for line in proc.stderr.splitlines() if not MAKE_ERROR.match(line)]
    assert len(lines) == 1 and "is not writable" in lines[0], proc.stderr


@pytest.mark.slow
def test_unwritable_state_dir_fails_preflight_before_any_asset(
    unwritable_state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_STATE_DIR", str(unwritable_state_dir))
    result = run_bootstrap()
    assert not result.success
    step, message = failure(result)
    assert step == "platform_preflight"
    assert message.startswith(f"state directory {unwritable_state_dir} is not writable")
    assert materialized(result) == []


@pytest.mark.slow
def test_missing_java_fails_preflight_before_any_asset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not (VENV_BIN / "java").exists()
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(VENV_BIN))  # dagster and weed are here, java is not
    monkeypatch.setenv("PLATFORM_S3_PORT", str(free_port()))
    monkeypatch.setenv("PLATFORM_CONSOLE_PORT", str(free_port()))
    home = tmp_path / "dagster"
    home.mkdir()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = run_bootstrap(instance)
        assert not result.success
        step, message = failure(result)
        assert step == "platform_preflight"
        assert message.startswith("No Java found: JAVA_HOME is unset and `java` is not on PATH")
        records = instance.get_records_for_run(result.run_id, limit=1000).records
        kinds = {r.event_log_entry.dagster_event_type for r in records}
        assert dg.DagsterEventType.ASSET_MATERIALIZATION not in kinds
    assert not (tmp_path / "state" / "analytics").exists(), "nothing may be provisioned"


@pytest.mark.slow
def test_a_run_without_a_spark_step_needs_no_java(
    external_store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(VENV_BIN))
    keys = [dg.AssetKey(k) for k in ("platform_preflight", "analytics_namespace", "object_store")]
    result = defs.resolve_job_def("bootstrap_platform").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), asset_selection=keys
    )
    assert result.success
    meta = result.asset_materializations_for_node("platform_preflight")[0].metadata
    assert str(meta["java"].value).startswith("not needed")
    assert "accepted by" in str(meta["credentials"].value)


@pytest.mark.slow
def test_port_of_another_program_fails_preflight(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        monkeypatch.setenv("PLATFORM_S3_PORT", str(port))
        monkeypatch.setenv("PLATFORM_CONSOLE_PORT", str(free_port()))
        result = run_bootstrap()
    step, message = failure(result)
    assert step == "platform_preflight"
    assert f"Port {port} on 127.0.0.1 is already in use by another program" in message
    assert "PLATFORM_S3_PORT=<free port>" in message
    assert materialized(result) == []


@pytest.mark.slow
def test_refused_credentials_fail_preflight(
    external_store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_S3_SECRET_KEY", "not-the-secret-of-this-store")
    result = run_bootstrap()
    step, message = failure(result)
    assert step == "platform_preflight"
    assert "refused the credentials" in message and "while trying to list buckets" in message
    assert "not-the-secret-of-this-store" not in message
    assert materialized(result) == []


def _holder(state_dir: Path, wait: float = 0.0) -> subprocess.Popen[str]:
    """A second real process holding (or waiting for) the lock as the bootstrap takes it."""
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(state_dir), str(wait)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    proc = _holder(tmp_path / "state")
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "held\n"
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_second_make_run_says_already_running_in_one_last_line(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    """`make run` while another run holds the state dir's lock: it fails before any asset, and
    its last line (make's own `make: ***` aside) is the summary naming the holder."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MAKE")},
        "PLATFORM_STATE_DIR": str(tmp_path / "state"),
        "PLATFORM_S3_PORT": str(free_port()),
        "PLATFORM_CONSOLE_PORT": str(free_port()),
    }
    proc = subprocess.run(
        # -o: the venv's install stamp is taken as current, so only the run recipe prints
        ["make", "--no-print-directory", "-o", ".venv/.installed", "run"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("make: ***") and lines[-1].endswith("Error 1")  # dagster's rc
    summary = lines[-2]
    assert summary.startswith(
        f"bootstrap_platform failed at platform_preflight: bootstrap_platform is already "
        f"running (pid {holder.pid}, started at "
    ), summary
    assert "PLATFORM_RUN_LOCK_WAIT_SECONDS" in summary
    assert sum("failed at" in line for line in lines) == 1
    with dg.DagsterInstance.from_config(str(tmp_path / "state" / "dagster")) as instance:
        runs = instance.get_runs(dg.RunsFilter(job_name="bootstrap_platform"))
        assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.FAILURE
        assert runs[0].tags["platform/invocation"].startswith("make-run-")
        records = instance.get_records_for_run(runs[0].run_id, limit=1000).records
        kinds = {r.event_log_entry.dagster_event_type for r in records}
        assert dg.DagsterEventType.ASSET_MATERIALIZATION not in kinds
    assert not (tmp_path / "state" / "analytics").exists(), "nothing may be provisioned"


@pytest.mark.slow
def test_lock_is_released_when_its_holder_is_killed(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    lock = RunLock(tmp_path / "state", "bootstrap_platform")
    with pytest.raises(AlreadyRunningError, match=rf"already running \(pid {holder.pid}, started"):
        lock.acquire()
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    lock.acquire()  # no stale lock: the kernel dropped it with the process
    assert json.loads((tmp_path / "state" / "bootstrap.lock").read_text())["pid"] == os.getpid()
    lock.release()


@pytest.mark.slow
def test_second_run_waits_for_the_first_when_asked(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    waiter = _holder(tmp_path / "state", wait=120)
    try:
        assert waiter.stdout is not None
        time.sleep(0.5)  # give it time to find the lock taken (it must not have it)
        assert waiter.poll() is None
        assert holder.stdin is not None
        holder.stdin.close()  # the first run ends
        holder.wait(timeout=30)
        assert waiter.stdout.readline() == "held\n"
    finally:
        waiter.kill()
        waiter.wait(timeout=30)


def test_run_summary_without_a_run_names_the_settings_error(tmp_path: Path) -> None:
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "PLATFORM_NAMESPACE": "Not_A_Label"}
    proc = cli("run-summary", "bootstrap_platform", "never-started", env=env)
    assert proc.returncode == 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(
        "bootstrap_platform did not start: Invalid platform settings: - PLATFORM_NAMESPACE="
    )


def test_first_line_of_a_message_that_introduces_a_list() -> None:
    assert first_line("Invalid platform settings:\n- PLATFORM_X=1: bad.\n- Y") == (
        "Invalid platform settings: - PLATFORM_X=1: bad."
    )
    assert first_line("one line. Do this.\nLast lines of log:\nnoise") == "one line. Do this."


def test_user_message_peels_dagster_wrappers() -> None:
    from dagster_shared.error import SerializableErrorInfo

    inner = SerializableErrorInfo(
        "platform_defs.errors.JavaError: No Java found: do this.\n", [], "JavaError"
    )
    outer = SerializableErrorInfo(
        'dagster._core.errors.DagsterExecutionStepExecutionError: Error in op "x":\n',
        [],
        "DagsterExecutionStepExecutionError",
        cause=inner,
    )
    assert user_message(outer) == "No Java found: do this."

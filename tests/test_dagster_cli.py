"""`make run`'s Dagster CLI ends without finalizing its heap (the ~1 s that followed a warm
run's last event, bench/bootstrap.py), so what an interpreter exit still owes is checked here:
the exit status, every line of output, the atexit handlers and the non-daemon threads."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _defs(tmp_path: Path, body: str) -> Path:
    """A code location whose one job `j` runs `body` in its op."""
    module = tmp_path / "probe_defs.py"
    module.write_text(
        "import atexit, pathlib, sys, threading, time\n"
        "import dagster as dg\n\n"
        "@dg.op\n"
        "def step(context):\n" + textwrap.indent(textwrap.dedent(body), "    ") + "\n\n"
        "@dg.job(executor_def=dg.in_process_executor)\n"
        "def j():\n"
        "    step()\n\n"
        "defs = dg.Definitions(jobs=[j])\n"
    )
    return module


def _execute(
    tmp_path: Path, module: Path, cli: tuple[str, ...] = ("-m", "platform_defs.dagster_cli")
) -> subprocess.CompletedProcess[str]:
    """`job execute -j j` of `module` through `cli` (by default make run's) on a fresh instance."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, *cli, "job", "execute", "-f", str(module), "-j", "j"],
        cwd=REPO, env={"DAGSTER_HOME": str(home), "PATH": "/usr/bin:/bin",
                       "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_run_ends_with_its_status_its_output_its_atexit_handlers_and_its_threads(
    tmp_path: Path,
) -> None:
    done, joined = tmp_path / "atexit-ran", tmp_path / "thread-finished"
    module = _defs(
        tmp_path,
        f"""
        def at_exit():
            pathlib.Path({str(done)!r}).write_text("yes")
            sys.stdout.write("unflushed tail")  # no newline: still in the buffer at _exit
        atexit.register(at_exit)
        def late():
            time.sleep(0.5)
            pathlib.Path({str(joined)!r}).write_text("yes")
        threading.Thread(target=late).start()
        """,
    )
    proc = _execute(tmp_path, module)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "RUN_SUCCESS" in proc.stderr + proc.stdout
    assert "unflushed tail" in proc.stdout
    assert done.read_text() == "yes", "the atexit handlers did not run"
    assert joined.read_text() == "yes", "a non-daemon thread was not joined"


@pytest.mark.parametrize(
    ("body", "status"),
    [("raise RuntimeError('the op failed')", 1), ("raise SystemExit(3)", 1)],
)
def test_a_failed_run_keeps_dagsters_exit_status(tmp_path: Path, body: str, status: int) -> None:
    module = _defs(tmp_path, body)
    proc = _execute(tmp_path, module)
    reference = _execute(tmp_path, module, (str(Path(sys.executable).with_name("dagster")),))
    assert (proc.returncode, reference.returncode) == (status, status), proc.stderr[-3000:]


def test_a_usage_error_is_dagsters_own(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "platform_defs.dagster_cli", "job", "execute", "--no-such-flag"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "No such option '--no-such-flag'" in proc.stderr
    assert "Usage: dagster job execute" in proc.stderr

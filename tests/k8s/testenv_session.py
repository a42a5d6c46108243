"""The loopback Kubernetes control plane for the test session (tools/k8s_testenv), as a
session-scoped fixture `live_env`, and the rule that `cluster` tests never skip on CI.

Brought up once, on first use, in the session's temporary directory; always taken down at the
end of the session, also after a timeout or Ctrl-C: the fixture's finalizer stops the recorded
PIDs, and each PID is also registered with tests/process_guard.py, whose watchdog reaps them if
pytest itself dies. Building the binaries (~36 CPU-minutes cold) is not the fixture's job:
`make pytest` depends on `make k8s-testenv-build`. Without them the `cluster` tests skip with the
command to run, except on CI (CI=true), where a skip becomes a failure with its reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests import process_guard
from tools.k8s_testenv import env, layout


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def live_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[env.Running]:
    """A running control plane: 4 Ready kwok nodes, `local-path` PVs, the CRDs, a kubeconfig."""
    try:
        layout.require_built()
    except layout.NotBuiltError as exc:
        if on_ci():
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    state = tmp_path_factory.mktemp("k8s-testenv")
    try:
        running = env.up(state, on_start=process_guard.register)
    except env.StartError as exc:
        pytest.fail(f"the loopback control plane did not start: {exc}")
    try:
        yield running
    finally:
        env.down(state)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome: Any = yield
    report = outcome.get_result()
    if on_ci() and report.skipped and item.get_closest_marker("cluster") is not None:
        if hasattr(report, "wasxfail"):
            return
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"`cluster` tests never skip on CI (CI=true); it skipped: {reason}"

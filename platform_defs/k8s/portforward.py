"""A `kubectl port-forward` to the MinIO Service for a Dagster process outside the cluster.

Why a port-forward by default: it needs neither an /etc/hosts entry for the ingress host nor
trust in the dev CA, so `make setup-cluster` works on a fresh laptop. One forward per process
and Service is started on first use and stopped when the process exits (steps that run in
their own process get their own). The ingress is used instead when PLATFORM_K8S_STORE_URL is
set.
"""

from __future__ import annotations

import atexit
import re
import select
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from platform_defs.errors import KubernetesError
from platform_defs.k8s.render import find_tool

_FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) ->")
_ACTIVE: dict[tuple[str, str, str, int], PortForward] = {}


@dataclass
class PortForward:
    process: subprocess.Popen[str]
    local_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)  # reaped, so alive() is False once stop returns


def command(
    kubectl: Path, context: str, kubeconfig: Path | None, namespace: str, service: str, port: int
) -> list[str]:
    """`:port` lets kubectl pick a free local port, which it prints."""
    cmd = [str(kubectl), "port-forward", "--address", "127.0.0.1", "--context", context]
    if kubeconfig is not None:
        cmd += ["--kubeconfig", str(kubeconfig)]
    return [*cmd, "-n", namespace, f"svc/{service}", f":{port}"]


def _read_port(proc: subprocess.Popen[str], timeout: float) -> int:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if not ready:
            continue
        line = proc.stdout.readline()
        seen.append(line.strip())
        match = _FORWARDING.search(line)
        if match:
            return int(match.group(1))
    proc.kill()
    err = proc.stderr.read() if proc.stderr and proc.poll() is not None else ""
    raise KubernetesError(
        f"`{' '.join(proc.args)}` did not start forwarding within {timeout:.0f} s "  # type: ignore[arg-type]
        f"({'; '.join(s for s in [*seen, err.strip()] if s) or 'no output'}). Check that the "
        "Service has ready endpoints, or set PLATFORM_K8S_STORE_URL to reach MinIO through "
        "the ingress instead."
    )


def ensure(
    context: str,
    kubeconfig: Path | None,
    namespace: str,
    service: str,
    port: int,
    *,
    timeout: float = 15.0,
    kubectl: Path | None = None,
) -> PortForward:
    """The running forward for this Service, started if there is none (or it died)."""
    key = (context, namespace, service, port)
    current = _ACTIVE.get(key)
    if current is not None and current.alive():
        return current
    cmd = command(kubectl or find_tool("kubectl"), context, kubeconfig, namespace, service, port)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    forward = PortForward(proc, _read_port(proc, timeout))
    _ACTIVE[key] = forward
    return forward


@atexit.register
def stop_all() -> None:
    for forward in _ACTIVE.values():
        forward.stop()
    _ACTIVE.clear()

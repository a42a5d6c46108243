"""Bring the control plane up, report on it, and take it down.

`up` is all or nothing: if any step fails (a component exits, a wait times out, Ctrl-C), every
process started so far is stopped before the error propagates, so a failed start never leaves
an etcd or apiserver behind. Start order follows dependencies: etcd, the apiserver (readyz),
then the controller-manager, scheduler and kwok, then the seed objects.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tools.k8s_testenv import components, layout, pki, procs, seed

START_TIMEOUT = 120.0


class StartError(RuntimeError):
    """The control plane did not come up; the message carries the failing component's log."""


@dataclass(frozen=True)
class Running:
    """A started environment: what a test or a person needs to use it."""

    state: Path
    server: str
    kubeconfig: Path
    processes: tuple[procs.Proc, ...]
    seconds_to_ready: float
    forward_port: int  # every pod port-forward lands on 127.0.0.1:<this>

    def as_dict(self) -> dict[str, object]:
        return {
            "state": str(self.state),
            "server": self.server,
            "kubeconfig": str(self.kubeconfig),
            "pids": {p.name: p.pid for p in self.processes},
            "seconds_to_ready": round(self.seconds_to_ready, 1),
            "forward_port": self.forward_port,
        }


def _log_tail(proc: procs.Proc, lines: int = 25) -> str:
    try:
        text = Path(proc.log).read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text[-lines:])


def _wait_http(
    url: str,
    started: list[procs.Proc],
    context: ssl.SSLContext | None,
    expect: Callable[[bytes], bool],
    timeout: float = START_TIMEOUT,
) -> None:
    """Poll `url` until `expect(body)`, failing fast (with the log) when a component exits."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        for proc in started:
            if not procs.is_running(proc):
                raise StartError(f"{proc.name} exited during start; its log:\n{_log_tail(proc)}")
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as answer:
                body = answer.read()
                if expect(body):
                    return
                last = body[:200].decode(errors="replace")
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = str(exc)
        time.sleep(0.1)
    raise StartError(f"{url} not ready after {timeout:.0f}s (last: {last})")


def _client_context(env: components.Env) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(env.pki.path("ca.crt")))
    ctx.load_cert_chain(env.pki.path("admin.crt"), env.pki.path("admin.key"))
    return ctx


def prepare(state: Path, bin_dir: Path, ports: layout.Ports) -> components.Env:
    """A clean state directory with PKI, kubeconfigs and kwok's configuration (no process)."""
    if state.exists():
        shutil.rmtree(state)
    state.mkdir(parents=True)
    state.chmod(0o700)
    env = components.Env(state=state, bin=bin_dir, ports=ports)
    pki.generate(env.pki.root)
    for who in ("admin", "controller-manager", "scheduler", "kwok"):
        path = env.kubeconfig(who)
        path.write_text(components.kubeconfig(env, who))
        path.chmod(0o600)
    env.kwok_config.write_text(components.kwok_config(env, bin_dir.parent / "stages"))
    return env


def up(
    state: Path | None = None,
    *,
    on_start: Callable[[int, str], None] | None = None,
) -> Running:
    """Start a fresh environment in `state` (default: layout.default_state_dir())."""
    build = layout.require_built()
    state = state or layout.default_state_dir()
    registry = procs.Registry(state)
    if state.exists() and any(procs.is_running(p) for p in registry.load()):
        raise StartError(f"an environment is already running in {state}: run `down` first")
    began = time.monotonic()
    env = prepare(state, build / "bin", layout.Ports.pick())
    started: list[procs.Proc] = []
    try:

        def start(name: str, argv: list[str]) -> None:
            started.append(procs.spawn(registry, name, argv, on_start=on_start))

        start("etcd", components.etcd(env))
        _wait_http(
            f"http://{layout.HOST}:{env.ports.etcd_client}/health",
            started,
            None,
            lambda body: json.loads(body).get("health") == "true",
        )
        start("kube-apiserver", components.apiserver(env))
        _wait_http(f"{env.server}/readyz", started, _client_context(env), lambda b: b == b"ok")
        start("kube-controller-manager", components.controller_manager(env))
        start("kube-scheduler", components.scheduler(env))
        start("kwok", components.kwok(env))
        try:
            seed.apply_seed(state, env.kubeconfig(), build / "crds")
            seed.wait_usable(state, env.kubeconfig())
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            logs = "\n".join(f"--- {p.name}:\n{_log_tail(p, 8)}" for p in started)
            raise StartError(f"{exc}\n{logs}") from None
        for proc in started:
            if not procs.is_running(proc):
                raise StartError(f"{proc.name} exited during start; its log:\n{_log_tail(proc)}")
    except BaseException:
        procs.stop(started)
        registry.save([])
        raise
    return Running(
        state=state,
        server=env.server,
        kubeconfig=env.kubeconfig(),
        processes=tuple(started),
        seconds_to_ready=time.monotonic() - began,
        forward_port=env.ports.forward,
    )


def down(state: Path | None = None) -> dict[str, str]:
    """Stop exactly the processes recorded for `state`; the state directory is kept (logs)."""
    return procs.stop_recorded(procs.Registry(state or layout.default_state_dir()))


def status(state: Path | None = None) -> dict[str, object]:
    state = state or layout.default_state_dir()
    recorded = procs.Registry(state).load()
    return {
        "state": str(state),
        "kubeconfig": str(state / "admin.kubeconfig"),
        "processes": {p.name: {"pid": p.pid, "running": procs.is_running(p)} for p in recorded},
        "rss_mib": round(procs.rss_kib(recorded) / 1024),
    }

"""Where the testenv's binaries and state live, and the fixed addressing plan.

Binaries are keyed by the versions they were built from, under a cache outside the repository
(never committed): a version bump builds into a new directory and never mixes with an old one.
Addresses: everything the control plane listens on is 127.0.0.1; pods get addresses from
TEST-NET-1 (192.0.2.0/24, never routed) because the API refuses loopback addresses in
EndpointSlices, and Services from TEST-NET-2 (198.51.100.0/24). Nothing ever connects to either.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

K8S_VERSION = "v1.37.2"
ETCD_VERSION = "v3.7.3"
KWOK_VERSION = "v0.8.0"
RECIPE = "r1"  # bump when build.sh changes what it produces

HOST = "127.0.0.1"
POD_CIDR = "192.0.2.0/24"
SERVICE_CIDR = "198.51.100.0/24"
NODE_COUNT = 4
PV_POOL = 24
STORAGE_CLASS = "local-path"

CACHE_ENV = "K8S_TESTENV_CACHE"
STATE_ENV = "K8S_TESTENV_STATE"
BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
)


def cache_root() -> Path:
    """`$K8S_TESTENV_CACHE`, else `$XDG_CACHE_HOME` or ~/.cache, under lakehouse-platform."""
    if override := os.environ.get(CACHE_ENV):
        return Path(override)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "lakehouse-platform" / "k8s-testenv"


def build_key() -> str:
    return f"k8s-{K8S_VERSION}_etcd-{ETCD_VERSION}_kwok-{KWOK_VERSION}_{RECIPE}"


def build_dir() -> Path:
    return cache_root() / build_key()


def default_state_dir() -> Path:
    if override := os.environ.get(STATE_ENV):
        return Path(override)
    return cache_root() / "state"


class NotBuiltError(RuntimeError):
    """The binaries are missing: the message says how to build them."""


def require_built() -> Path:
    """The build directory, or NotBuiltError naming the command that builds it."""
    root = build_dir()
    missing = [b for b in BINARIES if not (root / "bin" / b).is_file()]
    if not (root / ".complete").is_file() or missing:
        raise NotBuiltError(
            f"the loopback Kubernetes control plane is not built in {root}"
            f" (missing: {', '.join(missing) or 'the .complete marker'}). Build it once with"
            " `make k8s-testenv-build` (needs Go >= 1.26 on PATH; ~36 CPU-minutes cold)."
        )
    return root


@dataclass(frozen=True)
class Ports:
    """Loopback ports picked free at start (no fixed port can collide with a second env)."""

    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kwok: int
    # Where kwok sends every pod port-forward: a test serves here on 127.0.0.1 (kwok runs no
    # containers, so a forwarded "pod" port is this loopback server).
    forward: int

    @classmethod
    def pick(cls) -> Ports:
        return cls(*free_ports(7))


def free_ports(count: int) -> list[int]:
    """`count` distinct free TCP ports on 127.0.0.1 (held open together so none repeats)."""
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            held.append(sock)
        return [s.getsockname()[1] for s in held]
    finally:
        for sock in held:
            sock.close()

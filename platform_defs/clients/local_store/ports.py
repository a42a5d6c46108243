"""Port checks for loopback listeners.

The S3 and console ports are the user's choice, so a busy one is an error that names the setting
to change. Internal listeners (SeaweedFS master, volume, filer, with gRPC at +10000) are ours to
choose, so we pick free ones once and remember them in the store's state file.
"""

from __future__ import annotations

import socket
import time

from platform_defs.errors import StoreStartError

GRPC_OFFSET = 10000  # SeaweedFS derives each gRPC port as http port + 10000


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Free for a server: like the servers we launch, ignore connections left in TIME_WAIT."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_within(port: int, wait: float) -> bool:
    """Whether the port is free, or becomes free within `wait` seconds (a server we just
    stopped may hold it a moment longer)."""
    end = time.monotonic() + wait
    while not is_free(port) and time.monotonic() < end:
        time.sleep(0.1)
    return is_free(port)


def require_free(port: int, variable: str, wait: float = 0.0) -> None:
    if not free_within(port, wait):
        raise StoreStartError(
            f"Port {port} on 127.0.0.1 is already in use by another program, so the embedded "
            f"object store cannot listen there. Stop that program (`ss -ltnp 'sport = :{port}'` "
            f"shows it) or choose another port with {variable}=<free port>."
        )


def require_grpc_pair(port: int, variable: str, wait: float = 0.0) -> None:
    """SeaweedFS puts a gRPC listener on port + 10000: it must exist and be free too."""
    grpc = port + GRPC_OFFSET
    if grpc > 65535:
        raise StoreStartError(
            f"{variable}={port} is too high for SeaweedFS, which also listens on port + "
            f"{GRPC_OFFSET} ({grpc} does not exist). Choose a port of at most {65535 - GRPC_OFFSET}."
        )
    require_free(grpc, f"{variable} (SeaweedFS also needs {grpc} for gRPC)", wait=wait)


def pick_free_pairs(count: int, avoid: set[int], low: int = 20000, high: int = 55000) -> list[int]:
    """`count` ports p such that p and p + GRPC_OFFSET are both free and not in `avoid`."""
    chosen: list[int] = []
    taken = set(avoid)
    for _ in range(200 * count):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if not low <= port <= high:
            port = low + port % (high - low)
        pair = {port, port + GRPC_OFFSET}
        if pair & taken or not all(is_free(p) for p in pair):
            continue
        chosen.append(port)
        taken |= pair
        if len(chosen) == count:
            return chosen
    raise StoreStartError(
        "Could not find free loopback ports for the object store's internal listeners. "
        "Free some ports or stop stray `weed` processes (`pkill -f 'weed mini'`)."
    )

"""Object-store health: probe the server, run an S3 canary, classify the result.

Every probe has a short timeout and the first unanswered probe ends the tick, so a frozen store
costs one timeout, not one per probe. MinIO is classified from its own health endpoints and the
headers it sets (see MinIO's health handlers); every backend also gets an S3 canary, because an
endpoint that answers /health can still refuse writes.

The canary's verdicts are causes, each with its own fix (see `canary.py`): a write that timed
out is retried within the tick's deadline and is DEGRADED if it never completes; READ_ONLY is a
write the server refused with an explicit answer while reads work; CREDENTIALS_INVALID is the
canary's own key refused while root's works, fixed by re-provisioning that identity.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import requests

from platform_defs.clients.canary import run_canary
from platform_defs.clients.verdicts import Remediation, Status
from platform_defs.endpoint import StoreEndpoint

__all__ = ["MINIO_PATHS", "HealthReport", "Probe", "Remediation", "Status", "check_store"]


@dataclass(frozen=True)
class Probe:
    path: str
    status_code: int | None  # None: no answer within the timeout
    headers: dict[str, str] = field(default_factory=dict)
    error: str = ""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass(frozen=True)
class HealthReport:
    status: Status
    detail: str
    latency_ms: float
    probes: list[Probe]
    canary_ok: bool | None
    canary_attempts: int = 0
    remediation: Remediation | None = None

    def metadata(self) -> dict[str, object]:
        out: dict[str, object] = {
            "status": self.status.value,
            "detail": self.detail,
            "latency_ms": round(self.latency_ms, 2),
            "canary_ok": self.canary_ok,
            "canary_attempts": self.canary_attempts,
            "remediation": self.remediation.value if self.remediation else None,
        }
        for probe in self.probes:
            out[f"probe {probe.path}"] = probe.status_code if probe.status_code else "no answer"
        return out


MINIO_PATHS = (
    "/minio/health/live",
    "/minio/health/ready",
    "/minio/health/cluster",
    "/minio/health/cluster/read",
)
OFFLINE_HEADER = "x-minio-server-status"


def probe(url: str, path: str, timeout: float, verify: str | bool = True) -> Probe:
    try:
        resp = requests.get(url + path, timeout=timeout, verify=verify, allow_redirects=False)
    except requests.RequestException as exc:
        return Probe(path, None, error=type(exc).__name__)
    return Probe(path, resp.status_code, {k.lower(): v for k, v in resp.headers.items()})


def classify_minio(probes: list[Probe]) -> tuple[Status, str]:
    """MinIO's states from its health endpoints (live, ready, cluster, cluster/read)."""
    by_path = {p.path: p for p in probes}
    live = by_path.get("/minio/health/live")
    if live is None or live.status_code is None:
        return Status.DOWN, f"no answer from /minio/health/live ({live.error if live else '-'})"
    if live.header(OFFLINE_HEADER) == "offline":
        return Status.STARTING, "server is starting (x-minio-server-status: offline)"
    if live.status_code == 503:
        return Status.DEGRADED, "liveness 503: the server reports it is overloaded"
    if live.status_code != 200:
        return Status.DOWN, f"liveness answered {live.status_code}"
    ready = by_path.get("/minio/health/ready")
    if ready is not None and ready.status_code != 200:
        return Status.NOT_READY, f"readiness answered {ready.status_code or 'nothing'}"
    cluster = by_path.get("/minio/health/cluster")
    read = by_path.get("/minio/health/cluster/read")
    if cluster is not None and cluster.status_code != 200:
        if cluster.header(OFFLINE_HEADER) == "offline":
            return Status.STARTING, "cluster is starting (x-minio-server-status: offline)"
        if read is not None and read.status_code == 200:
            quorum = cluster.header("x-minio-write-quorum") or "?"
            return Status.READ_ONLY, f"no write quorum (needs {quorum} drives), read quorum ok"
        return Status.DOWN, "neither write nor read quorum"
    return Status.UP, "live, ready, write and read quorum"


def check_store(
    endpoint: StoreEndpoint,
    bucket: str,
    timeout: float = 1.0,
    deadline: float = 5.0,
    root: StoreEndpoint | None = None,
) -> HealthReport:
    """Probe and classify one store as `endpoint`'s identity (the canary); `root`, when given,
    tells a revoked canary key from a store that refuses everyone. Bounded by the probes'
    timeouts plus the canary's `deadline` (PLATFORM_HEALTH_CANARY_DEADLINE_SECONDS) plus one
    attempt."""
    t0 = time.monotonic()
    verify = endpoint.verify
    probes: list[Probe] = []
    if endpoint.backend == "minio":
        for path in MINIO_PATHS:
            probes.append(probe(endpoint.url, path, timeout, verify))
            if probes[-1].status_code is None:
                break
        status, detail = classify_minio(probes)
    else:
        status, detail = _probe_generic(endpoint, timeout, verify, probes)
    canary_ok: bool | None = None
    attempts = 0
    remediation = None
    if status in (Status.UP, Status.DEGRADED):
        verdict = run_canary(endpoint, bucket, timeout, deadline, root)
        attempts, remediation, canary_ok = verdict.attempts, verdict.remediation, verdict.ok
        if verdict.status is Status.UP:
            detail = f"{detail}; {verdict.detail}"  # a DEGRADED probe stays DEGRADED
        else:
            status, detail = verdict.status, verdict.detail
    if status is Status.DOWN:
        remediation = Remediation.RESTART_STORE
    return HealthReport(
        status, detail, (time.monotonic() - t0) * 1000, probes, canary_ok, attempts, remediation
    )


def _probe_generic(
    endpoint: StoreEndpoint, timeout: float, verify: str | bool, probes: list[Probe]
) -> tuple[Status, str]:
    """SeaweedFS has /healthz; for an unknown S3 server any HTTP answer proves it is up and the
    canary decides the rest."""
    path = "/healthz" if endpoint.backend == "seaweedfs" else "/"
    probes.append(probe(endpoint.url, path, timeout, verify))
    first = probes[0]
    if first.status_code is None:
        return Status.DOWN, f"no answer from {path} ({first.error})"
    if path == "/healthz" and first.status_code != 200:
        return Status.NOT_READY, f"/healthz answered {first.status_code}"
    return Status.UP, f"{path} answered {first.status_code}"

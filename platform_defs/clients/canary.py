"""The S3 canary of the health check: one put/get/delete under the reserved prefix, retried
within the tick's deadline, and the cause of a failure named so that each has its own fix.

A write that timed out (a loaded store) is retried with a longer read timeout each attempt and
is DEGRADED if it never completes; READ_ONLY is a write the server refused with an explicit
answer while reads work (MinIO answers `503 SlowDownWrite` without write quorum);
CREDENTIALS_INVALID is the canary's own key refused while root's works, fixed by
re-provisioning the identity, which restarting the store cannot do.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import tenacity
import urllib3

from platform_defs.clients.s3 import CANARY_PREFIX, CanaryResult, ObjectStore
from platform_defs.clients.verdicts import Remediation, Status
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import (
    BucketError,
    CredentialsError,
    PlatformError,
    StoreUnreachableError,
)

# Answers that mean "try again", not "no": overload and hiccups (S3's and MinIO's codes).
TRANSIENT_CODES = frozenset(
    {"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "OperationAborted"}
    | {"XMinioServerNotInitialized"}
)


@dataclass(frozen=True)
class CanaryVerdict:
    status: Status
    detail: str
    ok: bool
    attempts: int
    remediation: Remediation | None = None


CANARY_REQUESTS = 3  # put, get, delete
STALE_CANARY_SECONDS = 60.0  # an object this old under the prefix is a timed-out write's
MAX_SWEPT_OBJECTS = 20


def _transient(exc: BaseException) -> bool:
    """Worth another attempt within the deadline: no answer in time, a dropped connection, or
    a server error that means "busy"."""
    if isinstance(exc, StoreUnreachableError):
        return True
    return isinstance(exc, BucketError) and exc.code in TRANSIENT_CODES


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200]


def run_canary(
    endpoint: StoreEndpoint,
    bucket: str,
    timeout: float,
    deadline: float,
    root: StoreEndpoint | None = None,
) -> CanaryVerdict:
    """Put/get/delete under the canary prefix, retried (jittered backoff) while failures are
    transient and `deadline` seconds have not passed; then name the cause of a failure.

    Each retry doubles the read timeout (within what is left of the deadline), so a store that
    is slow rather than stuck completes one canary and its latency is measured, and a timed-out
    write that the server finishes later is found by the sweep at the end.
    """
    started = time.monotonic()
    attempts = 0

    def attempt() -> CanaryResult:
        nonlocal attempts
        attempts += 1
        left = deadline - (time.monotonic() - started)
        read = min(timeout * 2 ** (attempts - 1), max(left, timeout))
        store = ObjectStore(endpoint, timeout=timeout, retries=0, read_timeout=read)
        return store.object_canary(bucket)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(_transient),
        stop=tenacity.stop_before_delay(deadline),
        wait=tenacity.wait_random_exponential(multiplier=0.05, max=1.0),
        reraise=True,
    )
    store = ObjectStore(endpoint, timeout=timeout, retries=0)
    try:
        result = retrying(attempt)
    except CredentialsError as exc:
        return _credentials_verdict(exc, endpoint, bucket, timeout, root, attempts)
    except PlatformError as exc:
        return _write_failed(exc, store, bucket, deadline, attempts)
    _sweep(store, bucket, budget=max(deadline - (time.monotonic() - started), timeout))
    if not result.ok:
        return CanaryVerdict(Status.DEGRADED, result.detail, False, attempts)
    retried = f" after {attempts} attempts" if attempts > 1 else ""
    if result.latency_ms > CANARY_REQUESTS * timeout * 1000:
        return CanaryVerdict(
            Status.DEGRADED,
            f"the store is slow: the canary took {result.latency_ms:.0f} ms{retried}, more than "
            f"{CANARY_REQUESTS} x the {timeout:g} s probe timeout; writes and reads work",
            True,
            attempts,
        )
    return CanaryVerdict(Status.UP, f"canary {result.latency_ms:.0f} ms{retried}", True, attempts)


def _sweep(store: ObjectStore, bucket: str, budget: float) -> None:
    """Best effort, after a successful canary and within what is left of the deadline: remove
    canary objects left by writes that timed out on the client but landed on the server.
    Never decides the verdict."""
    with contextlib.suppress(PlatformError):
        cutoff = datetime.now(UTC) - timedelta(seconds=STALE_CANARY_SECONDS)
        store.sweep_prefix(bucket, CANARY_PREFIX, cutoff, MAX_SWEPT_OBJECTS, budget)


def _write_failed(
    exc: PlatformError, store: ObjectStore, bucket: str, deadline: float, attempts: int
) -> CanaryVerdict:
    """The write failed for a reason other than the canary's keys: do reads still work?"""
    why = _first_line(exc)
    try:
        exists = store.bucket_exists(bucket, prefix=CANARY_PREFIX)
    except StoreUnreachableError as read_exc:
        if read_exc.timed_out:  # connected, slow: loaded, not gone
            return CanaryVerdict(
                Status.DEGRADED,
                f"the canary did not complete within {deadline:g} s ({attempts} attempts; "
                f"last: {why}) and a read timed out too: the store is overloaded or stuck",
                False,
                attempts,
            )
        return CanaryVerdict(
            Status.DOWN, f"S3 canary failed and reads fail too: {why}", False, attempts
        )
    except PlatformError:
        return CanaryVerdict(
            Status.DOWN, f"S3 canary failed and reads fail too: {why}", False, attempts
        )
    if not exists:
        return CanaryVerdict(
            Status.NOT_READY, f"bucket {bucket} does not exist (materialize it)", False, attempts
        )
    if _transient(exc):
        return CanaryVerdict(
            Status.DEGRADED,
            f"canary writes did not complete within {deadline:g} s ({attempts} attempts; last: "
            f"{why}); reads work",
            False,
            attempts,
        )
    code = getattr(exc, "code", None) or type(exc).__name__
    return CanaryVerdict(
        Status.READ_ONLY,
        f"the store refused the canary write ({code}) while reads work: {why}",
        False,
        attempts,
    )


def _credentials_verdict(
    exc: CredentialsError,
    endpoint: StoreEndpoint,
    bucket: str,
    timeout: float,
    root: StoreEndpoint | None,
    attempts: int,
) -> CanaryVerdict:
    """The canary's own keys were refused: if root's still work, the identity is what broke
    (revoked, replaced or its grants changed), and re-provisioning it is the fix."""
    key = endpoint.credentials.access_key
    refused = (
        f"the canary identity {key!r} may no longer write {bucket}/{CANARY_PREFIX} (AccessDenied)"
        if exc.code == "AccessDenied"
        else f"the store refuses the canary identity's key {key!r} ({exc.code})"
    )
    root_ok: bool | None = None
    if root is not None:
        try:
            root_ok = ObjectStore(root, timeout=timeout, retries=0).authenticates()
        except (urllib3.exceptions.HTTPError, OSError):
            root_ok = None
    if root_ok:
        return CanaryVerdict(
            Status.CREDENTIALS_INVALID,
            f"{refused} while root's keys work: re-provision the identity (materialize "
            "service_identities)",
            False,
            attempts,
            Remediation.REPROVISION_IDENTITIES,
        )
    also = (
        "and root's keys are refused too, so re-provisioning cannot help: check "
        "PLATFORM_CREDENTIALS_SOURCE (`make run` says whether they are the store's root keys)"
        if root_ok is False
        else "(root's keys could not be checked)"
    )
    return CanaryVerdict(Status.CREDENTIALS_INVALID, f"{refused} {also}", False, attempts)

"""The S3 client the platform uses for buckets, canaries and statistics.

It wraps the minio SDK with short timeouts and few retries, so an unreachable endpoint fails in
seconds, and it translates the SDK's errors into the platform's own: a rejected signature becomes
a `CredentialsError` that says where the credentials came from, a refused connection a
`StoreUnreachableError` that names the endpoint.
"""

from __future__ import annotations

import functools
import io
import itertools
import secrets
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import urllib3
from minio import Minio
from minio.commonconfig import ENABLED
from minio.error import S3Error
from minio.versioningconfig import VersioningConfig

from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import (
    AccessDeniedError,
    BucketError,
    CredentialsError,
    PlatformError,
    StoreUnreachableError,
)
from platform_defs.settings import bucket_name_problem

T = TypeVar("T")
_AUTH_CODES = {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidToken"}
CANARY_PREFIX = "_platform/canary/"
CANARY_BUCKET_PREFIX = "platform-canary-"  # the only bucket names the platform ever sweeps
MAX_SWEPT_BUCKETS = 20
MAX_CANARY_OBJECTS = 100
S3_TIMEOUT_SETTING = "PLATFORM_S3_TIMEOUT_SECONDS"
_BAD_KEY_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"}
_DENIED_HINT = (
    " If these are a service identity's keys (spark, analyst, canary), the request may be "
    "outside what that identity may do: see the README's Security section."
)


@dataclass(frozen=True)
class BucketStats:
    objects: int
    bytes: int
    versions: int


@dataclass(frozen=True)
class CanaryResult:
    ok: bool
    latency_ms: float
    detail: str


def pool_manager(
    endpoint: StoreEndpoint,
    timeout: float = 5.0,
    retries: int = 1,
    read_timeout: float | None = None,
    pool_size: int = 8,
) -> urllib3.PoolManager:
    """The HTTP pool every S3/admin client of the platform uses: short timeouts, and for https
    the endpoint's CA bundle as the trust anchor. Verification is never turned off."""
    ctx = ssl.create_default_context(cafile=str(endpoint.ca_bundle)) if endpoint.ca_bundle else None
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=timeout, read=read_timeout or timeout),
        # With no retries a 503 must reach the caller as the store's answer (its S3 error code
        # says whether writes are refused), not as urllib3's "too many 503 responses".
        retries=urllib3.Retry(
            total=retries, backoff_factor=0.2, status_forcelist=[503] if retries else []
        ),
        maxsize=pool_size,
        ssl_context=ctx,
    )


def _is_timeout(exc: BaseException) -> bool:
    """A request that connected (or tried to) and got no answer in time, as opposed to a
    refused or dropped connection; urllib3 wraps it in MaxRetryError once retries run out."""
    reason = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
    return isinstance(reason, urllib3.exceptions.TimeoutError | TimeoutError)


class ObjectStore:
    """One endpoint, one identity. Cheap to construct; holds a small connection pool."""

    def __init__(
        self,
        endpoint: StoreEndpoint,
        timeout: float = 5.0,
        retries: int = 1,
        read_timeout: float | None = None,
        pool_size: int = 8,
        timeout_setting: str | None = None,
    ) -> None:
        """`timeout` bounds connecting (and reading, unless `read_timeout` is given: bulk
        transfers of large objects want a longer read timeout than health probes).
        `timeout_setting` names the setting it came from, for the message when it runs out."""
        self.endpoint = endpoint
        self.bound = (read_timeout or timeout, retries + 1, timeout_setting)
        http = pool_manager(endpoint, timeout, retries, read_timeout, pool_size)
        self.client = Minio(
            endpoint.host_port,
            access_key=endpoint.credentials.access_key,
            secret_key=endpoint.credentials.secret_key,
            secure=endpoint.secure,
            region=endpoint.region,
            http_client=http,
        )

    # ---- error translation ------------------------------------------------------------
    def call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except S3Error as exc:
            if exc.code in _AUTH_CODES:
                error = AccessDeniedError if exc.code == "AccessDenied" else CredentialsError
                raise error(
                    f"The object store at {self.endpoint.url} refused the credentials for access "
                    f"key {self.endpoint.credentials.access_key!r} while trying to {what} "
                    f"({exc.code}). Check PLATFORM_CREDENTIALS_SOURCE and the key pair it points "
                    "to; for the embedded store, `make run` says whether they are the root keys "
                    "it was created with." + (_DENIED_HINT if exc.code == "AccessDenied" else ""),
                    code=exc.code,
                ) from None
            raise BucketError(
                f"The object store refused to {what}: {exc.code}: {exc.message}", code=exc.code
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StoreUnreachableError(
                f"The object store at {self.endpoint.url} did not answer while trying to {what} "
                f"({type(exc).__name__}{self._timeout_note(exc)}). Is it running? For the "
                "embedded store run `make run`; otherwise check PLATFORM_S3_ENDPOINT and the "
                "network path to it.",
                timed_out=_is_timeout(exc),
            ) from None

    def _timeout_note(self, exc: BaseException) -> str:
        """For a timeout: the bound that ran out and the setting that sets it."""
        reason = getattr(exc, "reason", None)
        timeouts = (urllib3.exceptions.TimeoutError, TimeoutError)
        if not isinstance(exc, timeouts) and not isinstance(reason, timeouts):
            return ""
        seconds, attempts, setting = self.bound
        note = f": no answer within {seconds:g} s, {attempts} attempt{'s' * (attempts > 1)}"
        return note + (f"; {setting} sets the limit" if setting else "")

    def wait_ready(self, seconds: float) -> float:
        """Wait until an authenticated call succeeds (a just-started server may still be booting)."""
        t0 = time.monotonic()
        while True:
            try:
                self.call("list buckets", self.client.list_buckets)
                return time.monotonic() - t0
            except (StoreUnreachableError, BucketError):
                if time.monotonic() - t0 > seconds:
                    raise
                time.sleep(0.2)

    # ---- buckets ----------------------------------------------------------------------
    @staticmethod
    def check_bucket_name(name: str) -> None:
        problem = bucket_name_problem(name)
        if problem:
            raise BucketError(
                f"Invalid bucket name {name!r}: it {problem}. Set PLATFORM_BUCKET to a valid name."
            )

    def bucket_exists(self, name: str, prefix: str = "") -> bool:
        """HEAD bucket; an identity limited to `prefix` may not HEAD the bucket (it needs
        bucket-wide read on SeaweedFS), so on AccessDenied one listing under `prefix` decides."""
        self.check_bucket_name(name)
        try:
            return self.call(f"check bucket {name!r}", lambda: self.client.bucket_exists(name))
        except AccessDeniedError:
            pass
        listing = self.client.list_objects(name, prefix=prefix or None)
        try:
            self.call(f"list {name}/{prefix}", lambda: next(iter(listing), None))
        except BucketError as exc:
            if "NoSuchBucket" in str(exc):
                return False
            raise
        return True

    def authenticates(self) -> bool:
        """True when the store knows this key pair (even if it may do little): the test used
        to tell that new keys are live and revoked ones are dead."""
        try:
            self.client.list_buckets()
        except S3Error as exc:
            return exc.code not in _BAD_KEY_CODES
        return True

    def ensure_bucket(self, name: str) -> bool:
        """Create the bucket if missing; True when it was created by this call."""
        if self.bucket_exists(name):
            return False
        self.call(f"create bucket {name!r}", lambda: self.client.make_bucket(name))
        return True

    def require_bucket(self, name: str, prefix: str = "") -> None:
        """Raise the error that explains why `name` is unusable: store down, credentials
        rejected, or bucket missing. One cheap call, made before starting anything expensive."""
        if not self.bucket_exists(name, prefix):
            raise BucketError(
                f"Bucket {name!r} does not exist on {self.endpoint.url}. Materialize the "
                "`datalake_bucket` asset first (`make run`), or fix PLATFORM_BUCKET."
            )

    def versioning_status(self, name: str) -> str:
        cfg = self.call(
            f"read versioning of {name!r}", lambda: self.client.get_bucket_versioning(name)
        )
        return str(cfg.status or "Off")

    def ensure_versioning(self, name: str) -> bool:
        """Enable versioning if it is not; True when this call changed it."""
        if self.versioning_status(name) == ENABLED:
            return False
        self.call(
            f"enable versioning on {name!r}",
            lambda: self.client.set_bucket_versioning(name, VersioningConfig(ENABLED)),
        )
        return True

    def iter_objects(
        self, bucket: str, prefix: str = "", versions: bool = False
    ) -> Iterator[object]:
        it = self.call(
            f"list {bucket!r}",
            lambda: self.client.list_objects(
                bucket, prefix=prefix, recursive=True, include_version=versions
            ),
        )
        yield from self.call(f"list {bucket!r}", lambda: list(it))

    def bucket_stats(self, bucket: str) -> BucketStats:
        objects = size = versions = 0
        for obj in self.iter_objects(bucket, versions=True):
            versions += 1
            if getattr(obj, "is_latest", "true") in (True, "true") and not getattr(
                obj, "is_delete_marker", False
            ):
                objects += 1
                size += int(getattr(obj, "size", 0) or 0)
        return BucketStats(objects=objects, bytes=size, versions=versions)

    # ---- canaries ---------------------------------------------------------------------
    def object_canary(self, bucket: str) -> CanaryResult:
        """Put, read back and permanently delete one object under the reserved prefix.

        Deleting the exact version (not the key) leaves no delete marker behind, so running the
        canary on a versioned bucket changes nothing.
        """
        key = f"{CANARY_PREFIX}{secrets.token_hex(8)}"
        payload = secrets.token_bytes(64)
        t0 = time.monotonic()
        put = self.call(
            f"write canary object {bucket}/{key}",
            lambda: self.client.put_object(bucket, key, io.BytesIO(payload), len(payload)),
        )
        try:
            resp = self.call(f"read {bucket}/{key}", lambda: self.client.get_object(bucket, key))
            try:
                body = resp.read()
            finally:
                resp.close()
                resp.release_conn()
        finally:
            self.call(
                f"delete {bucket}/{key}",
                lambda: self.client.remove_object(bucket, key, version_id=put.version_id),
            )
        latency = (time.monotonic() - t0) * 1000
        if body != payload:
            return CanaryResult(False, latency, "canary object read back with different content")
        return CanaryResult(True, latency, "put/get/delete ok")

    def sweep_prefix(
        self, bucket: str, prefix: str, older_than: datetime, limit: int, budget_seconds: float
    ) -> int:
        """Permanently delete up to `limit` object versions under `prefix` last modified
        before `older_than`, stopping once `budget_seconds` have passed (a health tick calls
        it for the canary's prefix: timed-out canary writes that landed after all)."""
        end = time.monotonic() + budget_seconds
        listing = self.client.list_objects(
            bucket, prefix=prefix, recursive=True, include_version=True
        )
        found = self.call(f"list {bucket}/{prefix}", lambda: list(itertools.islice(listing, 200)))
        stale = [o for o in found if o.last_modified is not None and o.last_modified < older_than]
        removed = 0
        for obj in stale[:limit]:
            if time.monotonic() > end:
                break
            self.call(
                f"delete {bucket}/{obj.object_name}",
                functools.partial(
                    self.client.remove_object, bucket, obj.object_name, obj.version_id
                ),
            )
            removed += 1
        return removed

    def bucket_canary(self, run_started: datetime | None = None) -> CanaryResult:
        """Create and remove a throw-away bucket: proves the identity can administer the store.

        The bucket is removed in `finally`, objects and all, whatever the canary did; canary
        buckets that a killed run left behind (created before `run_started`) are swept first.
        """
        swept = self.sweep_canary_buckets(run_started or datetime.now(UTC))
        name = f"{CANARY_BUCKET_PREFIX}{secrets.token_hex(4)}"
        t0 = time.monotonic()
        self.call(f"create bucket {name}", lambda: self.client.make_bucket(name))
        done = False
        try:
            result = self.object_canary(name)
            done = True
        finally:
            try:
                self.drop_bucket(name)
            except PlatformError:
                if done:  # else the canary's own error is the one to report; the sweep retries
                    raise
        detail = result.detail + (f"; removed {swept} stale canary bucket(s)" if swept else "")
        return CanaryResult(result.ok, (time.monotonic() - t0) * 1000, detail)

    def drop_bucket(self, name: str) -> None:
        """Remove a bucket of the platform's own (a canary's) with every object version in it;
        a bucket that is already gone is fine. Bounded: a canary bucket holds one object."""
        try:
            found = self.call(
                f"list {name}",
                lambda: list(
                    itertools.islice(
                        self.client.list_objects(name, recursive=True, include_version=True),
                        MAX_CANARY_OBJECTS,
                    )
                ),
            )
            for obj in found:
                self.call(
                    f"delete {name}/{obj.object_name}",
                    functools.partial(
                        self.client.remove_object, name, obj.object_name, obj.version_id
                    ),
                )
            self.call(f"remove bucket {name}", lambda: self.client.remove_bucket(name))
        except BucketError as exc:
            if exc.code != "NoSuchBucket":
                raise

    def sweep_canary_buckets(self, created_before: datetime) -> int:
        """Remove `platform-canary-*` buckets created before `created_before` (a killed run's);
        never another name, at most MAX_SWEPT_BUCKETS per call. S3 reports creation times in
        whole seconds, rounded down, so only buckets a full second older count as stale."""
        buckets = self.call("list buckets", self.client.list_buckets)
        cutoff = created_before - timedelta(seconds=1)
        stale = [
            b.name
            for b in buckets
            if b.name.startswith(CANARY_BUCKET_PREFIX)
            and b.creation_date is not None
            and b.creation_date <= cutoff
        ]
        for name in stale[:MAX_SWEPT_BUCKETS]:
            self.drop_bucket(name)
        return min(len(stale), MAX_SWEPT_BUCKETS)

"""`platform-canary-*` buckets never outlive the run that made them (issue 12, finding 4).

The `object_store_healthy` check creates one throw-away bucket per run. It is removed in
`finally`, objects and all, whatever happens inside; and each run first sweeps the canary
buckets that runs which died left behind, and only those (its own prefix, created before it).
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from platform_defs.clients.s3 import CANARY_BUCKET_PREFIX, CanaryResult, ObjectStore
from platform_defs.endpoint import StoreEndpoint

pytestmark = pytest.mark.slow


@pytest.fixture
def root(s3_endpoint: StoreEndpoint) -> Iterator[ObjectStore]:
    store = ObjectStore(s3_endpoint)
    before = set(bucket_names(store))
    yield store
    for name in set(bucket_names(store)) - before:  # whatever a failing test left
        store.drop_bucket(name)


def bucket_names(store: ObjectStore) -> list[str]:
    return sorted(b.name for b in store.client.list_buckets())


def canary_buckets(store: ObjectStore) -> list[str]:
    return [n for n in bucket_names(store) if n.startswith(CANARY_BUCKET_PREFIX)]


def leftover(store: ObjectStore, name: str) -> None:
    """What a run killed inside the canary leaves: the bucket with its object."""
    store.client.make_bucket(name)
    store.client.put_object(name, "_platform/canary/x", io.BytesIO(b"left"), 4)


def wait_until_older_than_one_second(store: ObjectStore, name: str) -> datetime:
    """S3 creation dates are whole seconds: wait (bounded) until `name` is measurably old."""
    created = next(b.creation_date for b in store.client.list_buckets() if b.name == name)
    assert created is not None
    deadline = time.monotonic() + 5
    while datetime.now(UTC) < created + timedelta(seconds=1.05):
        assert time.monotonic() < deadline, "the clock did not move"
        time.sleep(0.05)
    return datetime.now(UTC)


def test_the_canary_bucket_is_removed_when_the_canary_fails(
    root: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A canary that dies after writing (here: an error raised once its object is in) still
    takes its bucket with it, and its own error is the one reported."""

    def write_then_fail(self: ObjectStore, bucket: str) -> CanaryResult:
        self.client.put_object(bucket, "_platform/canary/y", io.BytesIO(b"half"), 4)
        raise RuntimeError("the canary died half-way")

    monkeypatch.setattr(ObjectStore, "object_canary", write_then_fail)
    with pytest.raises(RuntimeError, match="half-way"):
        root.bucket_canary()
    assert canary_buckets(root) == []


def test_stale_canary_buckets_are_swept_and_nothing_else(root: ObjectStore) -> None:
    stale = f"{CANARY_BUCKET_PREFIX}dead0001"
    leftover(root, stale)
    lookalikes = ["platform-canary", "my-platform-canary-x", "keep-platform-canary-0"]
    for name in lookalikes:
        root.client.make_bucket(name)
    run_started = wait_until_older_than_one_second(root, stale)
    fresh = f"{CANARY_BUCKET_PREFIX}busy0002"  # another run's, made after this run started
    leftover(root, fresh)

    result = root.bucket_canary(run_started=run_started)

    assert result.ok and "removed 1 stale canary bucket" in result.detail
    names = bucket_names(root)
    assert stale not in names
    assert fresh in names and set(lookalikes) <= set(names)
    assert canary_buckets(root) == [fresh], "the run's own canary bucket is gone too"

"""Health verdicts that do not lie under load, and a remediation per cause (issue 12, finding 8).

All against the platform's own SeaweedFS. A timed-out write is not a refused one: the canary
retries within the tick's deadline and reports DEGRADED if writes never complete, READ_ONLY
only when the server answers a write with a refusal while reads work. `FaultProxy` (a loopback
proxy in front of the real store) stalls or refuses PUTs on demand; MinIO's refusal,
`503 SlowDownWrite`, is its stand-in because MinIO cannot run here. A revoked canary key is a
credentials verdict whose remediation re-provisions the identity, not a store restart.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from platform_defs import identities
from platform_defs.clients.health import Status, check_store
from platform_defs.clients.s3 import CANARY_PREFIX, ObjectStore
from platform_defs.endpoint import StoreEndpoint
from platform_defs.identities.admin import SeaweedFileAdmin
from platform_defs.resources.platform import PlatformResource
from tests.fault_proxy import Fault, FaultProxy
from tests.security.conftest import Platform, start_platform

pytestmark = pytest.mark.slow


@pytest.fixture
def platform(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Platform]:
    yield from start_platform(tmp_path_factory, monkeypatch)


@pytest.fixture
def proxy(platform: Platform) -> Iterator[FaultProxy]:
    server = FaultProxy(platform.settings.s3_port)
    yield server
    server.close()


def canary_through(platform: Platform, proxy: FaultProxy) -> StoreEndpoint:
    creds = identities.load(platform.settings, identities.CANARY)
    return replace(platform.root, url=proxy.url, credentials=creds)


def test_one_stalled_write_is_retried_within_the_tick(
    platform: Platform, proxy: FaultProxy
) -> None:
    proxy.fault = Fault("stall", count=1)
    report = check_store(canary_through(platform, proxy), platform.settings.bucket, timeout=0.5)
    assert proxy.faulted == 1, "the first canary write must have been stalled"
    assert report.status is Status.UP, report.detail
    assert report.metadata()["canary_attempts"] == 2


def test_writes_that_always_time_out_are_degraded_not_read_only(
    platform: Platform, proxy: FaultProxy
) -> None:
    proxy.fault = Fault("stall")
    t0 = time.monotonic()
    report = check_store(canary_through(platform, proxy), platform.settings.bucket, timeout=0.5)
    assert report.status is Status.DEGRADED, report.detail
    assert "did not complete" in report.detail and "reads work" in report.detail
    assert proxy.faulted >= 2, "the canary retries before it gives a verdict"
    assert time.monotonic() - t0 < 30, "the retries are bounded by the canary deadline"


def test_a_transient_server_error_is_retried(platform: Platform, proxy: FaultProxy) -> None:
    proxy.fault = Fault("refuse", count=1, status=500, code="InternalError")
    report = check_store(canary_through(platform, proxy), platform.settings.bucket, timeout=0.5)
    assert proxy.faulted == 1 and report.status is Status.UP, report.detail


def test_an_explicitly_refused_write_with_reads_working_is_read_only(
    platform: Platform, proxy: FaultProxy
) -> None:
    proxy.fault = Fault("refuse", status=503, code="SlowDownWrite")
    report = check_store(canary_through(platform, proxy), platform.settings.bucket, timeout=0.5)
    assert report.status is Status.READ_ONLY, report.detail
    assert "SlowDownWrite" in report.detail


def test_canary_objects_of_timed_out_writes_are_swept_by_the_canary(platform: Platform) -> None:
    """A canary write that timed out on the client may still land: the canary identity itself
    removes such versions under its prefix (permanently, no delete marker), nothing else."""
    bucket = platform.settings.bucket
    root = ObjectStore(platform.root).client
    for n in range(3):
        root.put_object(bucket, f"{CANARY_PREFIX}landed-{n}", io.BytesIO(b"late"), 4)
    root.put_object(bucket, f"{CANARY_PREFIX}landed-0", io.BytesIO(b"again"), 5)  # 2 versions
    root.put_object(bucket, "warehouse/kept", io.BytesIO(b"data"), 4)
    canary = platform.as_identity(identities.CANARY)
    future = datetime.now(UTC) + timedelta(seconds=2)  # everything so far counts as stale
    removed = canary.sweep_prefix(bucket, CANARY_PREFIX, future, limit=20, budget_seconds=30)
    assert removed == 4
    left = list(root.list_objects(bucket, prefix=CANARY_PREFIX, include_version=True))
    assert left == [], "no version and no delete marker is left under the canary prefix"
    assert root.stat_object(bucket, "warehouse/kept").size == 4


# ---- through the sensor -------------------------------------------------------------------


def tick(cursor: str | None, instance: dg.DagsterInstance) -> dg.SensorResult:
    from platform_defs.definitions import defs

    sensor = defs.resolve_sensor_def("object_store_health")
    context = dg.build_sensor_context(
        cursor=cursor, instance=instance, resources={"platform": PlatformResource()}
    )
    result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def verdict(result: dg.SensorResult) -> tuple[str, str]:
    """From the observation when the tick recorded one, else from the tick's message."""
    if not result.asset_events:
        assert result.skip_reason is not None
        status, _, detail = str(result.skip_reason.skip_message).partition(" ")
        return status, detail
    observation = result.asset_events[0]
    assert isinstance(observation, dg.AssetObservation)
    return str(observation.metadata["status"].value), str(observation.metadata["detail"].value)


def test_a_revoked_canary_key_is_reprovisioned_not_a_store_restart(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    from platform_defs.definitions import defs

    monkeypatch.setenv("PLATFORM_HEALTH_DOWN_AFTER", "1")
    instance = dg.DagsterInstance.ephemeral()
    pid = platform.store.running().pid  # type: ignore[union-attr]
    up = tick(None, instance)
    assert verdict(up)[0] == "UP"

    canary = identities.load(platform.settings, identities.CANARY)
    SeaweedFileAdmin(platform.store, platform.settings.bucket).revoke(
        identities.role(identities.CANARY), canary.access_key
    )
    deadline = time.monotonic() + 15
    while platform.as_identity(identities.CANARY).authenticates():
        assert time.monotonic() < deadline, "the store kept accepting the revoked key"
        time.sleep(0.1)

    bad = tick(up.cursor, instance)
    status, detail = verdict(bad)
    assert status == "CREDENTIALS_INVALID", detail
    assert canary.access_key in detail and "InvalidAccessKeyId" in detail
    assert len(bad.run_requests or []) == 1
    request = (bad.run_requests or [])[0]
    assert request.job_name == "reprovision_service_identities"
    assert request.tags["platform/remediation"] == "service_identities"

    run = defs.resolve_job_def(request.job_name).execute_in_process(
        instance=instance, tags=request.tags
    )
    assert run.success
    again = tick(bad.cursor, instance)
    assert verdict(again)[0] == "UP", verdict(again)[1]
    assert not again.run_requests
    assert platform.store.running().pid == pid, "the store was never restarted"  # type: ignore[union-attr]


class Writers:
    """`threads` writers doing small PUTs as the spark identity until told to stop."""

    def __init__(self, platform: Platform, threads: int, max_each: int = 200) -> None:
        creds = identities.load(platform.settings, identities.SPARK)
        self.store = ObjectStore(
            replace(platform.root, credentials=creds), timeout=30, pool_size=threads
        )
        self.bucket = platform.settings.bucket
        self.stop = threading.Event()
        self.done = 0
        self.failed = 0
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(i, max_each), daemon=True)
            for i in range(threads)
        ]

    def _run(self, index: int, max_each: int) -> None:
        for n in range(max_each):
            if self.stop.is_set():
                return
            key = f"warehouse/load/{index}/{n}"
            try:
                self.store.client.put_object(self.bucket, key, io.BytesIO(b"x" * 512), 512)
            except Exception:
                with self._lock:
                    self.failed += 1
                continue
            with self._lock:
                self.done += 1

    def __enter__(self) -> Writers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def test_no_read_only_verdict_under_a_load_of_concurrent_puts(platform: Platform) -> None:
    """Thousands of small PUTs from 200 threads while the sensor ticks (the attack's load): the
    verdict may be UP or DEGRADED, whatever the machine makes of the latency (not asserted),
    never READ_ONLY or DOWN, because no write is refused and the store is up. Before the fix
    most ticks here were READ_ONLY (one 1 s attempt; any failed write read as refused)."""
    instance = dg.DagsterInstance.ephemeral()
    statuses: list[tuple[str, str]] = []
    puts_during_tick: list[int] = []
    cursor = tick(None, instance).cursor
    with Writers(platform, threads=200) as load:
        deadline = time.monotonic() + 30
        while load.done < 100:  # the load is under way before the first tick
            assert time.monotonic() < deadline, (
                f"the writers made no progress: {load.failed} failed"
            )
            time.sleep(0.05)
        for _ in range(8):
            before = load.done
            result = tick(cursor, instance)
            cursor = result.cursor
            statuses.append(verdict(result))
            puts_during_tick.append(load.done - before)
    assert all(n > 0 for n in puts_during_tick), f"some ticks ran without load: {puts_during_tick}"
    assert not [s for s in statuses if s[0] == "READ_ONLY"], statuses
    assert {s for s, _ in statuses} <= {"UP", "DEGRADED"}, statuses
    assert load.done > 200 * 2, "a few hundred concurrent PUTs at least"

"""Object-store health sensor: classify the store every tick, record it, remediate per cause.

A tick records an `AssetObservation` and an `object_store_health` check evaluation on
`object_store` without launching a run when the verdict changed, and otherwise once per
PLATFORM_HEALTH_HEARTBEAT_SECONDS: a timeline of changes that does not bury the real
materializations under a copy of the same verdict every 30 s. Every tick names its verdict in
the tick's message ("UP (no change)"), so the sensor's tick list reads as a health log. Before
the first bootstrap the embedded store has never been started: that is NOT_READY (launch the
bootstrap), not a DOWN to remediate. After
`health_down_after` consecutive ticks with the same remediable verdict it requests one run of
that verdict's remediation, then backs off, doubling the gap while the problem stays, so a store
that cannot come back does not cause a storm of runs. The remediation fits the cause: DOWN
restarts / re-provisions the store (`remediate_object_store`); CREDENTIALS_INVALID (the canary's
key refused while root's works) re-provisions the service identities
(`reprovision_service_identities`), because restarting a store cannot fix a key. The counters
live in the sensor cursor.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace

import dagster as dg

from platform_defs import identities
from platform_defs.clients.alerts import send_alert
from platform_defs.clients.health import HealthReport, Remediation, Status, check_store
from platform_defs.errors import IdentityError, PlatformError
from platform_defs.identities import CANARY
from platform_defs.resources.platform import PlatformResource
from platform_defs.settings import PlatformSettings

from ..security.jobs import reprovision_service_identities

OBJECT_STORE = dg.AssetKey("object_store")
HEALTH_CHECK_NAME = "object_store_health"
MAX_BACKOFF_SECONDS = 3600


REMEDIABLE = frozenset({Status.DOWN, Status.CREDENTIALS_INVALID})


@dataclass
class HealthCursor:
    consecutive_down: int = 0  # ticks in a row with the same remediable verdict (see REMEDIABLE)
    last_status: str = ""
    last_remediation: float = 0.0
    backoff_seconds: float = 0.0
    remediated_status: str = ""  # the verdict the last remediation was for
    recorded_status: str = ""  # the verdict last recorded as events, and when
    recorded_at: float = 0.0

    @classmethod
    def parse(cls, raw: str | None) -> HealthCursor:
        try:
            return cls(**json.loads(raw)) if raw else cls()
        except (ValueError, TypeError):
            return cls()

    def dump(self) -> str:
        return json.dumps(asdict(self))


def advance(
    cursor: HealthCursor, status: Status, now: float, settings: PlatformSettings
) -> tuple[HealthCursor, bool]:
    """The next cursor, and whether this tick should request a remediation run.

    The backoff belongs to one cause: after a store restart, a key that is then refused is a
    new problem and gets its own remediation without waiting out the restart's backoff.
    """
    nxt = HealthCursor(**asdict(cursor))
    nxt.last_status = status.value
    if status not in REMEDIABLE:
        nxt.consecutive_down = 0
        if status is Status.UP:
            nxt.backoff_seconds = 0.0
        return nxt, False
    same = cursor.last_status == status.value
    nxt.consecutive_down = cursor.consecutive_down + 1 if same else 1
    if nxt.consecutive_down < settings.health_down_after:
        return nxt, False
    backoff = cursor.backoff_seconds if cursor.remediated_status == status.value else 0.0
    if backoff and now - cursor.last_remediation < backoff:
        return nxt, False
    nxt.last_remediation = now
    nxt.remediated_status = status.value
    base = float(settings.remediation_backoff_seconds)
    nxt.backoff_seconds = min(backoff * 2 or base, MAX_BACKOFF_SECONDS)
    return nxt, True


def evaluate_store(platform: PlatformResource) -> HealthReport:
    """One bounded health evaluation; an endpoint that cannot even be resolved is DOWN."""
    settings = platform.settings()
    t0 = time.monotonic()
    try:
        root = platform.endpoint()  # only to tell a revoked canary key from a locked-out store
        endpoint = replace(root, credentials=identities.load(settings, CANARY))
    except IdentityError as exc:  # the store may be fine; its canary identity is not there yet
        detail = str(exc).splitlines()[0]
        return HealthReport(Status.NOT_READY, detail, (time.monotonic() - t0) * 1000, [], None)
    except PlatformError as exc:
        detail = str(exc).splitlines()[0]
        if platform.target().never_provisioned():
            detail = (
                "the platform has not been bootstrapped yet: launch bootstrap_platform "
                "(UI: Jobs > bootstrap_platform > Launchpad) or run `make run`"
            )
            return HealthReport(Status.NOT_READY, detail, (time.monotonic() - t0) * 1000, [], None)
        return HealthReport(
            Status.DOWN,
            detail,
            (time.monotonic() - t0) * 1000,
            [],
            None,
            remediation=Remediation.RESTART_STORE,
        )
    return check_store(  # the canary never runs as root
        endpoint,
        settings.bucket,
        timeout=settings.health_probe_timeout_seconds,
        deadline=settings.health_canary_deadline_seconds,
        root=root,
    )


def record_verdict(
    cursor: HealthCursor, previous: HealthCursor, now: float, heartbeat: float
) -> tuple[bool, str]:
    """Whether this tick records events, and why, in the words the tick's message shows."""
    status = cursor.last_status
    if previous.recorded_status != status:
        why = f"changed from {previous.recorded_status}" if previous.recorded_status else "first"
    elif now - previous.recorded_at >= heartbeat:
        why = "heartbeat"
    else:
        return False, "no change"
    cursor.recorded_status, cursor.recorded_at = status, now
    return True, why


def health_events(report: HealthReport) -> list[dg.AssetObservation | dg.AssetCheckEvaluation]:
    metadata = {
        k: (dg.MetadataValue.float(v) if isinstance(v, float) else v)
        for k, v in report.metadata().items()
        if v is not None
    }
    return [
        dg.AssetObservation(asset_key=OBJECT_STORE, metadata=metadata),  # type: ignore[arg-type]
        dg.AssetCheckEvaluation(
            asset_key=OBJECT_STORE,
            check_name=HEALTH_CHECK_NAME,
            passed=report.status.healthy,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{report.status.value}: {report.detail}",
            metadata=metadata,  # type: ignore[arg-type]
        ),
    ]


def build_store_health_sensor(
    settings: PlatformSettings,
    remediation_job: dg.UnresolvedAssetJobDefinition,
    identities_job: dg.UnresolvedAssetJobDefinition = reprovision_service_identities,
) -> dg.SensorDefinition:
    jobs = {
        Remediation.RESTART_STORE: remediation_job,
        Remediation.REPROVISION_IDENTITIES: identities_job,
    }

    @dg.sensor(
        name="object_store_health",
        jobs=list(jobs.values()),
        minimum_interval_seconds=settings.health_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Classifies the object store (UP, STARTING, NOT_READY, DEGRADED, READ_ONLY, "
        "CREDENTIALS_INVALID, DOWN) every tick and names the verdict in the tick; records it "
        "on object_store when it changes and every PLATFORM_HEALTH_HEARTBEAT_SECONDS; after repeated DOWN ticks requests a store "
        "remediation run, after repeated CREDENTIALS_INVALID ticks a re-provisioning of the "
        "service identities.",
    )
    def object_store_health(
        context: dg.SensorEvaluationContext, platform: PlatformResource
    ) -> dg.SensorResult:
        report = evaluate_store(platform)
        previous, now, current = (
            HealthCursor.parse(context.cursor),
            time.time(),
            platform.settings(),
        )
        cursor, remediate = advance(previous, report.status, now, current)
        record, why = record_verdict(cursor, previous, now, current.health_heartbeat_seconds)
        verdict = f"{report.status.value} ({why}; {report.latency_ms:.0f} ms): {report.detail}"
        context.log.info(f"object store {verdict}")
        run_requests = []
        if remediate and report.remediation is None:
            context.log.warning(f"no remediation can fix this; {report.detail}")
        elif remediate and report.remediation is not None:
            job = jobs[report.remediation]
            summary = (
                f"object store {report.status.value} for {cursor.consecutive_down} ticks: "
                f"{report.detail}; requesting a {job.name} run (next one no sooner than "
                f"{cursor.backoff_seconds:.0f} s)"
            )
            context.log.warning(summary)
            send_alert(platform.settings().alert_webhook_url, "remediation_requested", summary)
            run_requests.append(
                dg.RunRequest(
                    run_key=f"remediate-{report.remediation.value}-{int(cursor.last_remediation)}",
                    job_name=job.name,
                    tags={
                        "platform/remediation": report.remediation.value,
                        "platform/status": report.status.value,
                    },
                )
            )
        return dg.SensorResult(
            run_requests=run_requests,
            asset_events=health_events(report) if record else [],
            cursor=cursor.dump(),
            skip_reason=None if run_requests else verdict,
        )

    return object_store_health

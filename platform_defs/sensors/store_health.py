"""Object-store health sensor: classify the store every tick, record it, remediate on DOWN.

Each tick records an `AssetObservation` and an `object_store_health` check evaluation on
`object_store` without launching a run, so the UI shows a health timeline. After
`health_down_after` consecutive DOWN ticks it requests one remediation run (re-provision the
store) and then backs off, doubling the gap while the store stays down, so a store that cannot
come back does not cause a storm of runs. The counters live in the sensor cursor.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

import dagster as dg

from platform_defs.errors import IdentityError, PlatformError
from platform_defs.identities import CANARY
from platform_defs.resources.alerts import send_alert
from platform_defs.resources.health import HealthReport, Status, check_store
from platform_defs.resources.platform import PlatformResource
from platform_defs.settings import PlatformSettings

OBJECT_STORE = dg.AssetKey("object_store")
HEALTH_CHECK_NAME = "object_store_health"
MAX_BACKOFF_SECONDS = 3600


@dataclass
class HealthCursor:
    consecutive_down: int = 0
    last_status: str = ""
    last_remediation: float = 0.0
    backoff_seconds: float = 0.0

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
    """The next cursor, and whether this tick should request a remediation run."""
    nxt = HealthCursor(**asdict(cursor))
    nxt.last_status = status.value
    if status is not Status.DOWN:
        nxt.consecutive_down = 0
        if status is Status.UP:
            nxt.backoff_seconds = 0.0
        return nxt, False
    nxt.consecutive_down += 1
    if nxt.consecutive_down < settings.health_down_after:
        return nxt, False
    if cursor.last_remediation and now - cursor.last_remediation < cursor.backoff_seconds:
        return nxt, False
    nxt.last_remediation = now
    base = float(settings.remediation_backoff_seconds)
    nxt.backoff_seconds = min(cursor.backoff_seconds * 2 or base, MAX_BACKOFF_SECONDS)
    return nxt, True


def evaluate_store(platform: PlatformResource) -> HealthReport:
    """One bounded health evaluation; an endpoint that cannot even be resolved is DOWN."""
    settings = platform.settings()
    t0 = time.monotonic()
    try:
        endpoint = platform.service_endpoint(CANARY)  # the canary never runs as root
    except IdentityError as exc:  # the store may be fine; its canary identity is not there yet
        detail = str(exc).splitlines()[0]
        return HealthReport(Status.NOT_READY, detail, (time.monotonic() - t0) * 1000, [], None)
    except PlatformError as exc:
        detail = str(exc).splitlines()[0]
        return HealthReport(Status.DOWN, detail, (time.monotonic() - t0) * 1000, [], None)
    return check_store(endpoint, settings.bucket, timeout=settings.health_probe_timeout_seconds)


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
    settings: PlatformSettings, remediation_job: dg.UnresolvedAssetJobDefinition
) -> dg.SensorDefinition:
    @dg.sensor(
        name="object_store_health",
        job=remediation_job,
        minimum_interval_seconds=settings.health_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Classifies the object store (UP, STARTING, NOT_READY, DEGRADED, READ_ONLY, "
        "DOWN) every tick and requests a remediation run after repeated DOWN ticks.",
    )
    def object_store_health(
        context: dg.SensorEvaluationContext, platform: PlatformResource
    ) -> dg.SensorResult:
        report = evaluate_store(platform)
        cursor, remediate = advance(
            HealthCursor.parse(context.cursor), report.status, time.time(), platform.settings()
        )
        context.log.info(
            f"object store {report.status.value} ({report.latency_ms:.0f} ms): {report.detail}"
        )
        run_requests = []
        if remediate:
            summary = (
                f"object store DOWN for {cursor.consecutive_down} ticks: {report.detail}; "
                f"requesting a remediation run (next one no sooner than {cursor.backoff_seconds:.0f} s)"
            )
            context.log.warning(summary)
            send_alert(platform.settings().alert_webhook_url, "remediation_requested", summary)
            run_requests.append(
                dg.RunRequest(
                    run_key=f"remediate-{int(cursor.last_remediation)}",
                    tags={
                        "platform/remediation": "object_store",
                        "platform/status": report.status.value,
                    },
                )
            )
        return dg.SensorResult(
            run_requests=run_requests, asset_events=health_events(report), cursor=cursor.dump()
        )

    return object_store_health

"""What the bootstrap checks before it provisions anything.

Each of these used to be found late and told badly: a missing Java only when Spark started
(after the store, the bucket and the catalog were set up), a busy port when the store was
launched, a read-only state directory as a raw `OSError`, wrong keys as a failure of whichever
asset first called the store. Checked first, each is one `PlatformError` whose message says what
to do, raised before anything was started or written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from platform_defs.clients.local_store import LocalStore, backends, ports
from platform_defs.clients.local_store.process import StoreState
from platform_defs.clients.s3 import ObjectStore
from platform_defs.errors import StoreUnreachableError
from platform_defs.run_lock import RunLock
from platform_defs.settings import PlatformSettings
from platform_defs.spark.java import check_java
from platform_defs.state_dir import require_writable
from platform_defs.targets.base import PlatformTarget


class RunLockResource(ConfigurableResource["RunLockResource"]):
    """Holds the state directory's run lock from the preflight step to the end of the run.

    The bootstrap runs in-process, so this resource lives as long as the run does and its
    teardown (which Dagster calls even when a step fails) releases the lock; if the process
    dies instead, the kernel does. A resource of its own, so that only runs that take the lock
    have a resource with a teardown.
    """

    _lock: RunLock | None = PrivateAttr(default=None)

    def hold(self, settings: PlatformSettings, job: str) -> RunLock:
        if self._lock is None:
            lock = RunLock(settings.state_dir, job)
            lock.acquire(settings.run_lock_wait_seconds)
            self._lock = lock
        return self._lock

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None


@dataclass
class PreflightReport:
    """What each check found, for the preflight asset's metadata."""

    state_dir: str = ""
    java: str = "not needed: no Spark step runs locally in this run"
    java_major: int | None = None
    ports_checked: list[int] = field(default_factory=list)
    credentials: str = ""


def run_preflight(
    settings: PlatformSettings, target: PlatformTarget, *, spark_may_run: bool
) -> PreflightReport:
    """Raise the first problem found; return what was checked when there is none."""
    report = PreflightReport(state_dir=str(require_writable(settings.state_dir)))
    if spark_may_run and settings.target == "local":  # on a cluster Spark runs in its own pod
        java = check_java()
        report.java, report.java_major = f"{java.executable}: {java.version_line}", java.major
    if settings.embedded_store:
        report.ports_checked = check_ports(settings)
    report.credentials = check_credentials(settings, target)
    return report


def _ours(state: StoreState | None) -> set[int]:
    """Every port the running store of this state directory listens on."""
    if state is None:
        return set()
    base = {state.s3_port, state.console_port, *state.internal_ports}
    return base | {p + ports.GRPC_OFFSET for p in base} if state.backend == "seaweedfs" else base


def check_ports(settings: PlatformSettings) -> list[int]:
    """The configured S3 and console ports (and SeaweedFS's gRPC twins) are free, or held by
    this state directory's own running store (which the run will reuse)."""
    state = LocalStore(settings).running()
    ours = _ours(state)
    backend = state.backend if state else backends.find_binary(settings.store_backend)[0]
    checked = []
    for port, variable in (
        (settings.s3_port, "PLATFORM_S3_PORT"),
        (settings.console_port, "PLATFORM_CONSOLE_PORT"),
    ):
        if port not in ours:
            ports.require_free(port, variable)
        checked.append(port)
        if backend == "seaweedfs":
            if port + ports.GRPC_OFFSET not in ours:
                ports.require_grpc_pair(port, variable)
            checked.append(port + ports.GRPC_OFFSET)
    return checked


def check_credentials(settings: PlatformSettings, target: PlatformTarget) -> str:
    """One signed request to a store that is already up; a refusal is a `CredentialsError`.

    An embedded store that is not running yet starts with these credentials, and one that runs
    but does not answer is restarted by `object_store`: neither is a preflight failure. On the
    kubernetes target `object_store` checks the keys once the rollout is known to be done.
    """
    if settings.target != "local":
        return "checked by object_store after the rollout"
    if settings.embedded_store:
        LocalStore(settings).require_configured_root()  # other root keys: one clear refusal
    if settings.embedded_store and LocalStore(settings).running() is None:
        return "embedded store not running yet: it starts with these credentials"
    endpoint = target.endpoint()
    store = ObjectStore(endpoint, timeout=settings.s3_timeout_seconds)
    try:
        store.call("list buckets", store.client.list_buckets)
    except StoreUnreachableError:
        if not settings.embedded_store:
            raise
        return "embedded store not answering: object_store restarts it"
    return f"accepted by {endpoint.url} (access key {endpoint.credentials.access_key})"

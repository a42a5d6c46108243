"""The platform as people use it: `make ui` (webserver + daemon on a persistent instance), and a
real browser driving the Dagster UI. Chromium is Debian's (`/usr/bin/chromium`); Playwright only
drives it, no browser is downloaded. Screenshots land in test-artifacts/ (gitignored)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import requests

from platform_defs import detached
from tests import process_guard
from tests.s3_servers import free_port

pytestmark = [pytest.mark.slow, pytest.mark.spark, pytest.mark.timeout(1800)]
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
# `make ui` as a terminal starts it, with SIGINT at its default disposition. A test run started
# in the background of a script (`... &`, no job control) inherits SIGINT *ignored*, an ignored
# signal stays ignored through exec, and then `dg dev` never sees the Ctrl-C the last test sends
# (found under the added load of issue 16: make ui still running 90 s after it). A shell cannot
# undo that (POSIX keeps signals ignored on entry ignored), so make is started through the exec
# the platform starts its own servers with (`detached.with_default_signals`).


@dataclass
class UI:
    url: str
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    state_dir: Path
    log: Path
    first_answer: float  # seconds from `make ui` to the webserver's first 200

    @property
    def patience(self) -> float:
        """How long to wait for something the UI or the daemon will do, in seconds, from this
        run's own pace: `make ui`'s first answer (~20 s idle, ~55 s at load 15) is the code
        location's import, the same work every later wait is made of. The waits end on the
        event; this is only their bound, so a loaded machine stretches it instead of failing."""
        return max(120.0, 6 * self.first_answer)

    @property
    def patience_ms(self) -> float:
        return self.patience * 1000

    @property
    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(self.env["DAGSTER_HOME"])


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (proc / "environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if text in cmd or text in environ:
            found.append(f"{proc.name}: {cmd[:160]}")
    return found


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    """`make ui` on a fresh state directory (timed to its first answer: it must not wait for a
    bootstrap), then the README's `dg launch` bootstrap beside it on the same instance. Every
    test of this module shares that one bootstrapped platform."""
    state = tmp_path_factory.mktemp("ui-state")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PLATFORM_", "MAKE"))},
        "PLATFORM_STATE_DIR": str(state),
        "PLATFORM_S3_PORT": str(free_port()),
        "PLATFORM_CONSOLE_PORT": str(free_port()),
        "PLATFORM_REST_CATALOG_PORT": str(free_port()),  # the bootstrap starts the REST catalog
        "PLATFORM_SPARK_CONNECT_PORT": str(free_port()),  # and its Spark steps the Connect server
        "PLATFORM_HEALTH_INTERVAL_SECONDS": "5",
        "PLATFORM_TABLES_INTERVAL_SECONDS": "5",
        "DAGSTER_HOME": str(state / "dagster"),
    }
    log = state / "make-ui.log"
    t0 = time.monotonic()
    with log.open("wb") as out:
        proc = process_guard.spawn(
            detached.with_default_signals(
                ["make", "--no-print-directory", "ui", f"UI_PORT={port}"], REPO, env
            ),
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"make ui exited {proc.returncode}:\n{log.read_text()[-4000:]}")
            try:
                if requests.get(url + "/server_info", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        else:
            pytest.fail(f"the webserver did not answer in 240 s:\n{log.read_text()[-4000:]}")
        first_answer = time.monotonic() - t0
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "make-ui-first-200.txt").write_text(f"{first_answer:.1f} s\n")
        assert not (state / "analytics" / "object-store" / "store.json").exists(), (
            "make ui started the store: it must not bootstrap before the UI answers"
        )
        bootstrap = subprocess.run(
            ["nice", "-n", "10", str(REPO / ".venv/bin/dg"), "launch", "--job",
             "bootstrap_platform", "-c", "config/bootstrap.yaml"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=1200, check=False,
        )  # fmt: skip
        output = bootstrap.stdout + bootstrap.stderr
        (state / "bootstrap.log").write_text(output)
        assert bootstrap.returncode == 0, output[-4000:]
        assert "superseded" not in output.lower(), "dg launch printed a SupersessionWarning"
        yield UI(url, proc, env, state, log, first_answer)
    finally:  # also when the start failed or timed out: stop `dg dev`, then the store
        process_guard.stop(proc.pid, grace=30)
        subprocess.run(
            ["make", "--no-print-directory", "down"], cwd=REPO, env=env, check=False, timeout=120
        )
        process_guard.stop_mentioning(state)


def test_make_ui_answers_before_any_bootstrap(ui: UI) -> None:
    # The fixture proved the store was not started before the first answer (no bootstrap ran).
    # The bound is loose for shared 2-core machines (load average 15+ measured: ~55 s, all of
    # it the code location's import); the figure is written to test-artifacts/.
    assert ui.first_answer < 180, f"make ui took {ui.first_answer:.0f} s to answer"
    text = ui.log.read_text()
    assert "SupersessionWarning" not in text and "superseded" not in text, text[-2000:]


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_browser_sees_the_graph_and_materializes_the_bucket(ui: UI) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = _browser(p)
        page = _page(browser, ui, height=1000)
        page.goto(ui.url + "/asset-groups", wait_until="networkidle")
        for group in ("platform", "storage", "warehouse", "ops"):
            button = page.get_by_role("button", name=f"asset_group {group} {group}")
            expect(button).to_be_visible(timeout=ui.patience_ms)
        page.screenshot(path=str(ARTIFACTS / "ui-asset-graph.png"))
        page.goto(ui.url + "/assets", wait_until="networkidle")
        page.screenshot(path=str(ARTIFACTS / "ui-asset-catalog.png"))
        for name in ("analytics_namespace", "object_store", "datalake_bucket", "lake_inventory"):
            expect(page.get_by_text(name, exact=True).first).to_be_visible(timeout=ui.patience_ms)

        before = {r.run_id for r in ui.instance.get_runs()}
        page.goto(ui.url + "/assets/datalake_bucket", wait_until="networkidle")
        page.screenshot(path=str(ARTIFACTS / "ui-bucket-asset.png"))
        page.get_by_role("button", name="Materialize").first.click()
        run_id = _wait_for_new_run(ui, before)
        page.goto(f"{ui.url}/runs/{run_id}", wait_until="networkidle")
        # The run's status tag turns from "Started" to "Success" live, without a reload.
        expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=ui.patience_ms)
        page.screenshot(path=str(ARTIFACTS / "ui-materialized-bucket.png"))
        browser.close()
    run = ui.instance.get_run_by_id(run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
    assert dg.AssetKey("datalake_bucket") in (run.asset_selection or set())


def _browser(p: Any) -> Any:
    return p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_the_table_asset_page_shows_its_columns_and_row_count(ui: UI) -> None:
    from playwright.sync_api import expect, sync_playwright

    event = ui.instance.get_latest_materialization_event(dg.AssetKey("lake_inventory"))
    assert event is not None and event.asset_materialization is not None
    rows = event.asset_materialization.metadata["dagster/row_count"].value
    assert isinstance(rows, int) and rows >= 1
    with sync_playwright() as p:
        browser = _browser(p)
        page = _page(browser, ui, height=1400)
        page.goto(ui.url + "/assets/lake_inventory", wait_until="networkidle")
        # The column table rendered from dagster/column_schema, and the row count stat.
        for column in ("prefix", "object_count", "total_bytes", "inventory_date"):
            expect(page.get_by_text(column, exact=True).first).to_be_visible(timeout=ui.patience_ms)
        expect(page.get_by_text("Row count", exact=False).first).to_be_visible(
            timeout=ui.patience_ms
        )
        expect(page.get_by_text(f"{rows:,}", exact=True).first).to_be_visible(
            timeout=ui.patience_ms
        )
        page.screenshot(path=str(ARTIFACTS / "ui-lake-inventory-asset.png"), full_page=True)
        browser.close()


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_a_table_a_user_creates_appears_as_an_asset(
    ui: UI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A newcomer makes `raw.newcomer_events` with pyiceberg; after a reload of the code
    location (what Deployment > Reload does) it is an asset, and the sensor records its rows."""
    import pyarrow as pa
    from playwright.sync_api import expect, sync_playwright

    from platform_defs.iceberg.catalog import load_catalog
    from platform_defs.identities import SPARK
    from platform_defs.resources.platform import PlatformResource

    for key, value in ui.env.items():
        if key.startswith("PLATFORM_"):
            monkeypatch.setenv(key, value)
    platform = PlatformResource()
    catalog = load_catalog(platform.settings(), platform.service_endpoint(SPARK))
    data = pa.table({"event_id": pa.array([1, 2, 3], pa.int64()), "kind": ["a", "b", "c"]})
    catalog.create_table("raw.newcomer_events", schema=data.schema).append(data)

    reload = requests.post(
        ui.url + "/graphql",
        json={
            "query": "mutation { reloadRepositoryLocation(repositoryLocationName: "
            '"lakehouse_platform") { __typename } }'
        },
        timeout=120,
    )
    assert reload.ok and "WorkspaceLocationEntry" in reload.text, reload.text
    asset = dg.AssetKey(["raw", "newcomer_events"])
    deadline = time.monotonic() + ui.patience
    event = None
    while time.monotonic() < deadline and event is None:
        event = ui.instance.get_latest_materialization_event(asset)
        time.sleep(2)
    assert event is not None, "the warehouse_tables sensor recorded nothing for the new table"
    mat = event.asset_materialization
    assert mat is not None and mat.metadata["dagster/row_count"].value == 3
    with sync_playwright() as p:
        browser = _browser(p)
        page = _page(browser, ui, height=1400)
        page.goto(ui.url + "/assets/raw/newcomer_events", wait_until="networkidle")
        expect(page.get_by_text("warehouse_tables").first).to_be_visible(timeout=ui.patience_ms)
        page.screenshot(path=str(ARTIFACTS / "ui-newcomer-events-asset.png"), full_page=True)
        expect(page.get_by_text("event_id", exact=True).first).to_be_visible(timeout=ui.patience_ms)
        expect(page.get_by_text("Row count", exact=False).first).to_be_visible(
            timeout=ui.patience_ms
        )
        page.screenshot(path=str(ARTIFACTS / "ui-newcomer-events-asset.png"), full_page=True)
        page.goto(ui.url + "/assets?groups=warehouse_tables", wait_until="networkidle")
        page.screenshot(path=str(ARTIFACTS / "ui-warehouse-tables.png"))
        page.goto(
            ui.url + "/locations/lakehouse_platform/sensors/object_store_health",
            wait_until="networkidle",
        )
        # A skipped tick's status tag carries the verdict as its tooltip.
        page.get_by_text("0 runs requested").nth(1).hover()
        expect(page.get_by_text("UP (no change;").first).to_be_visible(timeout=ui.patience_ms)
        page.screenshot(path=str(ARTIFACTS / "ui-health-sensor-ticks.png"))
        browser.close()


def _page(browser: Any, ui: UI, height: int) -> Any:
    """A page whose every wait (navigation, click, locator) is bounded by the run's patience,
    and which clicks Skip on the newsletter dialog a fresh instance greets a first visitor with,
    whenever it shows: on a loaded machine it can appear seconds after the page, over the
    button a test is about to click."""
    page = browser.new_page(viewport={"width": 1600, "height": height})
    page.set_default_timeout(ui.patience_ms)
    page.set_default_navigation_timeout(ui.patience_ms)
    skip = page.get_by_role("button", name="Skip")
    page.add_locator_handler(skip, lambda locator: locator.click())
    return page


def _wait_for_new_run(ui: UI, before: set[str]) -> str:
    deadline = time.monotonic() + ui.patience
    while time.monotonic() < deadline:
        new = [
            r
            for r in ui.instance.get_runs()
            if r.run_id not in before and r.job_name == "__ASSET_JOB"
        ]
        if new:
            return new[0].run_id
        time.sleep(1)
    raise AssertionError("clicking Materialize launched no run")


def test_daemon_ticks_and_ctrl_c_leaves_nothing_behind(ui: UI) -> None:
    deadline = time.monotonic() + ui.patience
    observations: list[dg.EventLogRecord] = []
    while time.monotonic() < deadline and not observations:
        observations = list(
            ui.instance.fetch_observations(dg.AssetKey("object_store"), limit=5).records
        )
        time.sleep(2)
    assert observations, "the daemon recorded no health tick"

    os.killpg(ui.proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
    ui.proc.wait(timeout=ui.patience)
    subprocess.run(["make", "--no-print-directory", "down"], cwd=REPO, env=ui.env, check=True)
    # What was signalled may still be exiting: wait for the last of them, not a guessed second.
    deadline = time.monotonic() + ui.patience
    while (leftovers := _processes_mentioning(str(ui.state_dir))) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not leftovers, "processes left behind:\n" + "\n".join(leftovers)

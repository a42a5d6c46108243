"""Failures a person will meet, each expected as ONE clear error; and the store dying mid-write."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pyiceberg.table import Table
from pyspark.sql import SparkSession

from platform_defs.credentials import Credentials
from platform_defs.endpoint import StoreEndpoint
from platform_defs.errors import CatalogError, StoreUnreachableError
from platform_defs.iceberg.catalog import load_catalog
from platform_defs.spark import jars
from platform_defs.spark.session import explain_failure
from tests.s3_servers import local_store_server
from tests.warehouse.conftest import (
    Warehouse,
    attach_catalog,
    flip_keeping_size_and_mtime,
    make_bucket,
    make_settings,
)

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def _run_job(w: Warehouse, tmp_path: Path, secret: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """The standalone job entry point, as a person would run it from a shell."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PLATFORM_", "JAVA_HOME"))}
    base.update({
        "PLATFORM_STATE_DIR": str(tmp_path / "state"), "PLATFORM_BUCKET": w.settings.bucket,
        "PLATFORM_S3_ENDPOINT": w.endpoint.url, "PLATFORM_CREDENTIALS_SOURCE": "env",
        "PLATFORM_S3_ACCESS_KEY": w.endpoint.credentials.access_key,
        "PLATFORM_S3_SECRET_KEY": secret or w.endpoint.credentials.secret_key,
        "PYTHONPATH": str(Path(__file__).parents[2]), "PLATFORM_SPARK_MODE": "session", **env,
    })  # fmt: skip
    return subprocess.run([sys.executable, "-m", "assets.spark_jobs", "lake_inventory"],
                          env=base, capture_output=True, text=True, timeout=120, cwd=tmp_path)  # fmt: skip


def _one_clear_error(proc: subprocess.CompletedProcess[str], kind: str, *needles: str) -> None:
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.stderr.count("Error: ") == 1 and f"{kind}: " in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def test_wrong_s3_secret(warehouse: Warehouse, tmp_path: Path) -> None:
    proc = _run_job(warehouse, tmp_path, secret="definitely-not-the-secret")
    _one_clear_error(
        proc, "CredentialsError", "refused the credentials", "PLATFORM_CREDENTIALS_SOURCE"
    )
    assert "definitely-not-the-secret" not in proc.stderr


def test_missing_jars(warehouse: Warehouse, tmp_path: Path) -> None:
    proc = _run_job(warehouse, tmp_path, PLATFORM_JAR_CACHE_DIR=str(tmp_path / "empty"))
    _one_clear_error(proc, "SparkJarsError", "iceberg-spark-runtime-4.1_2.13:1.12.0 is missing",
                     "python -m platform_defs.spark.jars fetch")  # fmt: skip


def test_corrupted_jar_with_size_and_mtime_kept(warehouse: Warehouse, tmp_path: Path) -> None:
    """Copies of the cached core jars (never the shared cache itself), one changed in place."""
    cache = tmp_path / "jars"
    cache.mkdir()
    for spec in jars.select(jars.read_lock(), ["core"]):
        for src in warehouse.settings.resolved_jar_cache_dir.glob(spec.filename + "*"):
            shutil.copy2(src, cache / src.name)  # the jar and any stamp, mtimes kept
    spec = next(s for s in jars.read_lock() if s.artifact_id == "postgresql")
    jar = cache / spec.filename
    flip_keeping_size_and_mtime(jar, jar.stat().st_size // 2)
    actual = jars.sha256_of(jar)
    proc = _run_job(warehouse, tmp_path, PLATFORM_JAR_CACHE_DIR=str(cache))
    _one_clear_error(proc, "SparkJarsError", f"{spec.coordinate} at {jar} is corrupted",
                     f"expected sha256 {spec.sha256}", f"found {actual}",
                     "python -m platform_defs.spark.jars fetch --group core")  # fmt: skip


def test_missing_java(warehouse: Warehouse, tmp_path: Path) -> None:
    (tmp_path / "jdk").mkdir()
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                           if not (Path(p) / "java").exists())  # fmt: skip
    proc = _run_job(warehouse, tmp_path, JAVA_HOME=str(tmp_path / "jdk"), PATH=path)
    _one_clear_error(proc, "JavaError", "Java 17 or 21", "JAVA_HOME")


def test_bad_catalog_uri(warehouse: Warehouse, tmp_path: Path) -> None:
    for uri in ("postgresql+psycopg2://iceberg:pw-hidden@127.0.0.1:1/catalog", "nonsense://x"):
        settings = make_settings(tmp_path, warehouse.settings.bucket, catalog_uri=uri)
        with pytest.raises(CatalogError) as info:
            load_catalog(settings, warehouse.endpoint)
        message = str(info.value)
        assert "pw-hidden" not in message and "PLATFORM_CATALOG_URI" in message
        assert uri.split("@")[-1] in message and "\n" not in message


def _big_append(spark: SparkSession, table: str, rows: int) -> None:
    spark.range(rows).selectExpr("id", "repeat(sha2(CAST(id AS STRING), 256), 4) AS payload") \
        .repartition(4).writeTo(table).append()  # fmt: skip


def _wait_for_running_tasks(spark: SparkSession, timeout: float = 240.0) -> None:
    """Until the write in flight runs a task: the event the store's death must follow (a fixed
    sleep was both too short on a loaded machine and, on a fast one, longer than the write)."""
    tracker = spark.sparkContext.statusTracker()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for stage in tracker.getActiveStageIds():
            info = tracker.getStageInfo(stage)
            if info is not None and info.numActiveTasks > 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"the write ran no task within {timeout:.0f} s")


def _rows_when_readable(table: Table, timeout: float = 60.0) -> int:
    """weed answers /healthz before its volume server has re-registered: retry reads a while."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return int(table.scan().to_arrow().num_rows)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_store_killed_mid_write(spark: SparkSession, tmp_path: Path) -> None:
    with local_store_server(tmp_path / "store", "seaweedfs") as server:
        assert server.store is not None
        make_bucket(server.endpoint, "killme")
        settings = make_settings(tmp_path / "state", "killme", catalog_name="killcat")
        attach_catalog(spark, settings, server.endpoint)
        table = "killcat.k.big"
        spark.sql("CREATE NAMESPACE IF NOT EXISTS killcat.k")
        spark.sql(f"CREATE TABLE {table} (id BIGINT, payload STRING) USING iceberg")
        spark.range(1000).selectExpr("id", "'x' AS payload").writeTo(table).append()
        before = load_catalog(settings, server.endpoint).load_table("k.big").current_snapshot()
        failure: list[BaseException] = []

        def write() -> None:
            try:
                _big_append(spark, table, 2_000_000)
            except BaseException as exc:
                failure.append(exc)

        writer = threading.Thread(target=write)
        writer.start()
        _wait_for_running_tasks(spark)
        assert writer.is_alive(), "the write finished before the store was killed"
        os.kill(server.store.running().pid, signal.SIGKILL)  # type: ignore[union-attr]
        writer.join(timeout=240)
        assert not writer.is_alive() and failure, "the write did not fail with the store down"
        error = explain_failure(failure[0], settings, server.endpoint)
        print(f"\nexplained as {type(error).__name__}: {error}")
        assert isinstance(error, StoreUnreachableError), str(error)
        assert server.endpoint.url in str(error) and "re-run" in str(error)
        server.store.ensure_running()
        after = load_catalog(settings, server.endpoint).load_table("k.big")
        assert before is not None and after.current_snapshot() == before
        assert _rows_when_readable(after) == 1000
        spark.sql(f"REFRESH TABLE {table}")
        _big_append(spark, table, 2_000_000)
        row = spark.sql(f"SELECT count(*) AS n, count(DISTINCT id) AS d FROM {table}").first()
        assert row is not None and (row["n"], row["d"]) == (2_001_000, 2_000_000)


def test_explain_failure_keeps_first_line_and_masks(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "lake", catalog_uri="postgresql://u:pw-x@h/db")
    ep = StoreEndpoint(url="http://127.0.0.1:9", credentials=Credentials("abc", "12345678"))
    err = explain_failure(RuntimeError("boom\njava.sql.SQLException: no route"), settings, ep)
    assert isinstance(err, CatalogError) and "pw-x" not in str(err) and "no route" in str(err)

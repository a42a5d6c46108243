"""The benchmark suite's record and report, without running a benchmark: a broken writer would
otherwise only show after a ten-minute `make bench`."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bench.common import Result, read_results, run_measured, write_results
from bench.report import write_report


def sample_results() -> list[Result]:
    return [
        Result("ingest", f"spark, {gib} GiB", mbs, "MB/s", "raw PUT", 100.0, ">= 0.6x raw PUT",
               met=mbs >= 60, samples=[mbs - 1, mbs, mbs + 2], baseline_samples=[99.0, 101.0],
               extra={"scale": gib, "scale_unit": "GiB", "series": "spark"})
        for gib, mbs in ((1, 30.0), (4, 45.0))
    ] + [Result("bootstrap", "warm", 2.0, "s", "store start", 0.5, "< 3 s", met=True)]  # fmt: skip


def test_ratio_spread_and_json_round_trip(tmp_path: Path) -> None:
    results = sample_results()
    assert results[0].ratio == 0.3
    assert results[0].spread == (29.0, 32.0)
    write_results(results, tmp_path / "r.json")
    assert read_results(tmp_path / "r.json") == results


def test_report_has_every_figure_and_its_plots(tmp_path: Path) -> None:
    meta = {"date": "d", "commit": "c", "cores": 2, "memory_gib": 24, "kernel": "k",
            "python": "3.11", "load_average": (1.0, 1.0, 1.0)}  # fmt: skip
    report = write_report(sample_results(), tmp_path, meta, {"sensor": "exit status 1"})
    text = report.read_text()
    assert (
        "| ingest | spark, 4 GiB | 45.00 MB/s | 44.00-47.00 | raw PUT: 100.00 MB/s | 0.45x" in text
    )
    assert "`sensor`: exit status 1" in text
    for png in ("ratios.png", "ingest.png", "ingest-scale.png", "bootstrap.png"):
        assert (tmp_path / png).stat().st_size > 1000
    data = json.loads((tmp_path / "results.json").read_text())
    assert [r["name"] for r in data["results"]] == ["spark, 1 GiB", "spark, 4 GiB", "warm"]


def test_run_measured_sees_the_peak_of_the_process() -> None:
    code = "b = bytearray(200 * 1024 * 1024); import time; time.sleep(0.3)"
    measured = run_measured(["python3", "-c", code], dict(os.environ))
    assert measured.returncode == 0
    assert measured.peak_rss > 200 * 1024 * 1024
    assert measured.jvm_peak_rss == 0

"""Writers for one suite run: results.json, report.md and the matplotlib figures beside them.

The JSON is the record (every sample, so a later run can be compared without re-measuring); the
Markdown is what a person reads, with each figure next to its baseline, ratio and goal. The plots
use the Agg backend: benchmarks run on machines without a display.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import ROOT, Result

ALL_RATIOS = "ratios.png"


def machine() -> dict[str, Any]:
    """What the figures were measured on: they mean little without it."""
    mem = 0
    for ln in Path("/proc/meminfo").read_text().splitlines():
        if ln.startswith("MemTotal:"):
            mem = int(ln.split()[1]) * 1024
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem / (1 << 30), 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "commit": commit,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        # other work on the machine moves absolute figures (ratios less): record it
        "load_average": os.getloadavg(),
    }


def write_json(results: list[Result], path: Path, meta: dict[str, Any]) -> None:
    data = {"machine": meta, "results": [r.to_json() for r in results]}
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_ratios(results: list[Result], path: Path) -> None:
    """Every ratio on one log axis: the overview of where time and memory go."""
    plt = _plt()
    shown = [r for r in results if r.baseline_value]
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(shown) + 1.5))
    colours = {True: "tab:green", False: "tab:red", None: "tab:gray"}
    labels = [f"{r.bench}: {r.name}" for r in shown]
    ax.barh(labels, [r.ratio for r in shown], color=[colours[r.met] for r in shown])
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("ratio to baseline (log; green meets its goal, red misses, grey: no goal)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_values(bench: str, results: list[Result], path: Path) -> None:
    """Each figure next to its baseline, with min-max spread, one panel per unit."""
    plt = _plt()
    by_unit: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_unit[r.unit].append(r)
    fig, axes = plt.subplots(len(by_unit), 1, figsize=(10, 2.6 * len(by_unit) + 0.5))
    axes = list(axes) if len(by_unit) > 1 else [axes]
    for ax, (unit, rs) in zip(axes, by_unit.items(), strict=True):
        ys = range(len(rs))
        for offset, attr, label in ((-0.2, "value", "figure"), (0.2, "baseline", "baseline")):
            vals = [r.value if attr == "value" else r.baseline_value for r in rs]
            spreads = [r.samples if attr == "value" else r.baseline_samples for r in rs]
            err = [
                [v - min(s or [v]) for v, s in zip(vals, spreads, strict=True)],
                [max(s or [v]) - v for v, s in zip(vals, spreads, strict=True)],
            ]
            ax.barh([y + offset for y in ys], vals, height=0.4, xerr=err, label=label)
        ax.set_yticks(list(ys), [r.name for r in rs])
        ax.invert_yaxis()
        ax.set_xlabel(unit)
        ax.legend(loc="lower right", fontsize="small")
    fig.suptitle(f"{bench}: medians, min-max spread")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_scale(bench: str, results: list[Result], path: Path) -> bool:
    """Figures that carry extra['scale'] (GiB, objects) as lines, one panel per unit."""
    scaled = [r for r in results if "scale" in r.extra]
    xs = {r.extra["scale"] for r in scaled}
    if len(xs) < 2:
        return False
    plt = _plt()
    units = sorted({r.unit for r in scaled})
    fig, axes = plt.subplots(1, len(units), figsize=(5.5 * len(units), 4))
    axes = list(axes) if len(units) > 1 else [axes]
    for ax, unit in zip(axes, units, strict=True):
        series: dict[str, list[Result]] = defaultdict(list)
        for r in scaled:
            if r.unit == unit:
                series[str(r.extra.get("series", r.name))].append(r)
        baselines: dict[str, dict[float, float]] = defaultdict(dict)
        for name, rs in series.items():
            rs.sort(key=lambda r: float(r.extra["scale"]))
            ax.plot([r.extra["scale"] for r in rs], [r.value for r in rs], marker="o", label=name)
            for r in rs:
                if not r.baseline_name.startswith("same at"):  # growth ratios: no line
                    baselines[r.baseline_name][r.extra["scale"]] = r.baseline_value
        for name, points in baselines.items():
            x = sorted(points)
            ax.plot(
                x, [points[v] for v in x], linestyle="--", marker=".", label=f"{name} (baseline)"
            )
        ax.set_xscale("log")
        ax.set_xticks(sorted(xs), [f"{x:g}" for x in sorted(xs)])
        ax.minorticks_off()
        ax.set_xlabel(str(scaled[0].extra.get("scale_unit", "scale")))
        ax.set_ylabel(unit)
        ax.legend(fontsize="small")
    fig.suptitle(f"{bench}: growth with size")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def table(results: list[Result]) -> list[str]:
    rows = [
        "| benchmark | figure | median | spread (min-max) | baseline | ratio | goal | meets |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lo, hi = r.spread
        met = {True: "yes", False: "**no**", None: "-"}[r.met]
        rows.append(
            f"| {r.bench} | {r.name} | {r.value:.2f} {r.unit} | {lo:.2f}-{hi:.2f} | "
            f"{r.baseline_name}: {r.baseline_value:.2f} {r.unit} | {r.ratio:.2f}x | "
            f"{r.goal or '(none set)'} | {met} |"
        )
    return rows


def write_report(
    results: list[Result], out: Path, meta: dict[str, Any], failures: dict[str, str]
) -> Path:
    """results.json + report.md + PNGs in `out`; returns the Markdown path."""
    out.mkdir(parents=True, exist_ok=True)
    write_json(results, out / "results.json", meta)
    lines = [
        "# Benchmark report",
        "",
        f"{meta['date']}, commit {meta['commit']}, {meta['cores']} cores, "
        f"{meta['memory_gib']} GiB RAM, Linux {meta['kernel']}, Python {meta['python']}.",
        f"Load average at the end (1/5/15 min): {', '.join(f'{x:.1f}' for x in meta['load_average'])}.",
        "Medians over repeated runs; ratio = figure / baseline measured in the same run.",
        "",
        *table(results),
        "",
    ]
    if failures:
        lines += ["## Benchmarks that failed", ""]
        lines += [f"- `{name}`: {why}" for name, why in failures.items()] + [""]
    if results:
        plot_ratios(results, out / ALL_RATIOS)
        lines += ["## Ratios", "", f"![ratios]({ALL_RATIOS})", ""]
    benches = list(dict.fromkeys(r.bench for r in results))
    for bench in benches:
        rs = [r for r in results if r.bench == bench]
        plot_values(bench, rs, out / f"{bench}.png")
        lines += [f"## {bench}", "", f"![{bench}]({bench}.png)", ""]
        if plot_scale(bench, rs, out / f"{bench}-scale.png"):
            lines += [f"![{bench} scale]({bench}-scale.png)", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path

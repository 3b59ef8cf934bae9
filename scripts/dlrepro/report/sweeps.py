"""The comparison of a sweep's points: a table (mean ± std over seeds per point, the best
and the lecture's point marked) and a plot (metric vs parameter, heat map for two)."""

from __future__ import annotations

import math

from ..sweeps import METRIC, Sweep, format_value, is_lecture_point
from ..tables import combine_labels, fmt_mean_std, mean_std, write_table
from .plots import pyplot, save_figure


def comparison_rows(sweep: Sweep, runs: list[dict]) -> list[dict]:
    """One row per point (configured order): its values, seeds, mean/std/n of the metric
    (fractions), epochs, data label, and the best / lecture marks."""
    by_point: dict[str, list[dict]] = {}
    for run in runs:
        by_point.setdefault(run["point"], []).append(run)
    rows = []
    for path, values in sweep.points.items():
        group = sorted(by_point.get(path, []), key=lambda r: r["seed"])
        mean, std, n = mean_std(r["accuracy"] for r in group)
        epochs = sorted({int(r["epochs"]) for r in group})
        rows.append(
            {
                "point": path,
                "values": values,
                "seeds": [int(r["seed"]) for r in group],
                "mean": mean,
                "std": std,
                "n": n,
                "epochs": epochs,
                "data": combine_labels(r["source_label"] for r in group) if group else "not run",
                "best": False,
                "lecture": bool(group) and is_lecture_point(sweep, group[0]["settings"]),
            }
        )
    scored = [r for r in rows if r["n"] and not math.isnan(r["mean"])]
    if scored:
        max(scored, key=lambda r: r["mean"])["best"] = True  # first of equals
    return rows


def mark(row: dict) -> str:
    return ", ".join(m for m, on in (("best", row["best"]), ("lecture", row["lecture"])) if on)


def write_comparison(sweep: Sweep, rows: list[dict], csv_path, md_path, prov: dict | None = None) -> None:
    """results/tables/sweep_<name>.csv (numbers, %) and .md (mean ± std)."""
    import pandas as pd

    metric = METRIC[sweep.experiment]
    csv_rows, md_rows = [], []
    for r in rows:
        values = {p: format_value(r["values"].get(p)) for p in sweep.parameters}
        common = {"epochs": ", ".join(map(str, r["epochs"])), "seeds": ", ".join(map(str, r["seeds"]))}
        csv_rows.append(
            {
                **values,
                **common,
                "n": r["n"],
                f"{metric} mean (%)": round(100 * r["mean"], 4) if r["n"] else None,
                f"{metric} std (%)": None if math.isnan(r["std"]) else round(100 * r["std"], 4),
                "data": r["data"],
                "mark": mark(r),
            }
        )
        md_rows.append(
            {
                **values,
                **common,
                f"{metric} (%)": fmt_mean_std(r["mean"], r["std"], r["n"], scale=100),
                "data": r["data"],
                "": mark(r),
            }
        )
    fixed = ", ".join(f"{k} {format_value(v)}" for k, v in sweep.settings.items())
    notes = [
        f"{metric}: mean ± sample std over the seeds of each point, in %",
        "best: the highest mean; lecture: the point whose swept values are the lecture's "
        "(the settings not swept are the configured ones)",
        f"experiment {sweep.experiment}"
        + (f", model {sweep.model}" if sweep.model else "")
        + (f"; fixed for every point: {fixed}" if fixed else ""),
    ]
    labels = {r["data"] for r in rows}
    if labels - {"real"}:
        notes.append(
            "data: " + ", ".join(sorted(labels)) + " - rows not computed from real data are no reproduction"
        )
    title = f"Sweep {sweep.name}: {sweep.describe()}"
    write_table(pd.DataFrame(csv_rows), csv_path, md_path, title, notes, prov, md_df=pd.DataFrame(md_rows))


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def plot_sweep(sweep: Sweep, rows: list[dict], path) -> str:
    """One parameter: the metric vs its values (error bars: std over seeds); two parameters:
    a heat map of the means; more (or explicit points): one bar per point. Returns the kind."""
    plt = pyplot()
    metric = METRIC[sweep.experiment]
    params = sweep.parameters
    pct = [100 * r["mean"] if r["n"] else float("nan") for r in rows]
    err = [0.0 if math.isnan(r["std"]) else 100 * r["std"] for r in rows]
    grid = {tuple(format_value(r["values"].get(p)) for p in params) for r in rows}
    axes_values = [list(dict.fromkeys(format_value(r["values"].get(p)) for r in rows)) for p in params]
    full_grid = len(grid) == math.prod(len(v) for v in axes_values)
    if len(params) == 1:
        kind = "line"
        fig, ax = plt.subplots(figsize=(6, 4))
        raw = [r["values"].get(params[0]) for r in rows]
        if _numeric(raw):
            x = [float(v) for v in raw]
            if min(x) > 0 and max(x) / min(x) >= 50:
                ax.set_xscale("log")
        else:
            x = list(range(len(rows)))
            ax.set_xticks(x, [format_value(v) for v in raw])
            ax.set_xlim(-0.5, len(rows) - 0.5)
        ax.errorbar(x, pct, yerr=err, marker="o", capsize=4, linestyle="-" if _numeric(raw) else "none")
        for xi, yi, r in zip(x, pct, rows, strict=True):
            if mark(r):
                ax.annotate(mark(r), (xi, yi), textcoords="offset points", xytext=(6, 6), fontsize=8)
        ax.margins(y=0.15)
        ax.set_xlabel(params[0])
        ax.set_ylabel(f"{metric} (%)")
    elif len(params) == 2 and full_grid:
        import numpy as np

        kind = "heatmap"
        xs, ys = axes_values[1], axes_values[0]
        data = np.full((len(ys), len(xs)), np.nan)
        fig, ax = plt.subplots(figsize=(1.6 * len(xs) + 3, 1.0 * len(ys) + 2.5))
        for r, value in zip(rows, pct, strict=True):
            i = ys.index(format_value(r["values"].get(params[0])))
            j = xs.index(format_value(r["values"].get(params[1])))
            data[i, j] = value
        image = ax.imshow(data, cmap="viridis", aspect="auto")
        for r, value, e in zip(rows, pct, err, strict=True):
            i = ys.index(format_value(r["values"].get(params[0])))
            j = xs.index(format_value(r["values"].get(params[1])))
            text = f"{value:.2f}\n± {e:.2f}" + (f"\n{mark(r)}" if mark(r) else "")
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white")
        ax.set_xticks(range(len(xs)), xs)
        ax.set_yticks(range(len(ys)), ys)
        ax.set_xlabel(params[1])
        ax.set_ylabel(params[0])
        fig.colorbar(image, ax=ax, label=f"{metric} (%), mean over seeds")
    else:
        kind = "bars"
        fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.5))
        labels = [r["point"].replace("/", ", ") + (f" ({mark(r)})" if mark(r) else "") for r in rows]
        ax.barh(range(len(rows)), pct, xerr=err, capsize=3)
        ax.set_yticks(range(len(rows)), labels, fontsize=8)
        ax.invert_yaxis()
        finite = [v for v in pct if not math.isnan(v)]
        if finite:
            ax.set_xlim(max(0.0, min(finite) - 5), min(100.0, max(finite) + 2))
        ax.set_xlabel(f"{metric} (%)")
    seeds = ", ".join(map(str, sweep.seeds))
    data = ", ".join(sorted({r["data"] for r in rows}))
    ax.set_title(f"Sweep {sweep.name} ({data} data, seeds {seeds})", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, "png")
    return kind

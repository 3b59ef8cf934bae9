"""The reproduction table (rule report_reproduction): one row per figure published in the lecture
(``dlrepro.lecture``) plus the "beyond the lecture" rows, each computed from the per-run metrics
files, and its CSV/Markdown/HTML files; the notes under it come from :mod:`.notes`.  A row
computed from stand-in or synthetic data, or from runs capped below the lecture's epochs,
never says "within tolerance: yes".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from .. import lecture as L
from ..io import write_text
from ..names import (
    BEYOND,
    EXPERIMENTS,
    INDIAN_PINES_SPLITS,
    LECTURE,
    MNIST_MODELS,
    MNIST_ORDER,
    NOT_RUN,
    SENTIMENT_SPLITS,
    UNAVAILABLE,
)
from ..tables import combine_labels, fmt_mean_std, mean_std, to_markdown, write_table
from .html import markdown_to_html
from .notes import isna, reproduction_notes

# columns of the CSV (machine-readable) and of the Markdown/HTML view (for readers)
CSV_COLUMNS = [
    "section",
    "experiment",
    "model",
    "setting",
    "metric",
    "lecture_pct",
    "ours_pct",
    "mean_pct",
    "std_pct",
    "n_seeds",
    "seeds",
    "epochs",
    "difference_pts",
    "tolerance_pts",
    "within_tolerance",
    "data_source",
    "computed_on",
]
MD_COLUMNS = {
    "section": "row",
    "experiment": "experiment",
    "model": "model",
    "metric": "metric",
    "lecture_pct": "lecture %",
    "ours_pct": "ours % (mean ± std)",
    "n_seeds": "seeds",
    "epochs": "epochs",
    "difference_pts": "difference (pts)",
    "within_tolerance": "within tolerance",
    "data_source": "data",
    "computed_on": "computed on",
}


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Figure:
    """One row of the reproduction table: what is compared and how."""

    experiment: str
    key: tuple
    model: str
    setting: str
    metric: str
    lecture: float | None  # fraction
    tolerance: str | None  # key of reporting.tolerances
    section: str = LECTURE
    epochs: int | None = None  # the lecture's training epochs


def lecture_figures() -> list[Figure]:
    """The lecture's published figures, from :mod:`dlrepro.lecture` (the one place)."""
    figures = []
    for (model, epochs), value in sorted(
        L.MNIST.items(), key=lambda kv: (MNIST_ORDER.index(kv[0][0]), kv[0][1])
    ):
        figures.append(
            Figure(
                "mnist",
                (model, epochs),
                MNIST_MODELS[model],
                f"{epochs} epochs",
                "test accuracy",
                value,
                f"mnist_{model}",
                epochs=epochs,
            )
        )
    figures.append(
        Figure(
            "sentiment",
            ("lstm", "lecture", "all"),
            "LSTM",
            SENTIMENT_SPLITS["lecture"],
            "test accuracy",
            L.SI650["accuracy"],
            "sentiment",
            epochs=L.SI650["epochs"],
        )
    )
    figures.append(
        Figure(
            "indian_pines",
            ("random",),
            "3-D CNN",
            INDIAN_PINES_SPLITS["random"],
            "overall accuracy",
            L.INDIAN_PINES["overall_accuracy"],
            "indian_pines",
            epochs=L.INDIAN_PINES["epochs"],
        )
    )
    return figures


def beyond_figures() -> list[Figure]:
    """Rows the lecture does not report: honest splits and the baseline."""
    return [
        Figure(
            "sentiment",
            ("lstm", "lecture", "unseen"),
            "LSTM",
            "lecture split, only test rows whose input never occurs in training",
            "test accuracy",
            None,
            None,
            BEYOND,
        ),
        Figure(
            "sentiment",
            ("lstm", "grouped", "all"),
            "LSTM",
            SENTIMENT_SPLITS["grouped"],
            "test accuracy",
            None,
            None,
            BEYOND,
        ),
        Figure(
            "sentiment",
            ("majority", "lecture", "all"),
            "majority-class baseline",
            SENTIMENT_SPLITS["lecture"],
            "test accuracy",
            None,
            None,
            BEYOND,
        ),
        Figure(
            "sentiment",
            ("majority", "grouped", "all"),
            "majority-class baseline",
            SENTIMENT_SPLITS["grouped"],
            "test accuracy",
            None,
            None,
            BEYOND,
        ),
        Figure(
            "indian_pines",
            ("disjoint",),
            "3-D CNN",
            INDIAN_PINES_SPLITS["disjoint"],
            "overall accuracy",
            None,
            None,
            BEYOND,
        ),
    ]


@dataclass
class Measured:
    """What the runs of one row give."""

    values: list[float]
    seeds: list[int]
    labels: list[str]
    epochs: list[tuple[int, int]]  # (trained, requested) per run
    deterministic: bool = False  # a baseline: one value, no seeds
    details: list[str] = field(default_factory=list)  # shown beside the setting (e.g. ground truth)
    runtimes: list[str] = field(default_factory=list)  # backend and device of each run


def runtime_text(run: dict) -> str:
    """``jax 0.11.2 on GPU NVIDIA H200`` (``, not deterministic`` when it was not): where a
    run's metrics were computed (``runtime`` of its metrics.json; older runs: not recorded)."""
    rt = run.get("runtime")
    if not rt:
        return "not recorded"
    version = rt.get(rt.get("backend", ""), "")
    text = f"{rt.get('backend', '?')} {version}".strip() + f" on {rt.get('device', '?')}"
    return text if rt.get("deterministic", True) else text + ", not deterministic"


def _group_runs(runs: dict) -> dict[tuple, Measured]:
    """Measured values per (experiment, key) from the per-run metrics dicts."""
    out: dict[tuple, Measured] = {}

    def add(experiment, key, value, run, deterministic=False):
        m = out.setdefault((experiment, key), Measured([], [], [], [], deterministic))
        m.values.append(float(value) if value is not None else float("nan"))
        m.labels.append(run.get("source_label", "unknown"))
        if not deterministic:  # a baseline trains nothing
            m.runtimes.append(runtime_text(run))
        if "seed" in run:
            m.seeds.append(int(run["seed"]))
        if "epochs" in run:
            m.epochs.append((int(run["epochs"]), int(run.get("epochs_requested", run["epochs"]))))

    for run in runs.get("mnist", []):
        add("mnist", (run["model"], int(run["epochs_requested"])), run["accuracy"], run)
    for run in runs.get("sentiment", []):
        for subset in ("all", "unseen") if run["split"] != "grouped" else ("all",):  # grouped: unseen = all
            metrics = run["subsets"].get(subset)
            if metrics and metrics.get("n", 0) > 0:
                add("sentiment", ("lstm", run["split"], subset), metrics["accuracy"], run)
    for base in runs.get("sentiment_baselines", []):
        add("sentiment", ("majority", base["split"], "all"), base["subsets"]["all"]["accuracy"], base, True)
    for run in runs.get("indian_pines", []):
        scene = run.get("scene", "indian_pines")
        # another scene is never compared with the lecture's Indian Pines figure: a row of its own
        key = (run["split"],) if scene == "indian_pines" else (f"scene {scene}, {run['split']}",)
        add("indian_pines", key, run["accuracy"], run)
        gt = run.get("ground_truth")
        detail = f"{str(gt).upper()} ground truth (lecture: Purdue)"
        details = out[("indian_pines", key)].details
        if scene == "indian_pines" and gt and gt != "purdue" and detail not in details:
            details.append(detail)
    return out


def extra_figures(measured: dict[tuple, Measured], known: Iterable[Figure]) -> list[Figure]:
    """Configured runs the lecture has no figure for (e.g. MNIST at other epochs)."""
    seen = {(f.experiment, f.key) for f in known}
    extra = []
    for experiment, key in sorted(measured, key=str):
        if (experiment, key) in seen:
            continue
        if experiment == "mnist":
            model, epochs = key
            extra.append(
                Figure(
                    "mnist",
                    key,
                    MNIST_MODELS.get(model, model),
                    f"{epochs} epochs",
                    "test accuracy",
                    None,
                    None,
                    BEYOND,
                )
            )
        elif experiment == "indian_pines":
            extra.append(
                Figure(
                    "indian_pines", key, "3-D CNN", f"{key[0]} split", "overall accuracy", None, None, BEYOND
                )
            )
        elif experiment == "sentiment":
            model, split, subset = key
            name = "LSTM" if model == "lstm" else "majority-class baseline"
            what = "" if subset == "all" else f", {subset} test rows"
            extra.append(
                Figure("sentiment", key, name, f"{split} split{what}", "test accuracy", None, None, BEYOND)
            )
    return extra


def _epochs_text(epochs: list[tuple[int, int]]) -> str:
    pairs = sorted(set(epochs))
    return ", ".join(str(t) if t == r else f"{t} of {r}" for t, r in pairs)


def verdict(lecture, mean, n, label, tolerance, epochs_differ: str = "") -> str:
    """The "within tolerance" cell: yes/no only for a real-data comparison at the lecture's epochs."""
    if n == 0:
        return NOT_RUN
    if lecture is None:
        return "n/a (no lecture figure)"
    if label == "user":
        return "n/a (user data: your own files, not judged against the lecture)"
    if label != "real":
        return f"n/a ({label} data)"
    if epochs_differ:
        return f"n/a ({epochs_differ})"
    if tolerance is None or math.isnan(mean):
        return "n/a"
    return "yes" if abs(mean - lecture) * 100 <= tolerance + 1e-9 else "no"


def _pct(value, digits=2):
    return (
        None
        if value is None or (isinstance(value, float) and math.isnan(value))
        else round(value * 100, digits)
    )


def build_row(
    fig: Figure,
    measured: Measured | None,
    tolerances: dict,
    enabled: bool,
    unavailable: str | None = None,
    not_configured: str = "not in the configuration",
) -> dict:
    """One row of the reproduction table (CSV columns); ``unavailable``: why the experiment's
    data could not be had (its rows say "not run — data unavailable" with that reason);
    ``not_configured``: why an enabled experiment has no run for this figure."""
    tol = tolerances.get(fig.tolerance) if fig.tolerance else None
    row = {
        "section": fig.section,
        "experiment": EXPERIMENTS[fig.experiment],
        "model": fig.model,
        "setting": fig.setting,
        "metric": fig.metric,
        "lecture_pct": _pct(fig.lecture),
        "tolerance_pts": tol,
    }
    if measured is None or not measured.values:
        reason = f"experiments.{fig.experiment}: false" if not enabled else not_configured
        ours = f"{NOT_RUN} ({reason})"
        if enabled and unavailable:
            ours = f"{UNAVAILABLE}: {unavailable}"
        row.update(
            ours_pct=ours,
            mean_pct=None,
            std_pct=None,
            n_seeds=0,
            seeds="",
            epochs="",
            difference_pts=None,
            within_tolerance=NOT_RUN,
            data_source="",
            computed_on="",
        )
        return row
    mean, std, n = mean_std(measured.values)
    label = combine_labels(measured.labels)
    trained = sorted({t for t, _ in measured.epochs})
    epochs_differ = ""
    if fig.epochs is not None and trained and trained != [fig.epochs]:
        epochs_differ = f"{_epochs_text(measured.epochs)} epochs, lecture {fig.epochs}"
    if measured.deterministic:
        ours = "n/a" if math.isnan(mean) else f"{mean * 100:.2f} (deterministic)"
    else:
        ours = fmt_mean_std(mean, std, n, scale=100)
    if measured.details:
        row["setting"] = f"{fig.setting}; {'; '.join(measured.details)}"
    row.update(
        ours_pct=ours,
        mean_pct=_pct(mean, 3),
        std_pct=None if n < 2 else _pct(std, 3),
        n_seeds=0 if measured.deterministic else n,
        seeds=",".join(str(s) for s in sorted(measured.seeds)),
        epochs=_epochs_text(measured.epochs),
        difference_pts=None if fig.lecture is None else round((mean - fig.lecture) * 100, 2),
        within_tolerance=verdict(fig.lecture, mean, n, label, tol, epochs_differ),
        data_source=label,
        computed_on="; ".join(sorted(set(measured.runtimes))),
    )
    return row


def reproduction_table(runs: dict, tolerances: dict, enabled: dict, unavailable: dict | None = None):
    """The reproduction table (DataFrame with :data:`CSV_COLUMNS`) and its notes.

    ``runs``: lists of metrics dicts under ``mnist``, ``sentiment``, ``sentiment_baselines``
    and ``indian_pines`` (as written by the evaluation / baseline rules); ``tolerances``: the
    config's ``reporting.tolerances`` (percentage points); ``enabled``: ``experiments``;
    ``unavailable``: experiment -> one-line reason its data could not be had, or a pair
    (short reason for its rows, full reason with how to get the data for the notes).
    """
    unavailable = dict(unavailable or {})
    row_reason = {e: r[0] if isinstance(r, (tuple, list)) else r for e, r in unavailable.items()}
    import pandas as pd

    measured = _group_runs(runs)
    figures = lecture_figures()
    beyond = beyond_figures()
    figures += beyond + extra_figures(measured, figures + beyond)
    scenes = sorted(
        {r["scene"] for r in runs.get("indian_pines", []) if r.get("scene", "indian_pines") != "indian_pines"}
    )
    not_configured = {"indian_pines": f"scene {', '.join(scenes)} configured"} if scenes else {}
    rows = [
        build_row(
            f,
            measured.get((f.experiment, f.key)),
            tolerances,
            bool(enabled.get(f.experiment)),
            row_reason.get(f.experiment),
            not_configured.get(f.experiment, "not in the configuration"),
        )
        for f in figures
    ]
    df = pd.DataFrame(rows, columns=CSV_COLUMNS)
    df["n_seeds"] = df["n_seeds"].astype("Int64")
    return df, reproduction_notes(df, runs, tolerances, enabled, unavailable)


# --------------------------------------------------------------------------- writing


def markdown_view(df):
    """The reader's view of the table: fewer columns, every cell a string."""
    view = df.copy()

    def num(v, fmt):
        return "" if isna(v) else format(v, fmt)

    view["lecture_pct"] = [num(v, ".2f") for v in df["lecture_pct"]]
    view["difference_pts"] = [num(v, "+.2f") for v in df["difference_pts"]]
    view["within_tolerance"] = [
        f"{w} (±{t:g})" if w in ("yes", "no") else w
        for w, t in zip(df["within_tolerance"], df["tolerance_pts"], strict=True)
    ]
    view["n_seeds"] = ["" if isna(n) or int(n) == 0 else str(int(n)) for n in df["n_seeds"]]
    view["model"] = [f"{m}, {s}" for m, s in zip(df["model"], df["setting"], strict=True)]
    view = view[list(MD_COLUMNS)].rename(columns=MD_COLUMNS)
    return view.astype(str)


TITLE = "Reproduction: every lecture figure beside ours"


def write_reproduction(df, notes, prov, csv_path, md_path, html_path) -> None:
    """CSV (all columns, provenance as ``#`` lines), Markdown and HTML (reader's view)."""
    write_table(df, csv_path, md_path, TITLE, notes, prov)
    md = to_markdown(markdown_view(df), TITLE, notes, prov)
    write_text(md, md_path)
    write_text(markdown_to_html(md), html_path)

"""Reporting: the reproduction table, plots of the runs, HTML renderings of the tables and
the workflow's rule graph (graphviz ``dot`` when available, else a matplotlib layout).

The reproduction table has one row per figure published in the lecture (``dlrepro.lecture``)
plus the "beyond the lecture" rows, each computed from the per-run metrics files.  A row
computed from stand-in or synthetic data, or from runs capped below the lecture's epochs,
never says "within tolerance: yes".
"""

from __future__ import annotations

import html
import math
import re
import shutil
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import lecture as L
from .errors import ConfigError, DlReproError
from .io import atomic_path, write_text
from .tables import combine_labels, fmt_mean_std, mean_std, to_markdown

EXPERIMENTS = {"mnist": "MNIST", "sentiment": "SI650 sentiment", "indian_pines": "Indian Pines"}
MNIST_MODELS = {"perceptron": "perceptron", "mlp": "MLP", "lenet": "LeNet-style CNN"}
MNIST_ORDER = tuple(MNIST_MODELS)
SENTIMENT_SPLITS = {
    "lecture": "lecture split (random 80/20, random_state 42)",
    "grouped": "de-duplicated split (grouped: no identical input in both parts)",
}
INDIAN_PINES_SPLITS = {
    "random": "random 10 % per-class split",
    "disjoint": "spatially disjoint split",
}


class RulegraphError(DlReproError):
    """``snakemake --rulegraph`` could not be run."""


LECTURE = "lecture figure"
BEYOND = "beyond the lecture"
NOT_RUN = "not run"
UNAVAILABLE = "not run — data unavailable"

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


# --------------------------------------------------------------------------- notes


def _fmt_pts(value: float) -> str:
    return f"{value:+.2f} pts"


def _row_name(row) -> str:
    return f"{row['experiment']} {row['model']} ({row['setting']})"


def _mean_of(runs, get) -> float:
    return mean_std(get(r) for r in runs)[0]


def reproduction_notes(
    df, runs: dict, tolerances: dict, enabled: dict, unavailable: dict | None = None
) -> list[str]:
    """The text under the table: what differs from the lecture and why, from the data."""
    notes = []
    lecture_rows = df[df["section"] == LECTURE]
    verdicts = lecture_rows["within_tolerance"]
    yes = lecture_rows[verdicts == "yes"]
    no = lecture_rows[verdicts == "no"]
    not_run = lecture_rows[verdicts == NOT_RUN]
    na = lecture_rows[verdicts.str.startswith("n/a")]
    summary = (
        f"{len(lecture_rows)} lecture figures: {len(yes)} reproduced within tolerance from real data, "
        f"{len(no)} outside tolerance, {len(na)} not comparable (stand-in/synthetic/user data or other epochs), "
        f"{len(not_run)} not run."
    )
    notes.append(summary)
    for _, row in no.iterrows():
        notes.append(
            f"Outside tolerance: {_row_name(row)}: ours {row['ours_pct']} vs lecture {row['lecture_pct']:.2f} "
            f"({_fmt_pts(row['difference_pts'])}, tolerance ±{row['tolerance_pts']:g} pts)."
        )
    for _, row in yes.iterrows():
        if row["std_pct"] is not None and not _isna(row["std_pct"]) and row["std_pct"] > row["tolerance_pts"]:
            notes.append(
                f"{_row_name(row)}: within tolerance on the mean, but the spread over seeds "
                f"({row['std_pct']:.2f} pts) exceeds the tolerance (±{row['tolerance_pts']:g} pts)."
            )
    labels = {label for label in df["data_source"] if label}
    for label in ("synthetic", "stand-in", "user"):
        if label in labels:
            names = sorted({r["experiment"] for _, r in df.iterrows() if r["data_source"] == label})
            what = {
                "synthetic": "generated data in the raw formats (tiny profile / CI)",
                "stand-in": "an embedded package copy or subset of the data",
                "user": "your own files (config datasets.<name>.source: user)",
            }[label]
            notes.append(
                f"Rows labelled {label} ({', '.join(names)}) were computed from {what}: they are NOT a "
                "reproduction of the lecture, so 'within tolerance' is n/a for them."
            )
    capped = df[df["epochs"].astype(str).str.contains(" of ")]
    if len(capped):
        per_experiment = {}
        for _, r in capped.iterrows():
            per_experiment.setdefault(r["experiment"], set()).update(r["epochs"].split(", "))
        notes.append(
            "Training capped by max_epochs (these rows cannot reproduce the lecture): "
            + "; ".join(f"{e} {', '.join(sorted(v))} epochs" for e, v in per_experiment.items())
            + "."
        )
    for experiment, name in EXPERIMENTS.items():
        if not enabled.get(experiment):
            notes.append(f"{name}: not run (experiments.{experiment}: false in the configuration).")
        elif (unavailable or {}).get(experiment):
            reason = unavailable[experiment]
            full = reason[-1] if isinstance(reason, (tuple, list)) else reason
            notes.append(f"{name}: {UNAVAILABLE}: {full}")
    notes += _mnist_notes(runs.get("mnist", []))
    notes += _sentiment_notes(runs.get("sentiment", []), runs.get("sentiment_baselines", []))
    notes += _indian_pines_notes(runs.get("indian_pines", []))
    tol_text = ", ".join(f"{key} ±{value:g}" for key, value in tolerances.items())
    notes.append(
        f"Tolerances (percentage points, config reporting.tolerances): {tol_text}. A row is within tolerance "
        "when |mean - lecture| <= tolerance, and only rows from real data at the lecture's epochs are judged. "
        "std is the sample standard deviation over seeds (ddof=1)."
    )
    return notes


def _isna(value) -> bool:
    try:
        return value is None or math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _mnist_notes(runs) -> list[str]:
    notes = []
    params = {}
    for run in runs:
        params.setdefault(run["model"], int(run["parameters"]))
    differ = [
        f"{m} {p:,} (lecture {L.MNIST_PARAMS[m]:,})"
        for m, p in params.items()
        if m in L.MNIST_PARAMS and p != L.MNIST_PARAMS[m]
    ]
    if differ:
        notes.append("MNIST parameter counts differ from the lecture: " + "; ".join(differ) + ".")
    sizes = sorted({int(r["n"]) for r in runs if "n" in r})
    if sizes and sizes != [10_000]:
        notes.append(
            f"MNIST: evaluated on {', '.join(map(str, sizes))} test images (the lecture: the 10,000 of MNIST)."
        )
    return notes


def _sentiment_notes(runs, baselines) -> list[str]:
    notes = []
    lecture_runs = [r for r in runs if r["split"] == "lecture"]
    grouped_runs = [r for r in runs if r["split"] == "grouped"]
    if lecture_runs:
        o = lecture_runs[0]["overlap"]
        acc_all = _mean_of(lecture_runs, lambda r: r["subsets"]["all"]["accuracy"])
        seen = o["test_rows_seen_in_train"] / max(o["n_test"], 1)
        text = (
            f"SI650, lecture split: {o['test_rows_seen_in_train']} of {o['n_test']} test rows ({seen:.0%}) have "
            "an identical input in training (the random split keeps repeated sentences on both sides)"
            + (
                ", so the lecture's figure mostly measures recall of training sentences"
                if seen >= 0.5
                else ""
            )
            + f": accuracy {acc_all * 100:.2f} % on all test rows"
        )
        if o["test_rows_unseen"]:
            acc_unseen = _mean_of(lecture_runs, lambda r: r["subsets"]["unseen"]["accuracy"])
            text += f", {acc_unseen * 100:.2f} % on the {o['test_rows_unseen']} unseen rows"
        if grouped_runs:
            acc_grouped = _mean_of(grouped_runs, lambda r: r["subsets"]["all"]["accuracy"])
            text += f", {acc_grouped * 100:.2f} % on the de-duplicated (grouped) split"
        notes.append(text + ".")
    for base in baselines:
        acc = base["subsets"]["all"]["accuracy"]
        split_runs = [r for r in runs if r["split"] == base["split"]]
        text = (
            f"SI650 majority-class baseline ({base['split']} split): always predicting class "
            f"{base['majority_class']} scores {acc * 100:.2f} %"
        )
        if split_runs:
            lstm = _mean_of(split_runs, lambda r: r["subsets"]["all"]["accuracy"])
            text += f"; the LSTM is {(lstm - acc) * 100:+.2f} pts above it"
        notes.append(text + ".")
    return notes


def _indian_pines_notes(runs) -> list[str]:
    notes = []
    if not runs:
        return notes
    first = runs[0]
    if first.get("scene", "indian_pines") != "indian_pines":
        return [
            f"Hyperspectral experiment on scene {first['scene']} ({first.get('title') or 'configured'}), not "
            "the lecture's Indian Pines: its rows have no lecture figure and are not judged."
        ]
    differ = []
    if int(first["bands"]) != L.INDIAN_PINES["bands"]:
        differ.append(f"{first['bands']} bands (lecture {L.INDIAN_PINES['bands']})")
    if first.get("ground_truth") != "purdue":
        differ.append(f"{first.get('ground_truth')} ground truth (lecture: Purdue)")
    random_runs = [r for r in runs if r["split"] == "random"]
    if random_runs:
        r0 = random_runs[0]
        if (int(r0["n_train"]), int(r0["n_test"])) != (L.INDIAN_PINES["n_train"], L.INDIAN_PINES["n_test"]):
            differ.append(
                f"{r0['n_train']:,} training / {r0['n_test']:,} test pixels "
                f"(lecture {L.INDIAN_PINES['n_train']:,} / {L.INDIAN_PINES['n_test']:,})"
            )
        if int(r0["parameters"]) != L.INDIAN_PINES["parameters"]:
            differ.append(f"{int(r0['parameters']):,} parameters (lecture {L.INDIAN_PINES['parameters']:,})")
    if differ:
        notes.append("Indian Pines setup differs from the lecture: " + "; ".join(differ) + ".")
    disjoint_runs = [r for r in runs if r["split"] == "disjoint"]
    if random_runs and disjoint_runs:
        oa_r = _mean_of(random_runs, lambda r: r["accuracy"])
        oa_d = _mean_of(disjoint_runs, lambda r: r["accuracy"])
        change = (oa_d - oa_r) * 100
        text = (
            f"Indian Pines: OA {oa_r * 100:.2f} % on the random split vs {oa_d * 100:.2f} % on the spatially "
            f"disjoint split ({change:+.2f} pts). On the random split, test patches contain training pixels; "
            "the disjoint split keeps every test patch free of them and estimates accuracy on unseen fields"
        )
        if change >= 0:
            text += " (here it is not lower, which real data with full training is expected to show)"
        notes.append(text + ".")
    return notes


# --------------------------------------------------------------------------- writing


def markdown_view(df):
    """The reader's view of the table: fewer columns, every cell a string."""
    view = df.copy()

    def num(v, fmt):
        return "" if _isna(v) else format(v, fmt)

    view["lecture_pct"] = [num(v, ".2f") for v in df["lecture_pct"]]
    view["difference_pts"] = [num(v, "+.2f") for v in df["difference_pts"]]
    view["within_tolerance"] = [
        f"{w} (±{t:g})" if w in ("yes", "no") else w
        for w, t in zip(df["within_tolerance"], df["tolerance_pts"], strict=True)
    ]
    view["n_seeds"] = ["" if _isna(n) or int(n) == 0 else str(int(n)) for n in df["n_seeds"]]
    view["model"] = [f"{m}, {s}" for m, s in zip(df["model"], df["setting"], strict=True)]
    view = view[list(MD_COLUMNS)].rename(columns=MD_COLUMNS)
    return view.astype(str)


TITLE = "Reproduction: every lecture figure beside ours"


def write_reproduction(df, notes, prov, csv_path, md_path, html_path) -> None:
    """CSV (all columns, provenance as ``#`` lines), Markdown and HTML (reader's view)."""
    from .tables import write_table

    write_table(df, csv_path, md_path, TITLE, notes, prov)
    md = to_markdown(markdown_view(df), TITLE, notes, prov)
    write_text(md, md_path)
    write_text(markdown_to_html(md), html_path)


# --------------------------------------------------------------------------- HTML


CSS = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
tr:nth-child(even) td { background: #fafafa; }
td.yes { background: #d8f0d8 !important; }
td.no { background: #f6d5d5 !important; }
td.na { color: #777; }
td.synthetic, td.stand-in, td.user { background: #fff2cc !important; font-weight: bold; }
p.provenance { color: #555; font-size: 0.85em; }
"""

_INLINE = [
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*([^*]+)\*\*"), r"<strong>\1</strong>"),
]


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    for pattern, repl in _INLINE:
        out = pattern.sub(repl, out)
    return out


def _split_row(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    cells = re.split(r"(?<!\\)\|", body)
    return [c.strip().replace("\\|", "|") for c in cells]


def _cell_class(text: str) -> str:
    if text.startswith("yes"):
        return ' class="yes"'
    if text.startswith("no ") or text == "no":
        return ' class="no"'
    if text.startswith(("n/a", NOT_RUN)):
        return ' class="na"'
    if text in ("synthetic", "stand-in", "user"):
        return f' class="{text}"'
    return ""


def markdown_to_html(md: str) -> str:
    """A standalone HTML page from the Markdown written by :func:`dlrepro.tables.to_markdown`
    (a title, one pipe table, a "Notes:" list, a provenance paragraph)."""
    lines = md.splitlines()
    body: list[str] = []
    title = "table"
    i = 0
    in_list = False
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if in_list and not stripped.startswith("- "):
            body.append("</ul>")
            in_list = False
        if stripped.startswith("#"):
            level = len(stripped) - len(stripped.lstrip("#"))
            text = stripped[level:].strip()
            if level == 1:
                title = text
            body.append(f"<h{min(level, 6)}>{_inline(text)}</h{min(level, 6)}>")
        elif stripped.startswith("|"):
            header = _split_row(stripped)
            i += 1
            if i < len(lines) and re.fullmatch(r"\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?", lines[i].strip()):
                i += 1
            body.append("<table>")
            body.append("<thead><tr>" + "".join(f"<th>{_inline(h)}</th>" for h in header) + "</tr></thead>")
            body.append("<tbody>")
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = _split_row(lines[i])
                body.append(
                    "<tr>" + "".join(f"<td{_cell_class(c)}>{_inline(c)}</td>" for c in cells) + "</tr>"
                )
                i += 1
            body.append("</tbody></table>")
            continue
        elif stripped.startswith("- "):
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{_inline(stripped[2:])}</li>")
        elif stripped.startswith("Provenance:"):
            body.append(f'<p class="provenance">{_inline(stripped)}</p>')
        elif stripped:
            body.append(f"<p>{_inline(stripped)}</p>")
        i += 1
    if in_list:
        body.append("</ul>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


# --------------------------------------------------------------------------- plots


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path, fmt: str, metadata: dict | None = None) -> None:
    """Save ``fig``; an SVG is byte-stable between runs (no date, fixed element ids)."""
    plt = _pyplot()
    if fmt == "svg":
        metadata = {"Date": None, **(metadata or {})}
    rc = {"svg.fonttype": "none", "svg.hashsalt": "dlrepro"}
    with atomic_path(path, suffix=f".{fmt}") as tmp, plt.rc_context(rc):
        fig.savefig(tmp, format=fmt, dpi=110, metadata=metadata)
    plt.close(fig)


def history_stats(histories, column: str):
    """Epochs, mean, min and max of one history column over seeds (epochs all seeds have)."""
    import numpy as np

    frames = [h for h in histories if column in h.columns]
    if not frames:
        return None
    n_epochs = min(len(h) for h in frames)
    values = np.array([h[column].to_numpy(dtype=float)[:n_epochs] for h in frames])
    epochs = frames[0]["epoch"].to_numpy()[:n_epochs] if "epoch" in frames[0] else np.arange(1, n_epochs + 1)
    return epochs, values.mean(axis=0), values.min(axis=0), values.max(axis=0), len(frames)


def _epoch_axis(ax, epochs) -> None:
    """Integer epoch ticks; with few epochs every epoch is a tick and the axis spans whole epochs
    (a single epoch is not drawn on a 0.945...1.050 axis)."""
    from matplotlib.ticker import MaxNLocator

    epochs = sorted({int(e) for e in epochs})
    if epochs and epochs[-1] - epochs[0] < 15:
        ax.set_xticks(range(epochs[0], epochs[-1] + 1))
        ax.set_xlim(epochs[0] - 0.5, epochs[-1] + 0.5)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def plot_curves(
    histories, path, title: str, validation_name: str = "validation", no_validation: str | None = None
) -> list[str]:
    """Training and validation loss / accuracy per epoch: mean over seeds, shaded min-max range.

    ``histories``: one DataFrame per seed (columns ``epoch``, ``loss``, ``accuracy``,
    ``val_loss``, ``val_accuracy``; missing ones are skipped).  When no history has a ``val_*``
    column the legend says so (``no_validation``, default: the training monitored no held-out
    data), rather than leaving the reader to look for a missing curve.  Returns the plotted
    metrics.
    """
    plt = _pyplot()
    metrics = [m for m in ("loss", "accuracy") if any(m in h.columns for h in histories)]
    if not metrics:
        metrics = ["loss"]
    has_validation = any(c.startswith("val_") for h in histories for c in h.columns)
    if no_validation is None:
        no_validation = f"no {validation_name} curve: training monitored no held-out data"
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        all_epochs = []
        for column, name, colour in ((metric, "training", "C0"), (f"val_{metric}", validation_name, "C1")):
            stats = history_stats(histories, column)
            if stats is None:
                continue
            epochs, mean, lo, hi, n = stats
            all_epochs.extend(epochs)
            ax.plot(
                epochs, mean, color=colour, marker="o" if len(epochs) < 30 else None, label=f"{name} (mean)"
            )
            if n > 1 and len(epochs) > 1:
                ax.fill_between(
                    epochs, lo, hi, color=colour, alpha=0.2, label=f"{name} (range over {n} seeds)"
                )
            elif n > 1:  # one epoch: the range as an error bar (a band of zero width is invisible)
                ax.errorbar(
                    epochs,
                    mean,
                    yerr=[mean - lo, hi - mean],
                    fmt="none",
                    ecolor=colour,
                    capsize=4,
                    label=f"{name} (range over {n} seeds)",
                )
        if not has_validation:
            ax.plot([], [], " ", label=no_validation)  # a legend entry without a line
        _epoch_axis(ax, all_epochs)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path, "png")
    return metrics


def mean_confusion(matrices):
    """Sum of the confusion matrices over seeds and its row-normalised form (recall per class)."""
    import numpy as np

    total = np.sum([np.asarray(m, dtype=float) for m in matrices], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rows = total.sum(axis=1, keepdims=True)
        normalised = np.where(rows > 0, total / np.maximum(rows, 1), np.nan)
    return total, normalised


def plot_confusion(matrices, class_names, path, title: str) -> None:
    """Row-normalised confusion matrix summed over seeds (rows: true class, columns: predicted)."""
    import numpy as np

    plt = _pyplot()
    total, normalised = mean_confusion(matrices)
    k = len(class_names)
    size = min(2.5 + 0.45 * k, 11)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    im = ax.imshow(np.nan_to_num(normalised), cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    ax.set_xticks(range(k), class_names, rotation=90 if k > 10 or max(map(len, class_names)) > 3 else 0)
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if k <= 20:
        for i in range(k):
            for j in range(k):
                value = normalised[i, j]
                if np.isnan(value):
                    continue
                ax.text(
                    j,
                    i,
                    f"{value:.2f}" if k <= 10 else f"{value * 100:.0f}",
                    ha="center",
                    va="center",
                    fontsize=8 if k <= 10 else 6,
                    color="white" if value > 0.5 else "black",
                )
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    _save(fig, path, "png")


# --------------------------------------------------------------------------- rule graph


_NODE = re.compile(r"^\s*(\w+)\s*\[(.*)\]\s*;?\s*$")
_EDGE = re.compile(r"^\s*(\w+)\s*->\s*(\w+)")
_ATTR = re.compile(r'(\w+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s\]]+)')


def parse_dot(text: str) -> tuple[dict[str, dict], list[tuple[str, str]]]:
    """Nodes (id -> attributes, ``label`` at least) and edges of a ``snakemake --rulegraph``."""
    nodes: dict[str, dict] = {}
    edges: list[tuple[str, str]] = []
    for line in text.splitlines():
        edge = _EDGE.match(line)
        if edge:
            edges.append((edge.group(1), edge.group(2)))
            continue
        node = _NODE.match(line)
        if node and node.group(1) not in ("graph", "node", "edge"):
            attrs = {}
            for key, value in _ATTR.findall(node.group(2)):
                if value.startswith('"'):
                    value = value[1:-1].replace('\\"', '"')
                attrs[key] = value
            attrs.setdefault("label", node.group(1))
            nodes[node.group(1)] = attrs
    for a, b in edges:
        for n in (a, b):
            nodes.setdefault(n, {"label": n})
    if not nodes:
        raise ValueError("no nodes in the DOT text")
    return nodes, edges


def canonical_dot(text: str) -> str:
    """``snakemake --rulegraph`` output with deterministic node numbers: Snakemake numbers
    the rules in an order that changes between runs, so the same graph came out as different
    bytes (and a different SVG).  Nodes are renumbered by label (rule names are unique) and
    written in that order, edges sorted; the header lines are kept as they are."""
    nodes, edges = parse_dot(text)
    order = sorted(nodes, key=lambda n: (nodes[n].get("label", n), n))
    new = {old: str(i) for i, old in enumerate(order)}
    node_lines = {}
    header, tail = [], []
    for line in text.strip().splitlines():
        node, edge = _NODE.match(line), _EDGE.match(line)
        if edge:
            continue
        if node and node.group(1) in nodes:
            node_lines[node.group(1)] = f"\t{new[node.group(1)]}[{node.group(2)}];"
        elif line.strip() == "}":
            tail.append(line)
        else:
            header.append(line)
    body = [node_lines.get(n, f'\t{new[n]}[label = "{nodes[n]["label"]}"];') for n in order]
    body += [f"\t{a} -> {b}" for a, b in sorted({(int(new[a]), int(new[b])) for a, b in edges})]
    return "\n".join(header + body + (tail or ["}"])) + "\n"


@dataclass
class Layout:
    """A layered drawing: layer and x (inches) of every node, the bends of every edge."""

    layer: dict[str, int]
    x: dict[str, float]
    routes: dict[tuple[str, str], list[str]]  # edge -> the dummy nodes it passes through
    dummies: set[str]


def sugiyama(nodes, edges, widths=None, dummy_width: float = 0.25, gap: float = 0.25, sweeps: int = 12):
    """A simple Sugiyama-style layered layout.

    Layer = longest path from a source (an edge goes from a layer to a later one); an edge
    spanning several layers passes through dummy nodes, one per skipped layer; the order
    within each layer comes from repeated barycentre sweeps; x from the neighbours' mean x,
    kept apart by the node widths (``widths``: node -> width, default 1).
    """
    widths = dict(widths or {})
    preds = {n: [] for n in nodes}
    for a, b in sorted(set(edges)):
        if a != b:
            preds[b].append(a)
    layer: dict[str, int] = {}
    visiting: set[str] = set()

    def depth(n):
        if n in layer:
            return layer[n]
        if n in visiting:  # a cycle (not in a DAG): break it
            return 0
        visiting.add(n)
        layer[n] = max((depth(p) + 1 for p in preds[n]), default=0)
        visiting.discard(n)
        return layer[n]

    for n in nodes:
        depth(n)
    up: dict[str, list[str]] = {n: [] for n in nodes}
    down: dict[str, list[str]] = {n: [] for n in nodes}
    routes: dict[tuple[str, str], list[str]] = {}
    dummies: set[str] = set()
    for a, b in sorted(set(edges)):
        if a == b or layer[a] >= layer[b]:
            continue
        chain = []
        prev = a
        for k in range(layer[a] + 1, layer[b]):
            d = f"__dummy_{a}_{b}_{k}"
            layer[d] = k
            up[d], down[d] = [], []
            dummies.add(d)
            widths[d] = dummy_width
            chain.append(d)
            down[prev].append(d)
            up[d].append(prev)
            prev = d
        down[prev].append(b)
        up[b].append(prev)
        routes[(a, b)] = chain
    layers: dict[int, list[str]] = {}
    for n in sorted(layer, key=lambda n: (layer[n], n in dummies, nodes.get(n, {}).get("label", n))):
        layers.setdefault(layer[n], []).append(n)
    order = {n: float(i) for members in layers.values() for i, n in enumerate(members)}

    def reorder(neighbours, keys):
        for k in keys:
            members = layers[k]
            bary = {}
            for n in members:
                ns = neighbours[n]
                bary[n] = sum(order[m] for m in ns) / len(ns) if ns else order[n]
            members.sort(key=lambda n: (bary[n], order[n]))
            for i, n in enumerate(members):
                order[n] = float(i)

    keys = sorted(layers)
    for _ in range(sweeps):
        reorder(up, keys[1:])
        reorder(down, keys[-2::-1])

    def width(n):
        return widths.get(n, 1.0)

    x: dict[str, float] = {}
    for members in layers.values():  # start: packed from 0
        pos = 0.0
        for n in members:
            x[n] = pos + width(n) / 2
            pos += width(n) + gap

    def place(members, neighbours):
        desired = []
        for n in members:
            ns = neighbours[n]
            desired.append(sum(x[m] for m in ns) / len(ns) if ns else x[n])
        xs = list(desired)
        for i in range(1, len(xs)):
            low = xs[i - 1] + (width(members[i - 1]) + width(members[i])) / 2 + gap
            xs[i] = max(xs[i], low)
        shift = sum(d - v for d, v in zip(desired, xs, strict=True)) / len(xs)
        for n, v in zip(members, xs, strict=True):
            x[n] = v + shift

    for _ in range(4):
        for k in keys[1:]:
            place(layers[k], up)
        for k in keys[-2::-1]:
            place(layers[k], down)
    left = min(x[n] - width(n) / 2 for n in x)
    for n in x:
        x[n] -= left
    return Layout({n: layer[n] for n in layer}, x, routes, dummies)


def layered_layout(nodes, edges, sweeps: int = 12) -> dict[str, tuple[int, float]]:
    """node -> (layer, x) of :func:`sugiyama` for the real nodes."""
    lay = sugiyama(nodes, edges, sweeps=sweeps)
    return {n: (lay.layer[n], lay.x[n]) for n in nodes}


def _node_colour(attrs: dict):
    import matplotlib.colors as mcolors

    colour = attrs.get("color", "")
    parts = colour.split()
    if len(parts) == 3:
        try:
            return mcolors.hsv_to_rgb([float(p) for p in parts])
        except ValueError:
            pass
    try:
        return mcolors.to_rgb(colour)
    except ValueError:
        return (0.4, 0.4, 0.4)


def render_rulegraph_matplotlib(dot_text: str, path, note: str = "", fmt: str = "svg") -> None:
    """Draw the rule graph with matplotlib (no graphviz needed): layered top to bottom,
    inputs above the rules that use them, edges routed around the boxes."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path as MplPath

    plt = _pyplot()
    nodes, edges = parse_dot(dot_text)
    fontsize = 8
    char_w = 0.6 * fontsize / 72  # inches per character, sans-serif
    longest = max(len(a.get("label", n)) for n, a in nodes.items())
    box_w, box_h, layer_h = max(1.0, char_w * longest + 0.3), 0.4, 0.85
    lay = sugiyama(nodes, edges, widths={n: box_w for n in nodes}, dummy_width=0.2, gap=0.2)
    n_layers = max(lay.layer.values()) + 1
    width = max(lay.x.values()) + box_w / 2
    margin = 0.2
    fig_w, fig_h = width + 2 * margin, n_layers * layer_h + 2 * margin + 0.2
    fig = plt.figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-margin, width + margin)
    ax.set_ylim(-(n_layers - 1) * layer_h - box_h / 2 - margin - 0.2, box_h / 2 + margin)

    def at(n):
        return lay.x[n], -lay.layer[n] * layer_h

    for (a, b), chain in sorted(lay.routes.items()):
        (x0, y0), (x1, y1) = at(a), at(b)
        points = [(x0, y0 - box_h / 2)]
        for d in chain:
            xd, yd = at(d)
            points += [(xd, yd + box_h / 2), (xd, yd - box_h / 2)]
        points.append((x1, y1 + box_h / 2))
        if len(points) > 2:
            codes = [MplPath.MOVETO] + [MplPath.LINETO] * (len(points) - 2)
            ax.add_patch(
                FancyArrowPatch(
                    path=MplPath(points[:-1], codes), arrowstyle="-", color="grey", lw=1.0, zorder=1
                )
            )
        ax.add_patch(
            FancyArrowPatch(
                points[-2],
                points[-1],
                arrowstyle="-|>",
                mutation_scale=9,
                color="grey",
                lw=1.0,
                shrinkA=0,
                shrinkB=0,
                zorder=1,
            )
        )
    for n, attrs in nodes.items():
        x, y = at(n)
        ax.add_patch(
            FancyBboxPatch(
                (x - box_w / 2, y - box_h / 2),
                box_w,
                box_h,
                boxstyle="round,pad=0,rounding_size=0.08",
                facecolor="white",
                edgecolor=_node_colour(attrs),
                lw=2,
                zorder=2,
            )
        )
        ax.text(x, y, attrs.get("label", n), ha="center", va="center", fontsize=fontsize, zorder=3)
    ax.set_axis_off()
    if note:
        ax.text(
            -margin + 0.05, ax.get_ylim()[0] + 0.05, note, fontsize=6, color="grey", ha="left", va="bottom"
        )
    _save(fig, path, fmt, metadata={"Description": note or "rule graph"} if fmt == "svg" else None)


def dot_version(dot: str) -> str:
    proc = subprocess.run([dot, "-V"], capture_output=True, text=True, timeout=30)
    return (proc.stderr or proc.stdout).strip()


def render_rulegraph(dot_text: str, path, renderer: str = "auto") -> dict:
    """Render ``dot_text`` as SVG at ``path``; returns what was used (``renderer``, ``version``).

    ``renderer``: ``auto`` (graphviz ``dot`` when on PATH, else matplotlib), ``dot`` or ``matplotlib``.
    """
    import matplotlib

    if renderer not in ("auto", "dot", "matplotlib"):
        raise ConfigError(f"reporting.rulegraph_renderer: {renderer!r}, expected auto, dot or matplotlib")
    dot = shutil.which("dot")
    if renderer == "dot" and dot is None:
        raise ConfigError(
            "reporting.rulegraph_renderer is 'dot' but graphviz's dot is not on PATH "
            "(apt-get install graphviz, or use auto / matplotlib)"
        )
    if renderer in ("auto", "dot") and dot is not None:
        proc = subprocess.run([dot, "-Tsvg"], input=dot_text, capture_output=True, text=True, timeout=120)
        if proc.returncode == 0 and "<svg" in proc.stdout:
            version = dot_version(dot)
            svg = proc.stdout.replace("<svg", f"<!-- rendered by {version} -->\n<svg", 1)
            write_text(svg, path)
            return {"renderer": "dot", "version": version, "path": dot}
        if renderer == "dot":
            raise ConfigError(f"graphviz dot failed on the rule graph: {proc.stderr.strip()[:300]}")
    version = f"matplotlib {matplotlib.__version__}"
    reason = "graphviz dot not on PATH" if dot is None else "graphviz dot failed"
    if renderer == "matplotlib":
        reason = "reporting.rulegraph_renderer: matplotlib"
    render_rulegraph_matplotlib(dot_text, path, note=f"rendered with {version} ({reason}; layered layout)")
    return {"renderer": "matplotlib", "version": version, "reason": reason}


RULEGRAPH_RACE_RETRIES = 3


def rulegraph_dot(snakefile, config: dict, logger=None, cwd=None, timeout: float = 600) -> str:
    """The DOT text of ``snakemake --rulegraph`` for ``snakefile`` with ``config`` (dumped to a
    temporary YAML file). Runs with ``--nolock``, so it works inside a job of a running
    Snakemake that holds the working directory's lock."""
    import sys
    import tempfile
    from pathlib import Path

    import yaml

    with tempfile.TemporaryDirectory(prefix="dlrepro-rulegraph-") as tmp:
        configfile = Path(tmp) / "config.yaml"
        configfile.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        args = ["--rulegraph", "--nolock", "--workflow-profile", "none", "-s", str(snakefile)]
        args += ["--configfile", str(configfile)]
        commands = [[sys.executable, "-m", "snakemake", *args]]
        installed = shutil.which("snakemake")
        if installed:
            commands.append([installed, *args])
        failures = []
        for command in commands:
            for attempt in range(1 + RULEGRAPH_RACE_RETRIES):
                try:
                    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd)
                except (OSError, subprocess.SubprocessError) as exc:
                    failures.append(f"{command[0]}: {exc}")
                    break
                # a job of the running workflow may replace an output while this nested
                # Snakemake builds its DAG ("... It could be that a concurrent process has
                # deleted it"): a transient race, so that run is repeated
                if (
                    proc.returncode != 0
                    and "concurrent process" in proc.stderr
                    and attempt < RULEGRAPH_RACE_RETRIES
                ):
                    time.sleep(1 + attempt)
                    continue
                start, end = proc.stdout.find("digraph"), proc.stdout.rfind("}")
                if proc.returncode == 0 and start >= 0 and end > start:
                    if logger:
                        logger.info("rule graph from: %s", " ".join(command))
                    return canonical_dot(proc.stdout[start : end + 1])
                tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                failures.append(f"{' '.join(command[:3])} exited {proc.returncode}: {tail}")
                break
    raise RulegraphError("snakemake --rulegraph failed: " + " | ".join(failures))


def confusion_of(experiment: str, metrics: list[dict]):
    """Confusion matrices (one per seed), class names and the accuracy text of one model's runs."""
    if experiment == "sentiment":
        matrices = [m["subsets"]["all"]["confusion_matrix"] for m in metrics]
        accuracies = [m["subsets"]["all"]["accuracy"] for m in metrics]
        names = ["0 (negative)", "1 (positive)"]
    else:
        matrices = [m["confusion_matrix"] for m in metrics]
        accuracies = [m["accuracy"] for m in metrics]
        labels = metrics[0].get("labels") or list(range(len(matrices[0])))
        names = [str(v) for v in labels]
        if metrics[0].get("class_names"):
            names = [f"{i} {n}" for i, n in zip(labels, metrics[0]["class_names"], strict=False)]
    return matrices, names, fmt_mean_std(*mean_std(accuracies), scale=100)

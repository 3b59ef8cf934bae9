"""The notes under the reproduction table: what differs from the lecture and why, from the data
(the verdicts, the data labels, capped epochs, disabled or unavailable experiments, and per
experiment the setup that differs: parameter counts, test sizes, SI650's repeated sentences,
Indian Pines' bands and splits)."""

from __future__ import annotations

import math

from .. import lecture as L
from ..names import EXPERIMENTS, LECTURE, NOT_RUN, UNAVAILABLE
from ..tables import mean_std


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
        if row["std_pct"] is not None and not isna(row["std_pct"]) and row["std_pct"] > row["tolerance_pts"]:
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


def isna(value) -> bool:
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

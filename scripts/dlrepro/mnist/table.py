"""The MNIST result table."""

from __future__ import annotations

from ..lecture import MNIST, MNIST_PARAMS
from ..tables import combine_labels, fmt_mean_std, mean_std
from .model import MODELS


def mnist_table(runs: list[dict]):
    """One row per (model, epochs): lecture figure, our mean ± std over seeds, difference.

    ``runs`` are the metrics dicts written by the evaluation rule.
    Returns ``(DataFrame, notes)``.
    """
    import pandas as pd

    groups: dict[tuple[str, int], list[dict]] = {}
    for run in runs:
        groups.setdefault((run["model"], int(run["epochs_requested"])), []).append(run)
    rows = []
    notes = []
    for (model, epochs), group in sorted(groups.items(), key=lambda kv: (MODELS.index(kv[0][0]), kv[0][1])):
        mean, std, n = mean_std(r["accuracy"] for r in group)
        lecture = MNIST.get((model, epochs))
        trained = sorted({int(r["epochs"]) for r in group})
        label = combine_labels(r["source_label"] for r in group)
        rows.append(
            {
                "model": model,
                "epochs": epochs,
                "epochs_trained": ",".join(map(str, trained)),
                "lecture_accuracy_pct": None if lecture is None else round(lecture * 100, 2),
                "our_accuracy_pct": fmt_mean_std(mean, std, n, scale=100),
                "mean_pct": round(mean * 100, 3),
                "std_pct": None if n < 2 else round(std * 100, 3),
                "n_seeds": n,
                "seeds": ",".join(str(r["seed"]) for r in sorted(group, key=lambda r: r["seed"])),
                "difference_pts": None if lecture is None else round((mean - lecture) * 100, 2) + 0.0,
                "parameters": group[0]["parameters"],
                "data_source": label,
            }
        )
        if trained != [epochs]:
            notes.append(
                f"{model} {epochs} ep: trained only {rows[-1]['epochs_trained']} of {epochs} epochs (max_epochs cap)."
            )
        if group[0]["parameters"] != MNIST_PARAMS.get(model, group[0]["parameters"]):
            notes.append(f"{model}: {group[0]['parameters']} parameters, lecture {MNIST_PARAMS[model]}.")
    labels = {row["data_source"] for row in rows}
    if "stand-in" in labels:
        notes.append(
            "stand-in: computed from an embedded package copy of a subset of MNIST, NOT a reproduction."
        )
    if "synthetic" in labels:
        notes.append("synthetic: computed from generated data (tiny profile), NOT a reproduction.")
    if "user" in labels:
        notes.append(
            "user: computed from your own files (datasets.mnist.source: user), NOT a reproduction; "
            "the lecture column is for reference only."
        )
    notes.append("std is the sample standard deviation over seeds (ddof=1).")
    return pd.DataFrame(rows), notes

"""The Indian Pines result table."""

from __future__ import annotations

from ..lecture import INDIAN_PINES
from ..tables import combine_labels, fmt_mean_std, mean_std
from .sources import SPLITS


def indian_pines_table(runs: list[dict]):
    """One row per split: lecture OA beside our OA / AA / kappa (mean ± std over seeds).

    ``runs`` are the metrics dicts of the evaluation rule.  Returns ``(DataFrame, notes)``.
    """
    import pandas as pd

    groups: dict[str, list[dict]] = {}
    for run in runs:
        groups.setdefault(run["split"], []).append(run)
    rows, notes = [], []
    for split in sorted(groups, key=lambda s: SPLITS.index(s) if s in SPLITS else 99):
        group = sorted(groups[split], key=lambda r: r["seed"])
        stats = {m: mean_std(r[m] for r in group) for m in ("accuracy", "average_accuracy", "kappa")}
        trained = sorted({int(r["epochs"]) for r in group})
        first = group[0]
        scene = first.get("scene", "indian_pines")
        lecture = INDIAN_PINES["overall_accuracy"] if split == "random" and scene == "indian_pines" else None
        oa_mean = stats["accuracy"][0]
        rows.append(
            {
                **({} if scene == "indian_pines" else {"scene": scene}),
                "split": split,
                "data_source": combine_labels(r["source_label"] for r in group),
                "bands": first["bands"],
                "ground_truth": first["ground_truth"],
                "n_train": first["n_train"],
                "n_test": first["n_test"],
                "epochs": first["epochs_requested"],
                "epochs_trained": ",".join(map(str, trained)),
                "lecture_oa": lecture,
                "our_oa": fmt_mean_std(*stats["accuracy"], digits=4),
                "our_aa": fmt_mean_std(*stats["average_accuracy"], digits=4),
                "our_kappa": fmt_mean_std(*stats["kappa"], digits=4),
                "oa_mean": round(oa_mean, 4),
                "oa_std": None if stats["accuracy"][2] < 2 else round(stats["accuracy"][1], 4),
                "difference_oa": None if lecture is None else round(oa_mean - lecture, 4),
                "n_seeds": len(group),
                "seeds": ",".join(str(r["seed"]) for r in group),
                "parameters": first["parameters"],
            }
        )
        if trained != [int(first["epochs_requested"])]:
            notes.append(
                f"{split}: trained only {rows[-1]['epochs_trained']} of {first['epochs_requested']} epochs (max_epochs cap)."
            )
    labels = {row["data_source"] for row in rows}
    others = sorted({row["scene"] for row in rows if "scene" in row})
    if others:
        notes.append(
            f"scene {', '.join(others)}: not the lecture's Indian Pines scene, so no lecture figure "
            "(datasets.indian_pines.scene)."
        )
    lecture_rows = [row for row in rows if "scene" not in row]
    if lecture_rows:
        notes.append(
            f"Lecture: OA {INDIAN_PINES['overall_accuracy']} on a random 10 % per-class split "
            f"({INDIAN_PINES['n_train']} / {INDIAN_PINES['n_test']} pixels, Purdue ground truth, {INDIAN_PINES['bands']} bands, "
            f"{INDIAN_PINES['parameters']:,} parameters); the lecture reports no disjoint-split figure."
        )
    if any(row["split"] == "disjoint" for row in rows):
        notes.append(
            "disjoint: spatially disjoint training blocks per connected field (Lange et al., IGARSS 2018); "
            "test pixels are farther than the guard band from every training pixel, so no test patch contains a training pixel."
        )
    if any(row["bands"] == 200 for row in lecture_rows):
        notes.append(
            "bands 200: the EHU corrected cube (water-absorption bands removed); the lecture used 220 bands."
        )
    if "stand-in" in labels:
        notes.append(
            "stand-in: computed from the embedded tensorly copy (EHU ground truth), NOT a reproduction."
        )
    if "synthetic" in labels:
        notes.append("synthetic: computed from a generated scene (tiny profile), NOT a reproduction.")
    notes.append(
        "OA = overall accuracy, AA = mean per-class accuracy, kappa = Cohen's kappa; std over seeds (ddof=1)."
    )
    return pd.DataFrame(rows), notes

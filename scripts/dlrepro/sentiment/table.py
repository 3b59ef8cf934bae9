"""The SI650 result table and its notes."""

from __future__ import annotations

import collections

from ..tables import combine_labels, fmt_mean_std, mean_std
from .sources import LABELLED_FILE, SPLITS

SUBSET_TITLES = {
    "all": "all test rows",
    "unseen": "test rows unseen in training",
    "distinct": "distinct test sentences (each once)",
}
SPLIT_TITLES = {
    "lecture": "lecture (train_test_split 80/20, random_state 42)",
    "grouped": "grouped (no identical input in both parts)",
}


def sentiment_table(runs: list[dict], baselines: list[dict], stats: dict, lecture: dict, predictions=None):
    """The result table (DataFrame) and its notes.

    ``runs``: one metrics dict per (split, seed) from the evaluate rule; ``baselines``:
    one per split; ``stats``: the vocabulary rule's statistics; ``lecture``: the lecture's
    figures (``dlrepro.lecture.SI650``); ``predictions``: paths of written submissions.
    """
    import pandas as pd

    rows = []
    by_split: dict[str, list[dict]] = collections.defaultdict(list)
    for run in runs:
        by_split[run["split"]].append(run)
    splits = [s for s in SPLITS if s in by_split] + sorted(set(by_split) - set(SPLITS))
    skipped = stats["parse"]["skipped_lines"]
    tokenizer = stats["tokenizer"]["name"]

    def cell(values):
        m, s, n = mean_std(values)
        return fmt_mean_std(m, s, n, digits=3), m, s

    for split in splits:
        group = sorted(by_split[split], key=lambda r: r["seed"])
        epochs = sorted({(r["epochs"], r["epochs_requested"]) for r in group})
        epochs_text = ", ".join(f"{e}" if e == q else f"{e} of {q}" for e, q in epochs)
        for subset in ("all", "unseen", "distinct"):
            if split == "grouped" and subset == "unseen":
                continue  # identical to "all" by construction
            acc, acc_m, acc_s = cell([r["subsets"][subset]["accuracy"] for r in group])
            row = {
                "model": "LSTM (lecture)",
                "split": SPLIT_TITLES.get(split, split),
                "test_rows": SUBSET_TITLES[subset],
                "n": group[0]["subsets"][subset]["n"],
                "lecture_accuracy": lecture["accuracy"] if (split, subset) == ("lecture", "all") else None,
                "accuracy": acc,
                "accuracy_mean": acc_m,
                "accuracy_std": acc_s,
            }
            for metric in ("precision", "recall", "f1"):
                row[metric] = cell([r["subsets"][subset].get(metric, float("nan")) for r in group])[0]
            row.update(
                epochs=epochs_text,
                seeds=" ".join(str(r["seed"]) for r in group),
                skipped_lines=skipped,
                tokenizer=tokenizer,
                data=combine_labels(r["source_label"] for r in group),
            )
            rows.append(row)
    for base in sorted(baselines, key=lambda b: SPLITS.index(b["split"]) if b["split"] in SPLITS else 99):
        for subset in ("all", "distinct"):
            metrics = base["subsets"][subset]
            rows.append(
                {
                    "model": f"majority class ({base['majority_class']})",
                    "split": SPLIT_TITLES.get(base["split"], base["split"]),
                    "test_rows": SUBSET_TITLES[subset],
                    "n": metrics["n"],
                    "lecture_accuracy": None,
                    "accuracy": f"{metrics['accuracy']:.3f}",
                    "accuracy_mean": metrics["accuracy"],
                    "accuracy_std": float("nan"),
                    "precision": f"{metrics.get('precision', float('nan')):.3f}",
                    "recall": f"{metrics.get('recall', float('nan')):.3f}",
                    "f1": f"{metrics.get('f1', float('nan')):.3f}",
                    "epochs": "",
                    "seeds": "",
                    "skipped_lines": skipped,
                    "tokenizer": tokenizer,
                    "data": base["source_label"],
                }
            )
    df = pd.DataFrame(rows)
    df["lecture_accuracy"] = df["lecture_accuracy"].astype(float)
    return df, table_notes(runs, stats, lecture, predictions)


def table_notes(runs, stats, lecture, predictions=None) -> list[str]:
    parse = stats["parse"]
    tok = stats["tokenizer"]
    notes = [
        f"Data: {stats['source']} ({stats['source_label']}), {parse['file']} variant: "
        f"{stats.get('raw_variant') or 'n/a'}; {parse['records']} records "
        f"(label 1: {parse['label_counts']['1']}, 0: {parse['label_counts']['0']}); "
        f"{parse['lines_with_dropped_bytes']} line(s) had non-ASCII bytes dropped (ASCII, errors=ignore, "
        "as the lecture decodes).",
        f"Malformed lines: policy '{parse['on_malformed']}', {parse['skipped_lines']} skipped.",
    ]
    if stats.get("source_label") == "user":
        notes.append(
            "user: computed from your own file (datasets.si650.source: user), NOT a reproduction; "
            "the lecture column is for reference only."
        )
    notes += [
        f"Tokeniser: {tok['description']}. Distinct words {stats['distinct_words']} "
        f"(lecture {lecture['distinct_words']}), longest sentence {stats['maxlen']} tokens "
        f"(lecture {lecture['maxlen']}).",
    ]
    comparison = stats.get("tokenizer_comparison") or []
    if comparison:
        notes.append(
            "Distinct words / longest sentence per tokeniser on the same data: "
            + "; ".join(f"{c['tokenizer']} {c['distinct_words']} / {c['maxlen']}" for c in comparison)
            + ". The lecture ran NLTK's word_tokenize of its time (Punkt English + Treebank word tokeniser); "
            "current NLTK's word_tokenize uses NLTKWordTokenizer, which also splits '..' and leading hyphens, "
            "and without Punkt a sentence-internal final period stays attached to its word."
        )
    longer = (stats.get("longer_than_sequence_length") or {}).get(LABELLED_FILE)
    cut = f" ({longer['sentences']} longer sentence(s) cut to their last tokens)" if longer else ""
    notes.append(
        f"Vocabulary: the {stats['max_features']} most frequent words (ties: first occurrence) + PAD 0 + UNK 1 "
        f"= {stats['vocab_size']} indices; sequences pre-padded / pre-truncated to {stats['sequence_length']}{cut}. "
        "The lecture's Python 2 dict order decided its ties at the cut-off, so its last vocabulary entries may differ."
    )
    for split in SPLITS:
        split_runs = [r for r in runs if r["split"] == split]
        if not split_runs:
            continue
        o = split_runs[0]["overlap"]
        notes.append(
            f"Split {split}: {o['n_train']} train / {o['n_test']} test rows; {o['test_rows_seen_in_train']} test rows "
            f"have an identical input in training; {o['distinct_test_inputs']} distinct test inputs "
            f"({o['distinct_inputs']} distinct inputs in all); the largest group of identical test inputs "
            f"has {o.get('largest_test_group', 'n/a')} rows."
        )
        cms = "; ".join(f"seed {r['seed']} {r['subsets']['all']['confusion_matrix']}" for r in split_runs)
        notes.append(
            f"Confusion matrices, split {split}, all test rows (rows true 0/1, columns predicted): {cms}."
        )
    if any(r["split"] == "grouped" for r in runs):
        notes.append(
            "The grouped split keeps identical inputs together, not near-duplicates (the same sentence with "
            "other punctuation or a word changed); its test part holds whole groups of frequent sentences, "
            "which dominate its row accuracy, so its distinct-sentence accuracy is the more telling figure. "
            "The lecture split's unseen rows are the rarer sentences."
        )
    lecture_runs = [r for r in runs if r["split"] == "lecture"]
    repeat = ""
    if lecture_runs:
        o = lecture_runs[0]["overlap"]
        repeat = (
            f" Here {o['test_rows_seen_in_train']} of its {o['n_test']} test rows repeat a training input, so "
            "the unseen-row and distinct-sentence accuracies and the grouped split measure generalisation."
        )
    notes.append(
        f"Lecture figure {lecture['accuracy']:.3f}: test accuracy after 10 epochs on the random 80/20 split."
        + repeat
    )
    if predictions:
        notes.append("Kaggle submission(s) for testdata.txt: " + ", ".join(str(p) for p in predictions) + ".")
    else:
        notes.append("testdata.txt (Kaggle's unlabelled test set) not available: no submission written.")
    return notes

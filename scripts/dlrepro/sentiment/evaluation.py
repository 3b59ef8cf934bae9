"""SI650 evaluation: metrics on all / unseen / distinct test rows, the majority baseline and
the Kaggle submission."""

from __future__ import annotations

import numpy as np

from ..evaluation import classification_metrics


def evaluate_subsets(y_test, predicted, test_groups, train_groups) -> dict:
    """Metrics on all test rows, on the rows whose input never occurs in training, and
    counting each distinct test sentence (distinct input with its label) once."""
    y_test = np.asarray(y_test).astype(int)
    predicted = np.asarray(predicted).astype(int)
    test_groups = np.asarray(test_groups)
    unseen = ~np.isin(test_groups, np.asarray(train_groups))
    pairs = np.stack([test_groups, y_test], axis=1)
    _, first = np.unique(pairs, axis=0, return_index=True)
    subsets = {"all": np.arange(len(y_test)), "unseen": np.flatnonzero(unseen), "distinct": np.sort(first)}
    out = {}
    for name, rows in subsets.items():
        if len(rows) == 0:
            out[name] = {"n": 0, "accuracy": float("nan")}
            continue
        out[name] = classification_metrics(y_test[rows], predicted[rows], labels=[0, 1], binary=True)
    return out


def majority_baseline(y_train, y_test, test_groups, train_groups) -> dict:
    """The training part's majority class predicted for every test row."""
    y_train = np.asarray(y_train).astype(int)
    majority = int(np.bincount(y_train, minlength=2).argmax())
    predicted = np.full(len(y_test), majority, dtype=int)
    return {
        "majority_class": majority,
        "subsets": evaluate_subsets(y_test, predicted, test_groups, train_groups),
    }


def submission_text(predicted) -> str:
    """Kaggle submission for si650winter11: one 0/1 per line of testdata.txt."""
    return "".join(f"{int(p)}\n" for p in predicted)

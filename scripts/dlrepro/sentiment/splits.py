"""SI650 splits: the lecture's random 80/20 split and the grouped split (no identical input
on both sides), and how many test rows repeat a training input."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .sources import SPLITS


def split_indices(kind: str, labels, groups, test_size: float = 0.2, random_state: int = 42):
    """(train, test) row indices.

    ``lecture``: ``sklearn.model_selection.train_test_split(..., test_size, random_state)``,
    the rows in the order it returns them (the lecture trains on ``Xtrain`` in that order).
    ``grouped``: ``StratifiedGroupKFold(n_splits=round(1/test_size), shuffle=True,
    random_state)``, first fold as test: rows with an identical input (``groups``) are
    never on both sides, and the label balance is kept.
    """
    from sklearn.model_selection import StratifiedGroupKFold, train_test_split

    labels = np.asarray(labels)
    n = len(labels)
    if kind == "lecture":
        train, test = train_test_split(np.arange(n), test_size=test_size, random_state=random_state)
    elif kind == "grouped":
        folds = max(2, int(round(1.0 / test_size)))
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=random_state)
        train, test = next(splitter.split(np.zeros(n), labels, np.asarray(groups)))
    else:
        raise ConfigError(f"config key sentiment.splits: unknown split {kind!r}, expected one of {SPLITS}")
    return np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)


def overlap_stats(groups, train, test) -> dict:
    """How many test rows have an identical input in the training part."""
    groups = np.asarray(groups)
    seen = np.isin(groups[test], groups[train])
    return {
        "n_train": int(len(train)),
        "n_test": int(len(test)),
        "test_rows_seen_in_train": int(seen.sum()),
        "test_rows_unseen": int((~seen).sum()),
        "distinct_test_inputs": int(len(np.unique(groups[test]))),
        "distinct_unseen_test_inputs": int(len(np.unique(groups[test][~seen]))),
        "distinct_inputs": int(len(np.unique(groups))),
        "largest_test_group": int(np.unique(groups[test], return_counts=True)[1].max()) if len(test) else 0,
    }

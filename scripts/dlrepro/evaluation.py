"""Classification metrics shared by the experiments (all from scikit-learn)."""

from __future__ import annotations

import numpy as np


def classification_metrics(y_true, y_pred, labels=None, binary: bool = False) -> dict:
    """Accuracy, average (per-class mean) accuracy, Cohen's kappa, per-class accuracy,
    macro or binary precision/recall/F1 and the confusion matrix (rows = ground truth).
    """
    from sklearn import metrics

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if labels is None:
        labels = np.unique(np.concatenate([y_true, y_pred]))
    labels = [int(v) for v in labels]
    cm = metrics.confusion_matrix(y_true, y_pred, labels=labels)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)
    average = "binary" if binary else "macro"
    out = {
        "n": int(len(y_true)),
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "average_accuracy": float(np.nanmean(per_class)) if len(per_class) else float("nan"),
        "kappa": float(metrics.cohen_kappa_score(y_true, y_pred, labels=labels)),
        "precision": float(
            metrics.precision_score(y_true, y_pred, labels=labels, average=average, zero_division=0)
        ),
        "recall": float(
            metrics.recall_score(y_true, y_pred, labels=labels, average=average, zero_division=0)
        ),
        "f1": float(metrics.f1_score(y_true, y_pred, labels=labels, average=average, zero_division=0)),
        "labels": labels,
        "per_class_accuracy": [None if np.isnan(v) else float(v) for v in per_class],
        "confusion_matrix": cm.tolist(),
    }
    return out

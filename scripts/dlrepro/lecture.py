"""The lecture's published figures: the one place they are written down.

Each entry: experiment, model key, metric, value (fraction), and what the lecture ran.
"""

from __future__ import annotations

MNIST = {
    # (model, epochs): test accuracy
    ("perceptron", 20): 0.9101,
    ("mlp", 20): 0.9514,
    ("mlp", 200): 0.9773,
    ("lenet", 20): 0.9936,
}

MNIST_PARAMS = {"perceptron": 7_850, "mlp": 118_282, "lenet": 1_256_080}

INDIAN_PINES = {
    # random 10 % per-class split of the Purdue ground truth, 220 bands
    "overall_accuracy": 0.7379,
    "n_train": 1036,
    "n_test": 9330,
    "bands": 220,
    "classes": 16,
    "mean": 2524.40,
    "std": 1603.02,
    "parameters": 578_544,
    "epochs": 600,
}

SI650 = {
    # UMICH SI650 sentiment, LSTM after 10 epochs on the random 80/20 split
    "accuracy": 0.980,
    "distinct_words": 2313,
    "maxlen": 42,
    "max_features": 2000,
    "sequence_length": 40,
    "epochs": 10,
}

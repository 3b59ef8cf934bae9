"""Result-table helpers: missing values, counts with the right noun, the MNIST table's notes."""

import math

import pandas as pd

from dlrepro import lecture
from dlrepro.mnist import mnist_table
from dlrepro.tables import count_phrase, to_markdown


def test_missing_values_are_n_a_never_none():
    df = pd.DataFrame({"a": [None], "b": [math.nan], "c": pd.array([pd.NA], dtype="Int64"), "d": [1.5]})
    md = to_markdown(df, "t")
    assert "| n/a | n/a | n/a | 1.5 |" in md
    assert "None" not in md and "nan" not in md.lower().replace("n/a", "")


def test_count_phrase_number_agreement():
    assert count_phrase(1, "epoch") == "1 epoch"
    assert count_phrase("1", "epoch") == "1 epoch"
    assert count_phrase(3, "epoch") == "3 epochs"
    assert count_phrase("1,3", "epoch") == "1, 3 epochs"
    assert count_phrase("1 of 20", "epoch") == "1 of 20 epochs"
    assert count_phrase([2], "seed") == "2 seeds"


def _run(model, seed, trained, requested):
    return {
        "model": model,
        "epochs": trained,
        "epochs_requested": requested,
        "seed": seed,
        "accuracy": 0.9,
        "source_label": "synthetic",
        "parameters": lecture.MNIST_PARAMS[model],
    }


def test_mnist_table_one_seed_one_epoch():
    df, notes = mnist_table([_run("mlp", 1, 1, 20)])
    md = to_markdown(df, "MNIST", notes)
    assert "None" not in md
    row = df.iloc[0]
    assert row["n_seeds"] == 1 and row["our_accuracy_pct"] == "90.00 (n=1)"
    assert "mlp 20 ep: trained only 1 of 20 epochs (max_epochs cap)." in notes
    assert not any("1 epochs" in n for n in notes)

"""Evaluate one trained LSTM: all test rows, rows unseen in training, distinct sentences."""

from dlrepro import backend, training
from dlrepro.io import open_netcdf, write_json
from dlrepro.runner import run
from dlrepro.sentiment import evaluate_subsets, predict_labels


def main(snakemake, log):
    import keras  # after dlrepro.runner has chosen the backend

    training.configure_threads(snakemake.threads)
    data = open_netcdf(snakemake.input.data)
    split = open_netcdf(snakemake.input.split)
    model = keras.models.load_model(snakemake.input.model)
    x, y, groups = data.x.values, data.label.values, data.input_id.values
    train, test = split.train_index.values, split.test_index.values
    loss, keras_accuracy = model.evaluate(x[test], y[test].astype("float32"), batch_size=256, verbose=0)
    predicted = predict_labels(model, x[test])
    subsets = evaluate_subsets(y[test], predicted, groups[test], groups[train])
    p = snakemake.params.run
    overlap_keys = ("n_train", "n_test", "test_rows_seen_in_train", "test_rows_unseen")
    overlap_keys += (
        "distinct_test_inputs",
        "distinct_unseen_test_inputs",
        "distinct_inputs",
        "largest_test_group",
    )
    result = {
        "runtime": backend.provenance(),
        "experiment": "sentiment",
        "split": p["split"],
        "seed": int(snakemake.wildcards.seed),
        "epochs": p["epochs"],
        "epochs_requested": p["epochs_requested"],
        "batch_size": p["batch_size"],
        "source": data.attrs["source"],
        "source_label": data.attrs["source_label"],
        "raw_variant": data.attrs["raw_variant"],
        "tokenizer": data.attrs["tokenizer"],
        "skipped_lines": int(data.attrs["skipped_lines"]),
        "parameters": int(model.count_params()),
        "loss": float(loss),
        "keras_accuracy": float(keras_accuracy),
        "overlap": {k: int(split.attrs[k]) for k in overlap_keys},
        "subsets": subsets,
    }
    log.info(
        "%s split, seed %s: accuracy %.4f on %d test rows, %.4f on %d unseen rows, %.4f on %d distinct sentences",
        p["split"],
        snakemake.wildcards.seed,
        subsets["all"]["accuracy"],
        subsets["all"]["n"],
        subsets["unseen"]["accuracy"],
        subsets["unseen"]["n"],
        subsets["distinct"]["accuracy"],
        subsets["distinct"]["n"],
    )
    write_json(result, snakemake.output[0])


run(main, snakemake)  # noqa: F821

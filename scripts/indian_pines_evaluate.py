"""Evaluate one trained model: test-pixel metrics and a predicted map of the whole scene."""

import numpy as np
import xarray as xr

from dlrepro import backend, training
from dlrepro.evaluation import classification_metrics
from dlrepro.hyperspectral import PatchSource, predict_pixels, predict_scene_streamed, window_padding
from dlrepro.io import open_netcdf, write_json, write_netcdf
from dlrepro.runner import run


def main(snakemake, log):
    import keras  # after dlrepro.runner has chosen the backend

    training.configure_threads(snakemake.threads)
    model = keras.models.load_model(snakemake.input.model)
    index = open_netcdf(snakemake.input.index)
    split = open_netcdf(snakemake.input.split)
    window, padding = window_padding(index)
    source = PatchSource.from_netcdf(snakemake.input.normalised, window, padding)  # one copy of the cube
    normalised = open_netcdf(snakemake.input.normalised, drop=["radiance"])
    rows, cols = index.row.values, index.col.values
    test = np.flatnonzero(split.test_mask.values[rows, cols])
    labels = index.label.values[test]
    n_classes = index.sizes["class_id"]
    predicted = predict_pixels(model, source.pixels(rows[test], cols[test]))  # 2,048 windows at a time
    metrics = classification_metrics(labels, predicted, labels=range(1, n_classes + 1))

    scene = predict_scene_streamed(model, source)
    agree = float((scene[rows[test], cols[test]] == predicted).mean()) if len(test) else float("nan")
    log.info("whole-scene prediction agrees with the test-patch prediction on %.4f of test pixels", agree)

    p = snakemake.params.run
    attrs = index.attrs
    result = {
        "runtime": backend.provenance(),
        "experiment": "indian_pines",
        "split": snakemake.wildcards.split,
        "seed": int(snakemake.wildcards.seed),
        "epochs": p["epochs"],
        "epochs_requested": p["epochs_requested"],
        "source": attrs["source"],
        "source_label": attrs["source_label"],
        "bands": int(attrs["bands"]),
        "ground_truth": attrs["ground_truth"],
        "normalisation": attrs.get("normalisation"),
        "window": window,
        "padding": padding,
        "n_train": int(split.attrs["n_train_total"]),
        "n_test": int(split.attrs["n_test_total"]),
        "class_names": [str(v) for v in index.class_name.values],
        "n_test_per_class": split.n_test.values.tolist(),
        "parameters": int(model.count_params()),
        "scene_agreement": agree,
        **({"scene": attrs["scene"], "title": attrs.get("title", "")} if "scene" in attrs else {}),
        **metrics,
    }
    log.info(
        "%s split, seed %s: OA %.4f, AA %.4f, kappa %.4f on %d test pixels",
        result["split"],
        result["seed"],
        metrics["accuracy"],
        metrics["average_accuracy"],
        metrics["kappa"],
        len(test),
    )
    maps = xr.Dataset(
        {
            "predicted": (("y", "x"), scene),
            "ground_truth": normalised.ground_truth,
            "train_mask": split.train_mask,
            "test_mask": split.test_mask,
            "class_name": index.class_name,
        },
        attrs={
            **normalised.attrs,
            "split": result["split"],
            "seed": result["seed"],
            "oa": metrics["accuracy"],
        },
    )
    write_json(result, snakemake.output.metrics)
    write_netcdf(maps, snakemake.output.predictions)


run(main, snakemake)  # noqa: F821

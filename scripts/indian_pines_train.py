"""Train the lecture's 3-D CNN on the training patches of one split, for one seed."""

import time

import numpy as np

from dlrepro import training
from dlrepro.hyperspectral import build_model, one_hot
from dlrepro.io import open_netcdf, write_csv
from dlrepro.runner import run


def main(snakemake, log):
    p = snakemake.params.run
    threads = training.configure_threads(snakemake.threads)
    log.info("%s", training.runtime_summary(threads))
    patches = open_netcdf(snakemake.input.patches)
    split = open_netcdf(snakemake.input.split)
    train = split.train_mask.values[patches.row.values, patches.col.values]
    index = np.flatnonzero(train)
    x = patches.patches.values[index][..., np.newaxis]  # (n, wy, wx, band, 1)
    n_classes = patches.sizes["class_id"]
    y = one_hot(patches.label.values[index], n_classes)
    window, n_bands = patches.sizes["wy"], patches.sizes["band"]
    attrs = dict(patches.attrs)
    del patches  # free the full patch array before training
    log.info(
        "%s split, seed %s: %d training patches %s, %d classes, %d epochs (requested %d), batch %d, "
        "SGD lr %g decay %g (%s data)",
        snakemake.wildcards.split,
        snakemake.wildcards.seed,
        len(index),
        x.shape[1:],
        n_classes,
        p["epochs"],
        p["epochs_requested"],
        p["batch_size"],
        p["learning_rate"],
        p["decay"],
        attrs["source_label"],
    )
    tic = time.perf_counter()
    model, history = training.fit(
        lambda: build_model(n_bands, n_classes, window, p["learning_rate"], p["decay"]),
        x,
        y,
        epochs=p["epochs"],
        batch_size=p["batch_size"],
        seed=int(snakemake.wildcards.seed),
        workdir=snakemake.params.checkpoints,
        logger=log,
        **training.training_options(snakemake.params.training),
        fingerprint={**p, "split": snakemake.wildcards.split, "data": attrs["raw_sha256"]},
    )
    seconds = time.perf_counter() - tic
    log.info(
        "trained in %.1f s (%.2f s per epoch), %d parameters",
        seconds,
        seconds / max(len(history), 1),
        model.count_params(),
    )
    training.save_model(model, snakemake.output.model)
    write_csv(training.history_frame(history), snakemake.output.history)
    training.clear_checkpoints(snakemake.params.checkpoints)


run(main, snakemake)  # noqa: F821

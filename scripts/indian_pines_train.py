"""Train the lecture's 3-D CNN on the training patches of one split, for one seed (streamed)."""

import time

import numpy as np

from dlrepro import training
from dlrepro.hyperspectral import PatchSource, build_model, one_hot, window_padding
from dlrepro.io import open_netcdf, write_csv
from dlrepro.runner import run


def main(snakemake, log):
    p = snakemake.params.run
    threads = training.configure_threads(snakemake.threads)
    log.info("%s", training.runtime_summary(threads))
    index = open_netcdf(snakemake.input.index)
    split = open_netcdf(snakemake.input.split)
    rows, cols = index.row.values, index.col.values
    train = np.flatnonzero(split.train_mask.values[rows, cols])
    source = PatchSource.from_netcdf(snakemake.input.normalised, *window_padding(index))
    x = source.pixels(rows[train], cols[train])  # windows gathered per batch, never all at once
    n_classes = index.sizes["class_id"]
    y = one_hot(index.label.values[train], n_classes)
    window, n_bands = source.window, source.n_bands
    attrs = dict(index.attrs)
    log.info(
        "%s split, seed %s: %d training patches %s (streamed from the %.1f MiB padded cube), %d classes, "
        "%d epochs (requested %d), batch %d, SGD lr %g decay %g (%s data)",
        snakemake.wildcards.split,
        snakemake.wildcards.seed,
        len(x),
        x.shape[1:],
        source.nbytes / 2**20,
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

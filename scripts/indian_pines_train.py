"""Train the lecture's 3-D CNN on the training patches of one split, for one seed (streamed)."""

import numpy as np

from dlrepro import jobs
from dlrepro.hyperspectral import PatchSource, build_model, one_hot, window_padding
from dlrepro.io import open_netcdf
from dlrepro.runner import run


def main(snakemake, log):
    p = snakemake.params.run
    jobs.start(snakemake, log)
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
    model, history = jobs.fit(
        snakemake,
        log,
        lambda: build_model(n_bands, n_classes, window, p["learning_rate"], p["decay"]),
        x,
        y,
        epochs=p["epochs"],
        batch_size=p["batch_size"],
        seed=snakemake.wildcards.seed,
        fingerprint={**p, "split": snakemake.wildcards.split, "data": attrs["raw_sha256"]},
    )
    jobs.finish(snakemake, model, history)


run(main, snakemake)  # noqa: F821

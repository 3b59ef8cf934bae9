"""Train one Indian Pines sweep point for one seed (resumable) and evaluate it on the test
pixels of its split (overall / average accuracy, kappa). Windows are streamed from the
normalised cube (dlrepro.hyperspectral.streaming), never stored."""

import numpy as np

from dlrepro import jobs
from dlrepro.evaluation import classification_metrics
from dlrepro.hyperspectral import PatchSource, build_model, one_hot, predict_pixels, window_padding
from dlrepro.io import open_netcdf
from dlrepro.runner import run
from dlrepro.sweeps import run_record


def main(snakemake, log):
    p = snakemake.params.run
    s = p["settings"]
    seed = int(snakemake.wildcards.seed)
    jobs.start(snakemake, log)
    patches = open_netcdf(snakemake.input.index)
    split = open_netcdf(snakemake.input.split)
    rows, cols = patches.row.values, patches.col.values
    train = np.flatnonzero(split.train_mask.values[rows, cols])
    test = np.flatnonzero(split.test_mask.values[rows, cols])
    n_classes = patches.sizes["class_id"]
    source = PatchSource.from_netcdf(snakemake.input.normalised, *window_padding(patches))
    window, n_bands = source.window, source.n_bands
    x = source.pixels(rows[train], cols[train])  # gathered per batch
    y = one_hot(patches.label.values[train], n_classes)
    log.info(
        "sweep %s, point %s, seed %d: %s; %d training / %d test patches %s (%s data)",
        p["sweep"],
        p["point"],
        seed,
        s,
        len(train),
        len(test),
        x.shape[1:],
        patches.attrs["source_label"],
    )
    model, history = jobs.fit(
        snakemake,
        log,
        lambda: build_model(
            n_bands,
            n_classes,
            window,
            s["learning_rate"],
            s["decay"],
            loss=s["loss"],
            optimizer=s["optimizer"],
        ),
        x,
        y,
        epochs=s["epochs"],
        batch_size=s["batch_size"],
        seed=seed,
        fingerprint={**p, "data": patches.attrs["raw_sha256"]},
    )
    del x, y
    predicted = predict_pixels(model, source.pixels(rows[test], cols[test]))
    metrics = classification_metrics(patches.label.values[test], predicted, labels=range(1, n_classes + 1))
    log.info(
        "OA %.4f, AA %.4f, kappa %.4f on %d test pixels",
        metrics["accuracy"],
        metrics["average_accuracy"],
        metrics["kappa"],
        len(test),
    )
    extra = {"n_train": len(train), "n_test": len(test), "parameters": int(model.count_params())}
    jobs.finish(snakemake, model, history, metrics=run_record(p, seed, patches.attrs, metrics, **extra))


run(main, snakemake)  # noqa: F821

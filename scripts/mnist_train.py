"""Train one MNIST model for one seed (resumable), save model and per-epoch history."""

import time

from dlrepro import training
from dlrepro.io import open_netcdf, write_csv
from dlrepro.mnist import build_model
from dlrepro.runner import run


def main(snakemake, log):
    p = snakemake.params.run
    threads = training.configure_threads(snakemake.threads)
    log.info("%s", training.runtime_summary(threads))
    train = open_netcdf(snakemake.input.train)
    mask = open_netcdf(snakemake.input.split).is_validation.values
    x, y = train.image.values, train.label.values
    log.info(
        "%s: %d epochs (requested %d), batch %d, seed %s, %d train / %d validation (%s data)",
        p["model"],
        p["epochs"],
        p["epochs_requested"],
        p["batch_size"],
        snakemake.wildcards.seed,
        (~mask).sum(),
        mask.sum(),
        train.attrs["source_label"],
    )
    tic = time.perf_counter()
    model, history = training.fit(
        lambda: build_model(p["model"], p["optimizer"], p["learning_rate"], x.shape[1:]),
        x[~mask],
        y[~mask],
        validation_data=(x[mask], y[mask]) if mask.any() else None,
        epochs=p["epochs"],
        batch_size=p["batch_size"],
        seed=int(snakemake.wildcards.seed),
        workdir=snakemake.params.checkpoints,
        logger=log,
        **training.training_options(snakemake.params.training),
        fingerprint={**p, "data": train.attrs["raw_sha256"]},
    )
    log.info("trained in %.1f s, %d parameters", time.perf_counter() - tic, model.count_params())
    training.save_model(model, snakemake.output.model)
    write_csv(training.history_frame(history), snakemake.output.history)
    training.clear_checkpoints(snakemake.params.checkpoints)


run(main, snakemake)  # noqa: F821

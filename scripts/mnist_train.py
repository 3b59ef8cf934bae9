"""Train one MNIST model for one seed (resumable), save model and per-epoch history."""

from dlrepro import jobs
from dlrepro.io import open_netcdf
from dlrepro.mnist import build_model
from dlrepro.runner import run


def main(snakemake, log):
    p = snakemake.params.run
    jobs.start(snakemake, log)
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
    model, history = jobs.fit(
        snakemake,
        log,
        lambda: build_model(p["model"], p["optimizer"], p["learning_rate"], x.shape[1:]),
        x[~mask],
        y[~mask],
        validation_data=(x[mask], y[mask]) if mask.any() else None,
        epochs=p["epochs"],
        batch_size=p["batch_size"],
        seed=snakemake.wildcards.seed,
        fingerprint={**p, "data": train.attrs["raw_sha256"]},
    )
    jobs.finish(snakemake, model, history)


run(main, snakemake)  # noqa: F821

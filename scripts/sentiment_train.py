"""Train the lecture's LSTM on one split for one seed (resumable); save model and history."""

import time

from dlrepro import training
from dlrepro.io import open_netcdf, write_csv
from dlrepro.runner import run
from dlrepro.sentiment import build_model


def main(snakemake, log):
    p = snakemake.params.run
    threads = training.configure_threads(snakemake.threads)
    log.info("%s", training.runtime_summary(threads))
    data = open_netcdf(snakemake.input.data)
    split = open_netcdf(snakemake.input.split)
    x, y = data.x.values, data.label.values.astype("float32")
    train, test = split.train_index.values, split.test_index.values
    vocab_size = int(data.attrs["vocab_size"])
    log.info(
        "%s split, seed %s: %d epochs (requested %d), batch %d, %d train / %d test, vocab %d (%s data)",
        p["split"],
        snakemake.wildcards.seed,
        p["epochs"],
        p["epochs_requested"],
        p["batch_size"],
        len(train),
        len(test),
        vocab_size,
        data.attrs["source_label"],
    )
    tic = time.perf_counter()
    model, history = training.fit(
        lambda: build_model(vocab_size, x.shape[1]),
        x[train],
        y[train],
        validation_data=(x[test], y[test]),  # monitoring only, as the lecture
        epochs=p["epochs"],
        batch_size=p["batch_size"],
        seed=int(snakemake.wildcards.seed),
        workdir=snakemake.params.checkpoints,
        logger=log,
        **training.training_options(snakemake.params.training),
        fingerprint={**p, "data": data.attrs["raw_sha256"], "tokenizer": data.attrs["tokenizer"]},
    )
    log.info("trained in %.1f s, %d parameters", time.perf_counter() - tic, model.count_params())
    training.save_model(model, snakemake.output.model)
    write_csv(training.history_frame(history), snakemake.output.history)
    training.clear_checkpoints(snakemake.params.checkpoints)


run(main, snakemake)  # noqa: F821

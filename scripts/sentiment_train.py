"""Train the lecture's LSTM on one split for one seed (resumable); save model and history."""

from dlrepro import jobs
from dlrepro.io import open_netcdf
from dlrepro.runner import run
from dlrepro.sentiment import build_model


def main(snakemake, log):
    p = snakemake.params.run
    jobs.start(snakemake, log)
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
    model, history = jobs.fit(
        snakemake,
        log,
        lambda: build_model(vocab_size, x.shape[1]),
        x[train],
        y[train],
        validation_data=(x[test], y[test]),  # monitoring only, as the lecture
        epochs=p["epochs"],
        batch_size=p["batch_size"],
        seed=snakemake.wildcards.seed,
        fingerprint={**p, "data": data.attrs["raw_sha256"], "tokenizer": data.attrs["tokenizer"]},
    )
    jobs.finish(snakemake, model, history)


run(main, snakemake)  # noqa: F821

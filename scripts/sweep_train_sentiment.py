"""Train one SI650 sweep point for one seed (resumable) and evaluate it on the test rows."""

from dlrepro import jobs
from dlrepro.io import open_netcdf
from dlrepro.runner import run
from dlrepro.sentiment import build_model, evaluate_subsets, predict_labels
from dlrepro.sweeps import run_record


def main(snakemake, log):
    p = snakemake.params.run
    s = p["settings"]
    seed = int(snakemake.wildcards.seed)
    jobs.start(snakemake, log)
    data = open_netcdf(snakemake.input.data)
    split = open_netcdf(snakemake.input.split)
    x, y, groups = data.x.values, data.label.values, data.input_id.values
    train, test = split.train_index.values, split.test_index.values
    vocab_size = int(data.attrs["vocab_size"])
    log.info(
        "sweep %s, point %s, seed %d: %s; %d train / %d test, vocab %d (%s data)",
        p["sweep"],
        p["point"],
        seed,
        s,
        len(train),
        len(test),
        vocab_size,
        data.attrs["source_label"],
    )

    def build():
        return build_model(
            vocab_size,
            x.shape[1],
            embedding_size=s["embedding_size"],
            hidden_size=s["lstm_units"],
            dropout=s["dropout"],
            learning_rate=s["learning_rate"],
            variant=s["variant"],
            spatial_dropout=s["spatial_dropout"],
            recurrent_dropout=s["recurrent_dropout"],
        )

    model, history = jobs.fit(
        snakemake,
        log,
        build,
        x[train],
        y[train].astype("float32"),
        validation_data=(x[test], y[test].astype("float32")),  # monitoring only, as the lecture
        epochs=s["epochs"],
        batch_size=s["batch_size"],
        seed=seed,
        fingerprint={**p, "data": data.attrs["raw_sha256"], "tokenizer": data.attrs["tokenizer"]},
    )
    loss, _ = model.evaluate(x[test], y[test].astype("float32"), batch_size=256, verbose=0)
    subsets = evaluate_subsets(y[test], predict_labels(model, x[test]), groups[test], groups[train])
    log.info(
        "test accuracy %.4f (%d rows), %.4f on %d unseen rows",
        subsets["all"]["accuracy"],
        subsets["all"]["n"],
        subsets["unseen"]["accuracy"],
        subsets["unseen"]["n"],
    )
    metrics = {"accuracy": subsets["all"]["accuracy"], "subsets": subsets}
    record = run_record(p, seed, data.attrs, metrics, loss=float(loss), parameters=int(model.count_params()))
    jobs.finish(snakemake, model, history, metrics=record)


run(main, snakemake)  # noqa: F821

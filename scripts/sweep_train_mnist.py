"""Train one MNIST sweep point for one seed (resumable) and evaluate it on the test images."""

from dlrepro import jobs
from dlrepro.evaluation import classification_metrics
from dlrepro.io import open_netcdf
from dlrepro.mnist import build_model
from dlrepro.runner import run
from dlrepro.sweeps import run_record


def main(snakemake, log):
    p = snakemake.params.run
    s = p["settings"]
    seed = int(snakemake.wildcards.seed)
    jobs.start(snakemake, log)
    train = open_netcdf(snakemake.input.train)
    mask = open_netcdf(snakemake.input.split).is_validation.values
    x, y = train.image.values, train.label.values
    log.info(
        "sweep %s, point %s, seed %d: %s %s (%s data)",
        p["sweep"],
        p["point"],
        seed,
        p["model"],
        s,
        train.attrs["source_label"],
    )
    hidden = s["hidden"] if p["model"] == "mlp" else None
    model, history = jobs.fit(
        snakemake,
        log,
        lambda: build_model(p["model"], s["optimizer"], s["learning_rate"], x.shape[1:], hidden=hidden),
        x[~mask],
        y[~mask],
        validation_data=(x[mask], y[mask]) if mask.any() else None,
        epochs=s["epochs"],
        batch_size=s["batch_size"],
        seed=seed,
        fingerprint={**p, "data": train.attrs["raw_sha256"]},
    )
    test = open_netcdf(snakemake.input.test)
    xt, yt = test.image.values, test.label.values
    loss, _ = model.evaluate(xt, yt, batch_size=1000, verbose=0)
    predicted = model.predict(xt, batch_size=1000, verbose=0).argmax(axis=1)
    metrics = classification_metrics(yt, predicted, labels=range(10))
    log.info("test accuracy %.4f", metrics["accuracy"])
    record = run_record(p, seed, test.attrs, metrics, loss=float(loss), parameters=int(model.count_params()))
    jobs.finish(snakemake, model, history, metrics=record)


run(main, snakemake)  # noqa: F821

"""Evaluate one trained MNIST model on the test images."""

from dlrepro import backend, training
from dlrepro.evaluation import classification_metrics
from dlrepro.io import open_netcdf, write_json
from dlrepro.runner import run


def main(snakemake, log):
    import keras  # after dlrepro.runner has chosen the backend

    training.configure_threads(snakemake.threads)
    test = open_netcdf(snakemake.input.test)
    model = keras.models.load_model(snakemake.input.model)
    x, y = test.image.values, test.label.values
    loss, _ = model.evaluate(x, y, batch_size=1000, verbose=0)
    predicted = model.predict(x, batch_size=1000, verbose=0).argmax(axis=1)
    metrics = classification_metrics(y, predicted, labels=range(10))
    p = snakemake.params.run
    result = {
        "runtime": backend.provenance(),
        "experiment": "mnist",
        "model": p["model"],
        "epochs": p["epochs"],
        "epochs_requested": p["epochs_requested"],
        "seed": int(snakemake.wildcards.seed),
        "source": test.attrs["source"],
        "source_label": test.attrs["source_label"],
        "parameters": int(model.count_params()),
        "loss": float(loss),
        **metrics,
    }
    log.info("%s seed %s: test accuracy %.4f", p["model"], snakemake.wildcards.seed, metrics["accuracy"])
    write_json(result, snakemake.output[0])


run(main, snakemake)  # noqa: F821

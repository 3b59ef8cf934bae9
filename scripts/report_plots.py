"""Training curves (mean and range over seeds) and the confusion matrix of one configured model."""

import pandas as pd

from dlrepro.io import read_json
from dlrepro.report.plots import confusion_of, plot_confusion, plot_curves
from dlrepro.runner import run
from dlrepro.tables import combine_labels, count_phrase


def main(snakemake, log):
    p = snakemake.params
    experiment = snakemake.wildcards.experiment
    histories = [pd.read_csv(path) for path in snakemake.input.histories]
    metrics = [read_json(path) for path in snakemake.input.metrics]
    label = combine_labels(m["source_label"] for m in metrics)
    seeds = ", ".join(str(m["seed"]) for m in sorted(metrics, key=lambda m: m["seed"]))
    epochs = sorted({(int(m["epochs"]), int(m.get("epochs_requested", m["epochs"]))) for m in metrics})
    trained = ", ".join(str(t) if t == r else f"{t} of {r}" for t, r in epochs)
    seed_word = "seed" if len(metrics) == 1 else "seeds"
    suffix = f"{label} data; {seed_word} {seeds}; {count_phrase(trained, 'epoch')} trained"
    plotted = plot_curves(
        histories,
        snakemake.output.curves,
        f"{p.title}: training curves ({suffix})",
        validation_name=p.validation_name,
    )
    log.info("curves of %s over %s: %s", p.title, count_phrase(len(histories), "seed"), plotted)
    matrices, class_names, accuracy = confusion_of(experiment, metrics)
    plot_confusion(
        matrices,
        class_names,
        snakemake.output.confusion,
        f"{p.title}: test confusion matrix, summed over seeds\n({suffix}; test accuracy (%) {accuracy})",
    )
    log.info("confusion matrix of %s: %d classes", p.title, len(class_names))


run(main, snakemake)  # noqa: F821

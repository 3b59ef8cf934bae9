"""The MNIST result table: lecture figure beside our mean ± std over seeds."""

from dlrepro.io import read_json
from dlrepro.mnist import mnist_table
from dlrepro.runner import run
from dlrepro.tables import write_experiment_table


def main(snakemake, log):
    runs = [read_json(path) for path in snakemake.input.metrics]
    df, notes = mnist_table(runs)
    write_experiment_table(
        snakemake, log, df, notes, title="MNIST: lecture vs. reproduction (test accuracy, %)"
    )


run(main, snakemake)  # noqa: F821

"""The MNIST result table: lecture figure beside our mean ± std over seeds."""

from dlrepro.io import read_json
from dlrepro.mnist import mnist_table
from dlrepro.runner import run
from dlrepro.tables import provenance, write_table


def main(snakemake, log):
    runs = [read_json(path) for path in snakemake.input.metrics]
    df, notes = mnist_table(runs)
    log.info("\n%s", df.to_string(index=False))
    write_table(
        df,
        snakemake.output.csv,
        snakemake.output.md,
        title="MNIST: lecture vs. reproduction (test accuracy, %)",
        notes=notes,
        prov=provenance(snakemake.params.config_hash),
    )


run(main, snakemake)  # noqa: F821

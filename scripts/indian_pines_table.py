"""The Indian Pines result table: lecture OA beside our OA / AA / kappa per split."""

from dlrepro.hyperspectral import indian_pines_table
from dlrepro.io import read_json
from dlrepro.runner import run
from dlrepro.tables import write_experiment_table


def main(snakemake, log):
    runs = [read_json(path) for path in snakemake.input.metrics]
    df, notes = indian_pines_table(runs)
    write_experiment_table(
        snakemake, log, df, notes, title="Indian Pines: lecture vs. reproduction (3-D CNN, overall accuracy)"
    )


run(main, snakemake)  # noqa: F821

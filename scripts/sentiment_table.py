"""The SI650 result table: lecture figure beside ours, honest accuracies, grouped split, baseline."""

from dlrepro.io import read_json
from dlrepro.lecture import SI650
from dlrepro.runner import run
from dlrepro.sentiment import sentiment_table
from dlrepro.tables import write_experiment_table


def main(snakemake, log):
    runs = [read_json(path) for path in snakemake.input.metrics]
    baselines = [read_json(path) for path in snakemake.input.baselines]
    stats = read_json(snakemake.input.stats)
    df, notes = sentiment_table(runs, baselines, stats, SI650, list(snakemake.input.predictions))
    log.info("malformed lines skipped: %d", stats["parse"]["skipped_lines"])
    write_experiment_table(
        snakemake, log, df, notes, title="SI650 sentiment: lecture vs. reproduction (test accuracy)"
    )


run(main, snakemake)  # noqa: F821

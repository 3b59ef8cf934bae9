"""The comparison of one sweep's points: results/tables/sweep_<name>.{csv,md} and its plot."""

from dlrepro.io import read_json
from dlrepro.report.sweeps import comparison_rows, plot_sweep, write_comparison
from dlrepro.runner import run
from dlrepro.sweeps import parse_sweeps
from dlrepro.tables import provenance


def main(snakemake, log):
    p = snakemake.params.table
    sweep = parse_sweeps(snakemake.config)[p["sweep"]]
    runs = [read_json(path) for path in snakemake.input.metrics]
    rows = comparison_rows(sweep, runs)
    write_comparison(sweep, rows, snakemake.output.csv, snakemake.output.md, provenance(p["config_hash"]))
    kind = plot_sweep(sweep, rows, snakemake.output.plot)
    best = next(r for r in rows if r["best"])
    log.info(
        "%d points x %d seeds; best %s (%.4f); plot: %s",
        len(rows),
        len(sweep.seeds),
        best["point"],
        best["mean"],
        kind,
    )


run(main, snakemake)  # noqa: F821

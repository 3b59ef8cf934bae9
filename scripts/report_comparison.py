"""This run's reproduction table beside another run's (config reporting.compare_with)."""

from dlrepro.report.comparison import compare_results
from dlrepro.runner import run


def main(snakemake, log):
    inp, out = snakemake.input, snakemake.output
    df = compare_results(
        inp.here, inp.there, out.csv, out.md, out.html, there_name=snakemake.params.compare_with
    )
    log.info("compared %s with %s\n%s", inp.here, inp.there, df.to_string(index=False))


run(main, snakemake)  # noqa: F821

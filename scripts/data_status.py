"""Availability probe (checkpoint data_status): can the dataset's files be had? Writes the
status (available, real / stand-in, a one-line reason) read by `rule all` and the report."""

from dlrepro.datasets import probe_status
from dlrepro.io import write_json
from dlrepro.runner import run


def main(snakemake, log):
    fetch = snakemake.params.fetch
    status = probe_status(
        fetch["dataset"],
        fetch["source"],
        options=fetch["options"],
        mirror=fetch["mirror"],
        cache=snakemake.params.cache,
        logger=log,
    )
    log.info(
        "%s: available=%s label=%s raw=%s",
        status["dataset"],
        status["available"],
        status["label"],
        status["raw"],
    )
    write_json(status, snakemake.output[0])


run(main, snakemake)  # noqa: F821

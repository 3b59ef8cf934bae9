"""A standalone HTML page of one result table (from its Markdown: table, notes, provenance)."""

from pathlib import Path

from dlrepro.io import write_text
from dlrepro.report.html import markdown_to_html
from dlrepro.runner import run


def main(snakemake, log):
    md = Path(snakemake.input[0]).read_text(encoding="utf-8")
    write_text(markdown_to_html(md), snakemake.output[0])
    log.info("wrote %s", snakemake.output[0])


run(main, snakemake)  # noqa: F821

"""The workflow's rule graph as SVG: `snakemake --rulegraph` (run with this job's config),
rendered by graphviz dot when on PATH, else by matplotlib; the renderer is recorded."""

import platform

from dlrepro.io import write_json, write_text
from dlrepro.report.rulegraph import render_rulegraph, rulegraph_dot
from dlrepro.runner import run


def main(snakemake, log):
    from pathlib import Path

    snakefile = Path(snakemake.scriptdir).resolve().parent / "Snakefile"
    dot_text = rulegraph_dot(snakefile, dict(snakemake.config), log)
    write_text(dot_text, snakemake.output.dot)
    used = render_rulegraph(dot_text, snakemake.output.svg, snakemake.params.renderer)
    used.update(requested=snakemake.params.renderer, python=platform.python_version())
    log.info("rule graph rendered with %s (%s)", used["renderer"], used["version"])
    write_json(used, snakemake.output.renderer)


run(main, snakemake)  # noqa: F821

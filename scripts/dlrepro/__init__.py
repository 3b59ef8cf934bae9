"""dl-repro: the importable logic behind the Snakemake workflow.

Snakemake scripts in ``scripts/`` stay thin: they read ``snakemake.input``/``params``,
call functions from this package and write ``snakemake.output``.  Everything here is
plain Python, importable without Snakemake, and unit-tested in ``tests/``.
"""

__version__ = "0.1.0"

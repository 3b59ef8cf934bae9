"""Reporting, one module per report rule (import from the module itself):

- ``report_reproduction`` -> :mod:`.reproduction` (rows, verdicts, the table's files) and
  :mod:`.notes` (the text under the table);
- ``report_plots`` -> :mod:`.plots` (training curves, confusion matrices; ``pyplot`` and
  ``save_figure`` for every figure);
- ``report_table_html`` -> :mod:`.html` (Markdown -> a standalone HTML page);
- ``report_rulegraph`` -> :mod:`.rulegraph` (``snakemake --rulegraph``, graphviz or a
  matplotlib layered layout);
- ``report_comparison`` -> :mod:`.comparison` (this run's reproduction table beside another's);
- ``sweep_table`` -> :mod:`.sweeps` (the comparison of a sweep's points: table and plot).

The display names of the experiments, models and splits are in :mod:`dlrepro.names`.
Importing this package imports nothing else (``rules/common.smk`` reads
:func:`.comparison.other_table` at parse time).
"""

"""The Indian Pines result table: lecture OA beside our OA / AA / kappa per split."""

from dlrepro.hyperspectral import indian_pines_table
from dlrepro.io import read_json
from dlrepro.runner import run
from dlrepro.tables import provenance, write_table


def main(snakemake, log):
    runs = [read_json(path) for path in snakemake.input.metrics]
    df, notes = indian_pines_table(runs)
    log.info("\n%s", df.to_string(index=False))
    write_table(
        df,
        snakemake.output.csv,
        snakemake.output.md,
        title="Indian Pines: lecture vs. reproduction (3-D CNN, overall accuracy)",
        notes=notes,
        prov=provenance(snakemake.params.config_hash),
    )


run(main, snakemake)  # noqa: F821

"""Majority-class baseline of one split (the training part's majority for every test row)."""

from dlrepro.io import open_netcdf, write_json
from dlrepro.runner import run
from dlrepro.sentiment import majority_baseline


def main(snakemake, log):
    data = open_netcdf(snakemake.input.data)
    split = open_netcdf(snakemake.input.split)
    y, groups = data.label.values, data.input_id.values
    train, test = split.train_index.values, split.test_index.values
    result = majority_baseline(y[train], y[test], groups[test], groups[train])
    result.update(
        experiment="sentiment",
        split=snakemake.wildcards.split,
        source=data.attrs["source"],
        source_label=data.attrs["source_label"],
    )
    log.info(
        "%s split: majority class %d, accuracy %.4f on %d test rows",
        snakemake.wildcards.split,
        result["majority_class"],
        result["subsets"]["all"]["accuracy"],
        result["subsets"]["all"]["n"],
    )
    write_json(result, snakemake.output[0])


run(main, snakemake)  # noqa: F821

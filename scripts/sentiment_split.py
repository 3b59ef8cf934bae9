"""Train/test split of the sequences: the lecture's random split or the grouped one."""

import numpy as np
import xarray as xr

from dlrepro.io import open_netcdf, write_netcdf
from dlrepro.runner import run
from dlrepro.sentiment import overlap_stats, split_indices


def main(snakemake, log):
    p = snakemake.params
    split = snakemake.wildcards.split
    data = open_netcdf(snakemake.input[0])
    groups = data.input_id.values
    train, test = split_indices(split, data.label.values, groups, p.test_size, p.random_state)
    stats = overlap_stats(groups, train, test)
    ds = xr.Dataset(
        {
            "train_index": (("train",), train.astype(np.int32)),
            "test_index": (("test",), test.astype(np.int32)),
        },
        attrs={
            "split": split,
            "test_size": p.test_size,
            "random_state": p.random_state,
            "source": data.attrs["source"],
            "source_label": data.attrs["source_label"],
            "raw_sha256": data.attrs["raw_sha256"],
            **stats,
        },
    )
    ds["train_index"].attrs.update(long_name="training rows (index into sequences.nc sample)")
    ds["test_index"].attrs.update(long_name="test rows (index into sequences.nc sample)")
    log.info(
        "%s split: %d train / %d test rows; %d test rows have an identical input in training; "
        "%d distinct test inputs",
        split,
        stats["n_train"],
        stats["n_test"],
        stats["test_rows_seen_in_train"],
        stats["distinct_test_inputs"],
    )
    write_netcdf(ds, snakemake.output[0])


run(main, snakemake)  # noqa: F821

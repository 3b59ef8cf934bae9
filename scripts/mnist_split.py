"""Train/validation split of the MNIST training images, saved as a mask."""

import xarray as xr

from dlrepro.io import open_netcdf, write_netcdf
from dlrepro.mnist import validation_mask
from dlrepro.runner import run


def main(snakemake, log):
    train = open_netcdf(snakemake.input[0])
    p = snakemake.params
    mask = validation_mask(train.sizes["sample"], p.fraction, p.method, p.seed)
    ds = xr.Dataset(
        {"is_validation": (("sample",), mask)},
        coords={"sample": train.sample.values},
        attrs={
            "validation_fraction": p.fraction,
            "validation_method": p.method,
            "split_seed": p.seed,
            "source_label": train.attrs["source_label"],
        },
    )
    log.info("validation: %d of %d samples (%s)", int(mask.sum()), mask.size, p.method)
    write_netcdf(ds, snakemake.output[0])


run(main, snakemake)  # noqa: F821

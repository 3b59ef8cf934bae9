"""The patch index: row, column and class of every labelled pixel (NetCDF, dim sample).

The windows themselves are not stored: training, evaluation and prediction gather them per
batch from the normalised cube (dlrepro.hyperspectral.streaming).
"""

import os
import resource

from dlrepro.hyperspectral import patch_index_dataset
from dlrepro.io import open_netcdf, write_netcdf
from dlrepro.runner import run


def main(snakemake, log):
    normalised = open_netcdf(snakemake.input[0])
    p = snakemake.params
    ds = patch_index_dataset(normalised, p.window, p.padding)
    n, bands = ds.sizes["sample"], ds.sizes["band"]
    write_netcdf(ds, snakemake.output[0])
    log.info(
        "index of %d labelled pixels (%dx%d windows, %d bands, padding %s): %.1f KiB; the patches it "
        "replaces would take %.1f MiB as float32",
        n,
        p.window,
        p.window,
        bands,
        p.padding,
        os.path.getsize(snakemake.output[0]) / 1024,
        n * p.window * p.window * bands * 4 / 2**20,
    )
    log.info("process peak RSS %.0f MiB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


run(main, snakemake)  # noqa: F821

"""Extract the window x window patches around every labelled pixel (float32 NetCDF)."""

import resource
import time

from dlrepro.hyperspectral import patches_dataset
from dlrepro.io import open_netcdf, write_netcdf
from dlrepro.runner import run


def main(snakemake, log):
    normalised = open_netcdf(snakemake.input[0])
    p = snakemake.params
    tic = time.perf_counter()
    ds = patches_dataset(normalised, p.window, p.padding)
    log.info(
        "%d patches %s float32 (%.1f MiB, padding %s) in %.2f s",
        ds.sizes["sample"],
        ds.patches.shape[1:],
        ds.patches.nbytes / 2**20,
        p.padding,
        time.perf_counter() - tic,
    )
    write_netcdf(ds, snakemake.output[0])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    log.info("written; process peak RSS %.0f MiB", peak)


run(main, snakemake)  # noqa: F821

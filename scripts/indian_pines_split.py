"""Training/test split of the labelled pixels ({split}: random | disjoint), saved as masks."""

from dlrepro.hyperspectral import split_dataset, window_overlaps
from dlrepro.io import open_netcdf, write_netcdf
from dlrepro.runner import run


def main(snakemake, log):
    cube = open_netcdf(snakemake.input[0])
    p = snakemake.params
    method = snakemake.wildcards.split
    ds = split_dataset(cube, method, p.fraction, p.seed, p.guard, p.window)
    overlaps = window_overlaps(ds.train_mask.values, ds.test_mask.values, p.window)
    ds.attrs["test_patches_containing_training_pixels"] = overlaps
    log.info(
        "%s split (seed %d): %d training / %d test pixels, %d unused; per class train %s, test %s; "
        "%d test patches (%dx%d) contain a training pixel",
        method,
        p.seed,
        ds.attrs["n_train_total"],
        ds.attrs["n_test_total"],
        ds.attrs["n_unused"],
        ds.n_train.values.tolist(),
        ds.n_test.values.tolist(),
        overlaps,
        p.window,
        p.window,
    )
    write_netcdf(ds, snakemake.output[0])


run(main, snakemake)  # noqa: F821

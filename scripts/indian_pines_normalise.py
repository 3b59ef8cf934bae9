"""Normalise the Indian Pines cube (global or per-band mean/std) to float32 NetCDF."""

from dlrepro.hyperspectral import blockwise_stats, check_spread, normalise_blockwise
from dlrepro.io import open_netcdf, write_netcdf
from dlrepro.lecture import INDIAN_PINES
from dlrepro.runner import run


def main(snakemake, log):
    cube = open_netcdf(snakemake.input[0])
    mode = snakemake.params.mode
    stats = blockwise_stats(cube.radiance.values, mode)  # float64, block by block
    raw = cube.attrs.get("cube_file")
    where = f"{snakemake.input[0]}" + (f" (cube file {raw})" if raw else "")
    check_spread(*stats, mode, where, cube.band.values, cube.attrs.get("scene"))  # names the bands
    values, mean, std = normalise_blockwise(cube.radiance.values, mode, stats=stats)
    ds = cube.drop_vars("radiance")  # the raw cube is not kept beside the float32 one
    ds["radiance"] = (("y", "x", "band"), values)
    ds["radiance"].attrs.update(long_name=f"radiance normalised ({mode} mean/std)", units="1")
    ds.attrs["normalisation"] = mode
    if mode == "global":
        ds.attrs.update(normalisation_mean=float(mean), normalisation_std=float(std))
        log.info(
            "global mean %.2f, std %.2f over %d bands (population std; lecture on 220 bands: mean %.2f, std %.2f)",
            float(mean),
            float(std),
            cube.sizes["band"],
            INDIAN_PINES["mean"],
            INDIAN_PINES["std"],
        )
    else:
        ds["band_mean"] = (("band",), mean)
        ds["band_std"] = (("band",), std)
        log.info("per-band mean %.2f..%.2f, std %.2f..%.2f", mean.min(), mean.max(), std.min(), std.max())
    write_netcdf(ds, snakemake.output[0])


run(main, snakemake)  # noqa: F821

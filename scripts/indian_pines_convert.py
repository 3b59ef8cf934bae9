"""Convert the raw files of the scene (Indian Pines or a configured one) to one NetCDF cube
(y, x, band) with the ground truth."""

import numpy as np

from dlrepro.hyperspectral import cube_dataset
from dlrepro.hyperspectral.scene_io import scene_cube_dataset
from dlrepro.io import read_json, write_netcdf
from dlrepro.runner import run


def main(snakemake, log):
    manifest = read_json(snakemake.input.manifest)
    directory = snakemake.input.manifest.rsplit("/", 1)[0]
    p = snakemake.params
    if p.scene:  # another scene than the lecture's (datasets.indian_pines.scene)
        ds = scene_cube_dataset(directory, manifest, p.scene["name"], p.scene["definition"], log)
    else:
        ds = cube_dataset(directory, manifest, p.bands, p.ground_truth, log)
    gt = ds.ground_truth.values
    counts = np.bincount(gt.ravel(), minlength=ds.sizes["class_id"] + 1)[1:]
    log.info(
        "cube %s %s (%d bands, %s), ground truth %s: %d labelled pixels, per class %s (source %s, %s)",
        dict(ds.radiance.sizes),
        ds.radiance.dtype,
        ds.attrs["bands"],
        ds.attrs["cube_variant"] or ds.attrs["cube_file"],
        ds.attrs["ground_truth"],
        ds.attrs["n_labelled"],
        counts.tolist(),
        ds.attrs["source"],
        ds.attrs["source_label"],
    )
    write_netcdf(ds, snakemake.output[0])


run(main, snakemake)  # noqa: F821

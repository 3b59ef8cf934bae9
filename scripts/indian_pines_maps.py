"""Class maps (PNG): ground truth, training / test pixels, predicted classes."""

from dlrepro.hyperspectral import plot_maps
from dlrepro.io import open_netcdf
from dlrepro.runner import run


def main(snakemake, log):
    ds = open_netcdf(snakemake.input[0])
    a = ds.attrs
    title = (
        f"{a.get('scene', 'Indian Pines')}, {a['split']} split, seed {a['seed']}: OA {a['oa']:.4f} "
        f"({a['source_label']} data, {a['bands']} bands, {a['ground_truth']} ground truth)"
    )
    plot_maps(
        snakemake.output[0],
        ds.ground_truth.values,
        ds.train_mask.values,
        ds.test_mask.values,
        ds.predicted.values,
        [str(v) for v in ds.class_name.values],
        title,
    )
    log.info("wrote %s", snakemake.output[0])


run(main, snakemake)  # noqa: F821

"""Normalise one MNIST part: IDX uint8 -> float32 / 255 in NetCDF with provenance (the
sha256 of the bytes read, which must be those the fetch recorded)."""

from dlrepro.io import read_json, write_netcdf
from dlrepro.mnist import load_part, to_dataset
from dlrepro.runner import run
from dlrepro.validation import raw_provenance


def main(snakemake, log):
    manifest = read_json(snakemake.input.manifest)
    images_dir = snakemake.input.images.rsplit("/", 1)[0]
    images, labels, read = load_part(images_dir, snakemake.wildcards.part, manifest)
    attrs = {"dataset": "mnist", "part": snakemake.wildcards.part, **raw_provenance(manifest, read)}
    ds = to_dataset(images, labels, attrs)
    log.info(
        "%s: %d images %s, label counts %s, mean %.4f (source %s, %s)",
        snakemake.wildcards.part,
        images.shape[0],
        images.shape[1:],
        [int((labels == c).sum()) for c in range(10)],
        float(ds.image.mean()),
        attrs["source"],
        attrs["source_label"],
    )
    write_netcdf(ds, snakemake.output[0])


run(main, snakemake)  # noqa: F821

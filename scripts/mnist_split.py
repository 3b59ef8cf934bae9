"""Train/validation split of the MNIST training images, saved as a mask (checked: the
validation and test parts hold every class present in training)."""

import xarray as xr

from dlrepro.io import open_netcdf, write_netcdf
from dlrepro.mnist import check_split_classes, class_counts, resolve_validation_method, validation_mask
from dlrepro.runner import run
from dlrepro.validation import check_same_shape


def main(snakemake, log):
    train = open_netcdf(snakemake.input.train)
    test = open_netcdf(snakemake.input.test)
    p = snakemake.params
    check_same_shape(
        train.image.shape,
        snakemake.input.train,
        test.image.shape,
        snakemake.input.test,
        "image size",
        axes=(1, 2),
    )
    label = train.attrs["source_label"]
    method = resolve_validation_method(p.method, label)
    labels = train.label.values
    mask = validation_mask(train.sizes["sample"], p.fraction, method, p.seed, labels=labels)
    check_split_classes(labels, mask, test.label.values, method)
    ds = xr.Dataset(
        {"is_validation": (("sample",), mask)},
        coords={"sample": train.sample.values},
        attrs={
            "validation_fraction": p.fraction,
            "validation_method": method,
            "validation_method_configured": p.method,
            "split_seed": p.seed,
            "source_label": label,
        },
    )
    log.info(
        "validation: %d of %d samples (%s%s, %s data), label counts %s",
        int(mask.sum()),
        mask.size,
        method,
        " from auto" if p.method == "auto" else "",
        label,
        class_counts(labels[mask]),
    )
    write_netcdf(ds, snakemake.output[0])


run(main, snakemake)  # noqa: F821

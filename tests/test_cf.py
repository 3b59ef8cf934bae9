"""CF-1.8 NetCDF: every file the workflow writes (cube, normalised cube, patch index, splits,
predictions, MNIST and SI650 data) passes an existing CF checker (cfchecker from PyPI, with the
Debian udunits library; skipped when it is not installed) and carries the CF attributes checked
here by plain assertions; every reader gets back the same values and types."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest
import xarray as xr

from dlrepro import cf
from dlrepro.acquire import acquire
from dlrepro.io import open_netcdf, write_netcdf

LOG = logging.getLogger("test-cf")

# offline stand-ins for the CF tables the checker downloads by default: the files use no
# standard_name, area type or region name, so empty tables change no verdict
EMPTY_TABLES = {
    "standard": "<standard_name_table><version_number>0</version_number>"
    "<last_modified>offline</last_modified></standard_name_table>",
    "area": "<area_type_table><version_number>0</version_number><date>offline</date></area_type_table>",
    "region": "<region_table><version_number>0</version_number><date>offline</date></region_table>",
}


@pytest.fixture(scope="module")
def cf_check(tmp_path_factory):
    """``check(path) -> (counts, messages)`` with cfchecker against CF-1.8, or a skip."""
    try:
        from cfchecker.cfchecks import CFChecker, CFVersion
    except Exception as exc:  # not installed, or no libudunits2 (Debian libudunits2-0)
        pytest.skip(f"cfchecker not usable here ({type(exc).__name__}: {exc}); pip install cfchecker")
    tables = tmp_path_factory.mktemp("cf-tables")
    paths = {}
    for name, text in EMPTY_TABLES.items():
        paths[name] = tables / f"{name}.xml"
        paths[name].write_text(f'<?xml version="1.0"?>\n{text}\n')

    def check(path):
        checker = CFChecker(
            cfStandardNamesXML=str(paths["standard"]),
            cfAreaTypesXML=str(paths["area"]),
            cfRegionNamesXML=str(paths["region"]),
            version=CFVersion((1, 8)),
            silent=True,
        )
        checker.checker(str(path))
        counts = checker.get_total_counts()
        problems = [m for m in checker.all_messages if re.match(r"^(FATAL|ERROR|WARN)", m)]
        return counts, problems

    return check


# --------------------------------------------------------------------------- the files


def _indian_pines(tmp_path):
    from dlrepro import hyperspectral as hs

    spec = hs.indian_pines_spec({"bands": 200, "ground_truth": "purdue", "source": "synthetic"})
    manifest = acquire(spec, tmp_path / "raw", source="synthetic", synthetic_options={"seed": 0}, logger=LOG)
    cube = hs.cube_dataset(tmp_path / "raw", manifest, 200, "purdue", LOG)
    write_netcdf(cube, tmp_path / "cube.nc")
    cube = open_netcdf(tmp_path / "cube.nc")
    values, mean, std = hs.normalise_blockwise(cube.radiance.values, "global")
    normalised = cube.drop_vars("radiance")
    normalised["radiance"] = (("y", "x", "band"), values)
    normalised["radiance"].attrs.update(long_name="radiance normalised (global mean/std)", units="1")
    write_netcdf(normalised, tmp_path / "normalised.nc")
    normalised = open_netcdf(tmp_path / "normalised.nc", drop=["radiance"])
    index = hs.patch_index_dataset(normalised, 5, "constant")
    write_netcdf(index, tmp_path / "patch_index.nc")
    split = hs.split_dataset(cube, "random", 0.1, 1, 0, 5)
    write_netcdf(split, tmp_path / "split.nc")
    split = open_netcdf(tmp_path / "split.nc")
    index = open_netcdf(tmp_path / "patch_index.nc")
    # as scripts/indian_pines_evaluate.py writes predictions.nc
    predicted = np.where(normalised.ground_truth.values > 0, normalised.ground_truth.values, 1)
    maps = xr.Dataset(
        {
            "predicted": (("y", "x"), predicted.astype(np.uint8)),
            "ground_truth": normalised.ground_truth,
            "train_mask": split.train_mask,
            "test_mask": split.test_mask,
            "class_name": index.class_name,
        },
        attrs={**normalised.attrs, "split": "random", "seed": 1, "oa": 0.5},
    )
    write_netcdf(maps, tmp_path / "predictions.nc")
    return split


def _mnist_and_sentiment(tmp_path):
    from dlrepro import mnist, sentiment

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
    write_netcdf(mnist.to_dataset(images, np.arange(30) % 10, {"dataset": "mnist"}), tmp_path / "train.nc")
    mask = np.zeros(30, dtype=bool)
    mask[-6:] = True
    write_netcdf(xr.Dataset({"is_validation": (("sample",), mask)}), tmp_path / "validation.nc")
    x = sentiment.pad_sequences([[2, 3], [4, 5, 6]], 4)
    attrs = {"dataset": "si650", "skipped_lines": 0, "tokenizer": "treebank"}
    write_netcdf(sentiment.to_dataset(x, [0, 1], [1, 2], attrs, n_tokens=[2, 3]), tmp_path / "sequences.nc")
    return mask


FILES = (
    "cube.nc",
    "normalised.nc",
    "patch_index.nc",
    "split.nc",
    "predictions.nc",
    "train.nc",
    "validation.nc",
    "sequences.nc",
)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    directory = tmp_path_factory.mktemp("cf")
    split = _indian_pines(directory)
    mask = _mnist_and_sentiment(directory)
    return directory, split, mask


@pytest.mark.parametrize("name", FILES)
def test_every_file_passes_the_cf_checker(written, cf_check, name):
    counts, problems = cf_check(written[0] / name)
    assert (counts["FATAL"], counts["ERROR"], counts["WARN"]) == (0, 0, 0), problems


def _attrs(path):
    """The attributes as stored (netCDF4, not xarray's decoding)."""
    import netCDF4

    with netCDF4.Dataset(path) as nc:
        return (
            {k: nc.getncattr(k) for k in nc.ncattrs()},
            {name: {k: var.getncattr(k) for k in var.ncattrs()} for name, var in nc.variables.items()},
            {name: var.dtype for name, var in nc.variables.items()},
        )


@pytest.mark.parametrize("name", FILES)
def test_conventions_and_attribute_names(written, name):
    global_attrs, variables, _ = _attrs(written[0] / name)
    assert global_attrs["Conventions"] == "CF-1.8"
    for attr in [*global_attrs, *(a for v in variables.values() for a in v)]:
        assert re.fullmatch(r"_?[A-Za-z][A-Za-z0-9_]*", attr), attr
    for var in variables.values():
        assert "dtype" not in var  # no xarray bool marker: masks are flag bytes


def test_cube_flags_units_and_coordinates(written):
    _, variables, dtypes = _attrs(written[0] / "cube.nc")
    gt = variables["ground_truth"]
    assert isinstance(gt["flag_values"], np.ndarray) and gt["flag_values"].dtype == dtypes["ground_truth"]
    assert gt["flag_values"].tolist() == list(range(9))
    assert gt["flag_meanings"].split() == ["unlabelled"] + [f"Synthetic_class_{c}" for c in range(1, 9)]
    assert "units" not in variables["radiance"]  # scaled DN: no physical unit claimed
    assert "scaled digital numbers" in variables["radiance"]["long_name"]
    for coord in ("y", "x", "band", "class_id"):
        assert variables[coord]["long_name"] and variables[coord]["units"] == "1"
    assert variables["wavelength"]["units"] == "nm"
    assert dtypes["class_name"] == np.dtype("S1")  # a CF character array


def test_predictions_masks_are_flag_bytes_read_back_as_booleans(written):
    directory, split, _ = written
    _, variables, dtypes = _attrs(directory / "predictions.nc")
    for mask in ("train_mask", "test_mask"):
        assert dtypes[mask] == np.int8
        assert variables[mask]["flag_values"].tolist() == [0, 1]
        assert variables[mask]["flag_meanings"] == "false true"
    assert variables["predicted"]["flag_values"].tolist() == list(range(1, 9))
    assert variables["predicted"]["flag_meanings"].split()[0] == "Synthetic_class_1"
    back = open_netcdf(directory / "predictions.nc")
    assert back.train_mask.dtype == bool and back.test_mask.dtype == bool
    np.testing.assert_array_equal(back.train_mask.values, split.train_mask.values)
    assert [str(v) for v in back.class_name.values] == [f"Synthetic class {c}" for c in range(1, 9)]
    assert back.ground_truth.dtype == np.uint8 and back.predicted.dtype == np.uint8


def test_mnist_and_sentiment_flags_and_masks(written):
    directory, _, mask = written
    _, variables, _ = _attrs(directory / "train.nc")
    assert variables["label"]["flag_values"].tolist() == list(range(10))
    assert variables["label"]["flag_meanings"].split() == [f"digit_{d}" for d in range(10)]
    _, variables, _ = _attrs(directory / "sequences.nc")
    assert variables["label"]["flag_values"].tolist() == [0, 1]
    assert variables["label"]["flag_meanings"] == "negative positive"
    back = open_netcdf(directory / "validation.nc")
    assert back.is_validation.dtype == bool
    np.testing.assert_array_equal(back.is_validation.values, mask)


def test_real_class_names_are_cf_words():
    from dlrepro.hyperspectral import CLASS_NAMES

    words = cf.flags(range(17), ["unlabelled", *CLASS_NAMES], np.uint8)["flag_meanings"].split()
    assert words[1:4] == ["Alfalfa", "Corn-notill", "Corn-mintill"]
    assert words[-2:] == ["Buildings-Grass-Trees-Drives", "Stone-Steel-Towers"]
    assert cf.flag_word("Synthetic class 1") == "Synthetic_class_1"
    assert cf.flags((1, 2), ["a b", "a/b"], np.int8)["flag_meanings"] == "a_b a_b_2"


def test_files_written_before_cf_are_upgraded_on_rewrite(tmp_path):
    """A cube.nc of an earlier run (flag_values "0..2" as a string) rewritten by a later stage."""
    ds = xr.Dataset(
        {
            "ground_truth": (("y", "x"), np.array([[0, 1], [2, 1]], dtype=np.uint8)),
            "class_name": (("class_id",), np.array(["a", "b"], dtype=object)),
        },
        coords={"class_id": np.array([1, 2], dtype=np.uint8)},
    )
    ds["ground_truth"].attrs.update(long_name="class id (0 = unlabelled)", flag_values="0..2")
    out = cf.apply_cf(ds)
    assert out.ground_truth.attrs["flag_values"].tolist() == [0, 1, 2]
    assert out.ground_truth.attrs["flag_meanings"] == "unlabelled a b"
    assert ds.ground_truth.attrs["flag_values"] == "0..2"  # the caller's dataset is untouched


@pytest.mark.workflow
def test_tiny_run_netcdf_files_pass_the_cf_checker(tiny_run, cf_check):
    """Every NetCDF file of the tiny workflow run, as the workflow wrote it."""
    paths = sorted((tiny_run / "results").rglob("*.nc"))
    assert any(p.name == "cube.nc" for p in paths) and any(p.name == "predictions.nc" for p in paths)
    for path in paths:
        counts, problems = cf_check(path)
        assert (counts["FATAL"], counts["ERROR"], counts["WARN"]) == (0, 0, 0), (path, problems)

"""CF-1.8 metadata for every NetCDF file the workflow writes (applied by :func:`dlrepro.io.write_netcdf`).

What a file gets (nothing that a reader of this code uses changes value or type, see
:func:`decode_booleans`):

- the global attribute ``Conventions = "CF-1.8"``; attribute names made of letters, digits and
  underscores (``sha256_92AV3GT.GIS`` is written as ``sha256_92AV3GT_GIS``);
- a ``long_name`` (and ``units = "1"`` for the dimensionless pixel, band, class and sample
  indices) on the coordinates ``y``, ``x``, ``band``, ``class_id``, ``sample``, ... unless set;
- class maps (``ground_truth``, ``predicted``, ``label``: the class id of a pixel) as CF flag
  variables: ``flag_values`` (an integer array of the variable's type) and ``flag_meanings``
  (the class names of the file's ``class_name`` variable as CF-safe words; 0 = ``unlabelled``
  in a ground truth);
- a boolean variable (a mask) as a NetCDF byte with ``flag_values = [0, 1]`` and
  ``flag_meanings = "false true"`` (instead of xarray's byte with a ``dtype = "bool"``
  attribute); :func:`dlrepro.io.open_netcdf` reads it back as bool;
- a string variable (``class_name``) as a CF character array (``char class_name(class_id,
  stringN)``, UTF-8), read back as Python strings.
"""

from __future__ import annotations

import re

import numpy as np

CONVENTIONS = "CF-1.8"

#: the flag meanings of a boolean written as a byte (and recognised when read back)
BOOLEAN_MEANINGS = "false true"

# attributes of coordinates (and of index variables) when the writer set none
COORDINATE_ATTRS = {
    "y": {"long_name": "pixel row of the scene (0 = first row of the cube)", "units": "1"},
    "x": {"long_name": "pixel column of the scene (0 = first column of the cube)", "units": "1"},
    "band": {"long_name": "band number (1-based)", "units": "1"},
    "class_id": {"long_name": "class id (1-based; 0 = unlabelled is not a class)", "units": "1"},
    # only ever read from the AVIRIS band calibration (92AV3C.spc), in nanometres
    "wavelength": {"long_name": "band centre wavelength", "units": "nm"},
    "fwhm": {"long_name": "band full width at half maximum", "units": "nm"},
    "sample": {"long_name": "sample number (0-based)", "units": "1"},
    "position": {"long_name": "token position in the padded sequence (0-based)", "units": "1"},
    "wy": {"long_name": "row offset from the window centre", "units": "1"},
    "wx": {"long_name": "column offset from the window centre", "units": "1"},
}

# long names of variables the writers leave without one
LONG_NAMES = {
    "predicted": "predicted class id",
    "ground_truth": "class id (0 = unlabelled)",
    "train_mask": "pixel in the training set",
    "test_mask": "pixel in the test set",
    "is_validation": "sample in the validation part of the training images",
    "class_name": "class name",
    "row": "pixel row of the window centre",
    "col": "pixel column of the window centre",
    "n_train": "training pixels per class",
    "n_test": "test pixels per class",
    "band_mean": "mean of the band (normalisation)",
    "band_std": "population standard deviation of the band (normalisation)",
}

# variables holding the class id of a pixel (flag variables over the file's class_name)
CLASS_VARIABLES = ("ground_truth", "predicted", "label")

_BAD_NAME = re.compile(r"[^A-Za-z0-9_]")
_BAD_WORD = re.compile(r"[^A-Za-z0-9_.+@-]+")


def flag_word(text: str) -> str:
    """A CF ``flag_meanings`` word: letters, digits and ``_ - . + @`` (``Grass-pasture-mowed``
    stays, ``Synthetic class 1`` becomes ``Synthetic_class_1``)."""
    word = _BAD_WORD.sub("_", str(text).strip()).strip("_")
    return word or "unnamed"


def attribute_name(name: str) -> str:
    """A CF attribute name: begins with a letter; letters, digits and underscores."""
    name = _BAD_NAME.sub("_", name)
    return name if name[:1].isalpha() else f"a_{name}"


def flags(values, meanings, dtype) -> dict:
    """``flag_values`` (an array of ``dtype``, the variable's type) and ``flag_meanings``."""
    words = [flag_word(m) for m in meanings]
    seen: dict[str, int] = {}
    for i, word in enumerate(words):  # two names that map to one word stay distinct
        seen[word] = seen.get(word, 0) + 1
        if seen[word] > 1:
            words[i] = f"{word}_{seen[word]}"
    return {
        "flag_values": np.asarray(list(values), dtype=dtype),
        "flag_meanings": " ".join(words),
    }


def _legacy_flag_values(text: str) -> list[int] | None:
    """``"0..16"`` or ``"0 1 2"`` (the attributes of files written before CF) -> the integers."""
    match = re.fullmatch(r"\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*", text)
    if match:
        return list(range(int(match.group(1)), int(match.group(2)) + 1))
    try:
        return [int(v) for v in text.split()]
    except ValueError:
        return None


def _class_names(ds) -> list[str] | None:
    if "class_name" not in ds.variables:
        return None
    values = np.asarray(ds["class_name"].values).ravel()
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def _variable_attrs(name: str, var, names: list[str] | None) -> dict:
    attrs = {k if k.startswith("_") else attribute_name(k): v for k, v in var.attrs.items()}
    for key, value in COORDINATE_ATTRS.get(name, {}).items():
        attrs.setdefault(key, value)
    if name in LONG_NAMES:
        attrs.setdefault("long_name", LONG_NAMES[name])
    if var.dtype.kind not in "iu":
        return attrs
    legacy = attrs.get("flag_values")
    if isinstance(legacy, str):  # "0..16": recomputed below, or parsed
        del attrs["flag_values"]
        meanings = attrs.pop("flag_meanings", None)
        values = _legacy_flag_values(legacy)
        if values and not (name in CLASS_VARIABLES and names):
            words = meanings.split() if isinstance(meanings, str) else []
            if len(words) != len(values):
                words = [f"value_{v}" for v in values]
            attrs.update(flags(values, words, var.dtype))
    if name in CLASS_VARIABLES and names and "flag_values" not in attrs:
        values, meanings = list(range(1, len(names) + 1)), list(names)
        if name == "ground_truth":  # 0 = unlabelled
            values, meanings = [0, *values], ["unlabelled", *meanings]
        attrs.update(flags(values, meanings, var.dtype))
    return attrs


def apply_cf(ds):
    """A copy of the xarray Dataset ``ds`` (data shared) with CF-1.8 metadata (see the module doc)."""
    ds = ds.copy(deep=False)
    ds.attrs = {**{attribute_name(k): v for k, v in ds.attrs.items()}, "Conventions": CONVENTIONS}
    names = _class_names(ds)
    for name in list(ds.variables):
        var = ds.variables[name]
        attrs = _variable_attrs(name, var, names)
        if var.dtype == bool:
            encoding = {k: v for k, v in var.encoding.items() if k != "dtype"}
            attrs = {k: v for k, v in attrs.items() if k != "dtype"}
            attrs.update(flags((0, 1), BOOLEAN_MEANINGS.split(), np.int8))
            ds[name] = (var.dims, np.asarray(var.values).astype(np.int8), attrs)
            ds.variables[name].encoding = encoding
            continue
        var.attrs = attrs
        if var.dtype.kind in "OUS" and var.ndim >= 1:
            # a CF character array, UTF-8 (NetCDF-4 variable-length strings are not CF-1.8)
            var.encoding = {**var.encoding, "dtype": "S1"}
    return ds


def decode_booleans(ds):
    """Byte variables written from booleans (``flag_meanings = "false true"``) back to bool, in place."""
    for name in list(ds.data_vars):
        var = ds.variables[name]
        if var.dtype.kind not in "iu" or var.attrs.get("flag_meanings") != BOOLEAN_MEANINGS:
            continue
        if np.asarray(var.attrs.get("flag_values", [])).ravel().tolist() != [0, 1]:
            continue
        attrs = {k: v for k, v in var.attrs.items() if k not in ("flag_values", "flag_meanings")}
        ds[name] = (var.dims, np.asarray(var.values).astype(bool), attrs)
    return ds

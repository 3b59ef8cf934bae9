"""Normalisation and patch extraction (windows around pixels of the padded cube)."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DataError
from .sources import PADDING_MODES


def normalisation_stats(cube: np.ndarray, mode: str = "global") -> tuple[np.ndarray, np.ndarray]:
    """Mean and population std (ddof=0) in float64: scalars (``global``) or per band."""
    if mode not in ("global", "per_band"):
        raise ConfigError(f"config key indian_pines.normalisation: {mode!r}, expected 'global' or 'per_band'")
    axis = None if mode == "global" else (0, 1)
    values = cube.astype(np.float64)  # 34 MB for the 200-band cube
    return np.asarray(values.mean(axis=axis)), np.asarray(values.std(axis=axis))


def check_spread(mean, std, mode: str, where="the cube", bands=None, scene: str | None = None) -> None:
    """A standard deviation of zero (a constant band, or a constant cube) -> :class:`DataError`
    naming ``where`` (the cube file), the band index(es) (0-based position in the cube, with the
    band number of ``bands``), the config key and what to do."""
    std, mean = np.atleast_1d(np.asarray(std)), np.atleast_1d(np.asarray(mean))
    zero = np.flatnonzero(std == 0)
    if not len(zero):
        return
    key = f"config key indian_pines.normalisation: {mode}"
    if mode == "global":
        raise DataError(
            f"{where}: every value of the cube is {mean[0]:g} (standard deviation zero); {key} divides "
            "by the standard deviation of all values; expected a cube whose values vary - check the cube file"
        )
    shown = zero[:10]
    more = f" and {len(zero) - len(shown)} more" if len(zero) > len(shown) else ""
    noun = "band index" if len(zero) == 1 else "band indices"
    text = f"{noun} {', '.join(map(str, shown))}{more}"
    if bands is not None:
        numbers = np.asarray(bands)[shown]
        text += (
            f" (band number{'s' if len(zero) > 1 else ''} {', '.join(str(int(b)) for b in numbers)}{more})"
        )
    values = ", ".join(f"{mean[i]:g}" for i in shown)
    drop = (
        f"list the band numbers in scenes.{scene}.drop_bands"
        if scene and scene != "indian_pines"
        else "remove the band(s) from the cube file"
    )
    raise DataError(
        f"{where}: {text} of {len(std)} constant (every pixel {values}); {key} divides each band by its "
        f"standard deviation, which is zero there; expected every band to vary - {drop}, or set "
        "config key indian_pines.normalisation: global"
    )


def normalise(
    cube: np.ndarray, mode: str = "global", where="the cube", bands=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(cube - mean) / std`` as float32, with the mean and std used."""
    mean, std = normalisation_stats(cube, mode)
    check_spread(mean, std, mode, where, bands)
    out = cube.astype(np.float32, order="C")
    out -= mean.astype(np.float32)
    out /= std.astype(np.float32)
    return out, mean, std


# --------------------------------------------------------------------------- patches


def labelled_pixels(gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and class of every labelled pixel, in row-major order."""
    rows, cols = np.nonzero(gt)
    return rows.astype(np.int32), cols.astype(np.int32), gt[rows, cols]


def pad_cube(cube: np.ndarray, radius: int, mode: str = "constant") -> np.ndarray:
    """Pad the two spatial axes by ``radius``.

    ``constant`` pads with 0, which after normalisation is the mean value; ``reflect``,
    ``symmetric`` and ``edge`` are numpy's modes.
    """
    if mode not in PADDING_MODES:
        raise ConfigError(f"config key indian_pines.padding: {mode!r}, expected one of {PADDING_MODES}")
    width = ((radius, radius), (radius, radius), (0, 0))
    return np.pad(cube, width, mode=mode) if mode != "constant" else np.pad(cube, width, constant_values=0)


def extract_patches(padded: np.ndarray, rows, cols, window: int) -> np.ndarray:
    """``window x window`` neighbourhoods of pixels ``(rows, cols)`` of the unpadded cube.

    ``padded`` is the cube padded by ``window // 2`` (:func:`pad_cube`).  The result
    ``(n, window, window, band)`` is one fresh C-contiguous array of ``padded``'s dtype:
    ``sliding_window_view`` is a zero-copy view ``(y, x, wy, wx, band)`` and the fancy
    index on its two leading axes is the only copy (no Python loop over pixels).
    """
    if window < 1 or window % 2 == 0:
        raise ConfigError(f"config key indian_pines.window: {window}, expected an odd number >= 1")
    padded = np.ascontiguousarray(padded)  # a C-ordered source gives a C-ordered result
    view = np.lib.stride_tricks.sliding_window_view(padded, (window, window), axis=(0, 1))
    view = np.moveaxis(view, 2, -1)  # (y, x, band, wy, wx) -> (y, x, wy, wx, band), still a view
    return view[np.asarray(rows), np.asarray(cols)]


def patches_dataset(normalised, window: int, padding: str):
    """Patches around every labelled pixel of a normalised cube Dataset (float32)."""
    import xarray as xr

    cube = normalised["radiance"].values
    if cube.dtype != np.float32:
        cube = cube.astype(np.float32)
    gt = normalised["ground_truth"].values
    radius = window // 2
    rows, cols, labels = labelled_pixels(gt)
    patches = extract_patches(pad_cube(cube, radius, padding), rows, cols, window)
    offsets = np.arange(-radius, radius + 1, dtype=np.int16)
    coords = {
        "sample": np.arange(len(rows), dtype=np.int32),
        "wy": offsets,
        "wx": offsets,
        "band": normalised["band"].values,
    }
    for name in ("wavelength", "fwhm"):
        if name in normalised.coords:
            coords[name] = ("band", normalised[name].values)
    ds = xr.Dataset(
        {
            "patches": (("sample", "wy", "wx", "band"), patches),
            "row": (("sample",), rows),
            "col": (("sample",), cols),
            "label": (("sample",), labels),
            "class_name": normalised["class_name"],
        },
        coords=coords,
        attrs={**normalised.attrs, "window": int(window), "padding": padding},
    )
    ds["patches"].attrs.update(
        long_name=f"normalised {window}x{window} neighbourhood of the pixel (row, col)",
        padding=f"{padding}" + (" (zeros = the normalisation mean)" if padding == "constant" else ""),
    )
    ds["label"].attrs.update(long_name="class id of the centre pixel (1-based)")
    return ds

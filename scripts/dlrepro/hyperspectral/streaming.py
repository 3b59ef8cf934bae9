"""Streamed patches: a pixel index instead of stored windows, windows gathered per batch.

Memory is O(cube + a few batches), never O(patches): the patch stage writes only the
coordinates of the labelled pixels (:func:`patch_index_dataset`, ``patch_index.nc``);
training, evaluation and whole-scene prediction cut the ``window x window x band``
neighbourhoods out of the normalised, padded cube when a batch needs them
(:class:`PatchSource`: one vectorised NumPy fancy index per batch, the same values as
:func:`extract_patches` on the whole set).  Normalisation statistics are accumulated
block by block in float64 (:func:`blockwise_stats`), so a cube is never copied to
float64 whole.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DataError
from .preprocessing import extract_patches, labelled_pixels, pad_cube
from .sources import PADDING_MODES

#: float64 bytes per block of the block-wise statistics (a cube that fits in one block,
#: e.g. the 145 x 145 x 200 Indian Pines, gets exactly the full-array figures)
BLOCK_BYTES = 64 * 2**20


def block_rows_for(shape, itemsize: int = 8, block_bytes: int = BLOCK_BYTES) -> int:
    """Rows of a ``(y, x, band)`` cube per block of ``block_bytes``."""
    per_row = max(1, int(np.prod(shape[1:])) * itemsize)
    return max(1, block_bytes // per_row)


# --------------------------------------------------------------------------- normalisation


def blockwise_stats(
    cube, mode: str = "global", block_rows: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population std (ddof=0) of ``cube`` (y, x, band), ``block_rows`` rows at a time.

    Float64 accumulators of the per-block sums and of the squared deviations from each
    block's mean (Chan et al.'s pairwise update), so the result equals the full-array
    computation to float64 rounding and no float64 copy of the cube is made.
    """
    if mode not in ("global", "per_band"):
        raise ConfigError(f"config key indian_pines.normalisation: {mode!r}, expected 'global' or 'per_band'")
    axis = None if mode == "global" else (0, 1)
    block_rows = block_rows or block_rows_for(cube.shape)
    count, mean, m2 = 0, 0.0, 0.0
    for start in range(0, cube.shape[0], block_rows):
        block = np.asarray(cube[start : start + block_rows], dtype=np.float64)
        n = block.size if axis is None else block.shape[0] * block.shape[1]
        if n == 0:
            continue
        b_mean = block.mean(axis=axis)
        b_m2 = ((block - b_mean) ** 2).sum(axis=axis)
        delta = b_mean - mean
        total = count + n
        mean = mean + delta * (n / total)
        m2 = m2 + b_m2 + delta**2 * (count * n / total)
        count = total
    if count == 0:
        raise DataError("normalisation: empty cube")
    return np.asarray(mean), np.sqrt(np.asarray(m2) / count)


def normalise_blockwise(cube, mode: str = "global", block_rows: int | None = None, stats=None):
    """``(cube - mean) / std`` as a new float32 array, written block by block.

    The same float32 operations as :func:`~.preprocessing.normalise` (subtract the float32
    mean, divide by the float32 std), so the values are identical for identical statistics.
    """
    mean, std = stats if stats is not None else blockwise_stats(cube, mode, block_rows)
    if np.any(std == 0):
        raise DataError("normalisation: a standard deviation is zero (constant cube or band)")
    block_rows = block_rows or block_rows_for(cube.shape, 4)
    out = np.empty(cube.shape, dtype=np.float32)
    m32, s32 = mean.astype(np.float32), std.astype(np.float32)
    for start in range(0, cube.shape[0], block_rows):
        block = out[start : start + block_rows]
        block[...] = cube[start : start + block_rows]
        block -= m32
        block /= s32
    return out, mean, std


# --------------------------------------------------------------------------- the index


def patch_index_dataset(normalised, window: int, padding: str):
    """The patch stage's output: row, column and class of every labelled pixel (named dim
    ``sample``), the window and padding, the band coordinates and the provenance; no patches."""
    import xarray as xr

    if window < 1 or window % 2 == 0:
        raise ConfigError(f"config key indian_pines.window: {window}, expected an odd number >= 1")
    gt = normalised["ground_truth"].values
    rows, cols, labels = labelled_pixels(gt)
    coords = {"sample": np.arange(len(rows), dtype=np.int32), "band": normalised["band"].values}
    for name in ("wavelength", "fwhm"):
        if name in normalised.coords:
            coords[name] = ("band", normalised[name].values)
    ds = xr.Dataset(
        {
            "row": (("sample",), rows),
            "col": (("sample",), cols),
            "label": (("sample",), labels),
            "class_name": normalised["class_name"],
        },
        coords=coords,
        attrs={
            **normalised.attrs,
            "window": int(window),
            "padding": padding,
            "n_rows": int(gt.shape[0]),
            "n_cols": int(gt.shape[1]),
            "patches": (
                f"not stored: the {window}x{window}xband window around (row, col) of the normalised cube, "
                f"padded ({padding}), is gathered per batch (dlrepro.hyperspectral.streaming)"
            ),
        },
    )
    ds["row"].attrs.update(long_name="row (y) of the centre pixel in the unpadded cube")
    ds["col"].attrs.update(long_name="column (x) of the centre pixel in the unpadded cube")
    ds["label"].attrs.update(long_name="class id of the centre pixel (1-based)")
    return ds


# --------------------------------------------------------------------------- gathering


def fill_border(padded: np.ndarray, radius: int, mode: str) -> None:
    """Fill the ``radius`` border of ``padded`` in place from its interior, as ``np.pad(mode)``
    would (rows first, then columns over the padded rows, numpy's axis order)."""
    h, w = padded.shape[0] - 2 * radius, padded.shape[1] - 2 * radius
    rows = np.pad(np.arange(h), radius, mode=mode) + radius  # padded row -> interior row it copies
    cols = np.pad(np.arange(w), radius, mode=mode) + radius
    border_rows = np.r_[0:radius, radius + h : h + 2 * radius]
    padded[border_rows, radius : radius + w] = padded[rows[border_rows], radius : radius + w]
    border_cols = np.r_[0:radius, radius + w : w + 2 * radius]
    padded[:, border_cols] = padded[:, cols[border_cols]]


class PatchSource:
    """The normalised cube, padded once, and the windows around any pixels of it.

    ``gather(rows, cols)`` is :func:`extract_patches` on the padded cube (one fancy index,
    a fresh ``(n, window, window, band)`` float32 array): the same values as the windows
    the materialised patch file held.
    """

    def __init__(
        self, cube: np.ndarray | None, window: int, padding: str, *, padded: np.ndarray | None = None
    ):
        if window < 1 or window % 2 == 0:
            raise ConfigError(f"config key indian_pines.window: {window}, expected an odd number >= 1")
        self.window, self.padding = int(window), padding
        radius = self.window // 2
        if padded is None:
            padded = pad_cube(np.asarray(cube, dtype=np.float32), radius, padding)
        self.padded = padded
        self.shape = (padded.shape[0] - 2 * radius, padded.shape[1] - 2 * radius, padded.shape[2])

    @classmethod
    def from_netcdf(
        cls, path, window: int, padding: str, variable: str = "radiance", block_rows: int | None = None
    ):
        """The padded cube read straight from a NetCDF file, ``block_rows`` rows at a time, into
        its place in the padded array: one float32 copy of the cube in memory, never two."""
        import xarray as xr

        if window < 1 or window % 2 == 0:
            raise ConfigError(f"config key indian_pines.window: {window}, expected an odd number >= 1")
        if padding not in PADDING_MODES:
            raise ConfigError(
                f"config key indian_pines.padding: {padding!r}, expected one of {PADDING_MODES}"
            )
        r = int(window) // 2
        with xr.open_dataset(path, engine="netcdf4") as ds:
            var = ds[variable]
            h, w, b = var.shape
            padded = np.zeros((h + 2 * r, w + 2 * r, b), dtype=np.float32)
            step = block_rows or block_rows_for(var.shape, 4)
            for start in range(0, h, step):
                stop = min(h, start + step)
                padded[r + start : r + stop, r : r + w] = var[start:stop].values
        if padding != "constant" and r:
            fill_border(padded, r, padding)
        return cls(None, window, padding, padded=padded)

    @property
    def n_bands(self) -> int:
        return int(self.shape[2])

    @property
    def nbytes(self) -> int:
        return int(self.padded.nbytes)

    def gather(self, rows, cols) -> np.ndarray:
        return extract_patches(self.padded, rows, cols, self.window)

    def pixels(self, rows, cols) -> PatchArray:
        """An array-like of the windows around ``(rows, cols)`` for :func:`dlrepro.training.fit`."""
        return PatchArray(self, rows, cols)


class PatchArray:
    """``len()``, ``shape``, ``[index]`` and a ``tf_gather`` hook over the windows of chosen pixels.

    Passed to :func:`dlrepro.training.fit` in place of an ``(n, w, w, band, 1)`` array: the
    training pipeline calls ``tf_gather(index_batch)`` instead of ``tf.gather`` on a tensor
    of all patches, so only one batch of windows exists at a time.
    """

    def __init__(self, source: PatchSource, rows, cols):
        self.source = source
        self.rows = np.asarray(rows, dtype=np.int64)
        self.cols = np.asarray(cols, dtype=np.int64)
        if self.rows.shape != self.cols.shape or self.rows.ndim != 1:
            raise DataError(f"pixel rows {self.rows.shape} and columns {self.cols.shape} differ")

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def shape(self) -> tuple[int, ...]:
        w = self.source.window
        return (len(self), w, w, self.source.n_bands, 1)

    def __getitem__(self, index) -> np.ndarray:
        return self.source.gather(self.rows[index], self.cols[index])[..., np.newaxis]

    def batches(self, batch_size: int):
        """Windows in order, ``batch_size`` at a time (evaluation, prediction)."""
        for start in range(0, len(self), batch_size):
            yield self[start : start + batch_size]

    def tf_gather(self, index):
        """The windows of ``index`` (an int64 tensor of positions) as a float32 tensor."""
        import tensorflow as tf

        out = tf.numpy_function(lambda i: self[i], [index], tf.float32, stateful=False, name="gather_windows")
        out.set_shape((None, *self.shape[1:]))
        return out


# --------------------------------------------------------------------------- prediction


#: float32 bytes of layer outputs one prediction batch may hold.  The 3-D CNN's activations
#: grow with the band count (its first convolution alone is 7 x 7 x (bands - 4) x 48 float32,
#: 2.0 MB per 220-band window: 520 MB for a batch of 256), so the batch is sized by them, and
#: whole-scene prediction stays within the cube plus a bounded working set.
PREDICTION_MEMORY = 256 * 2**20
MAX_PREDICTION_BATCH = 256


def activation_bytes(model) -> int:
    """float32 bytes of the outputs of ``model``'s layers for one input (an upper bound of
    what a batch keeps live per sample during ``predict``)."""
    total = 0
    for layer in model.layers:
        shape = tuple(layer.output.shape)[1:]
        total += int(np.prod([d or 1 for d in shape], dtype=np.int64)) * 4
    return max(total, 4)


def prediction_batch(model, memory: int = PREDICTION_MEMORY, largest: int = MAX_PREDICTION_BATCH) -> int:
    """The largest power of two <= ``largest`` whose layer outputs fit in ``memory`` bytes
    (at least 1): 64 for the lecture's 3-D CNN on 200 or 220 bands, 128 on 103 (Pavia).

    Predictions do not depend on the batch: on an AMD EPYC (AVX-512, oneDNN on) the
    probabilities of 2,048 real Indian Pines windows were bit-identical at batches of 500,
    256, 128, 64 and 32 (the pipeline used 500 and 256 before)."""
    fit = max(1, min(int(largest), int(memory) // activation_bytes(model)))
    return 1 << (fit.bit_length() - 1)


def predict_pixels(model, pixels: PatchArray, chunk: int = 2048, batch_size: int | None = None) -> np.ndarray:
    """Predicted 1-based class of the pixels, ``chunk`` windows gathered at a time, in
    batches of ``batch_size`` (default :func:`prediction_batch`)."""
    batch_size = batch_size or prediction_batch(model)
    out = np.empty(len(pixels), dtype=np.int64)
    for start, x in zip(range(0, len(pixels), chunk), pixels.batches(chunk), strict=True):
        out[start : start + len(x)] = model.predict(x, batch_size=batch_size, verbose=0).argmax(axis=1) + 1
    return out


def predict_scene_streamed(
    model,
    source: PatchSource,
    chunk: int | None = None,
    batch_size: int | None = None,
    chunk_bytes: int = 64 * 2**20,
) -> np.ndarray:
    """Predicted class id (1-based) of every pixel of the scene, block by block.

    ``chunk`` (default: as many windows as fit in ``chunk_bytes``) is rounded down to a
    multiple of ``batch_size`` (default :func:`prediction_batch`), so memory is the padded
    cube, one chunk of windows and one batch's activations, whatever the scene's size.
    """
    batch_size = batch_size or prediction_batch(model)
    per_window = source.window**2 * source.n_bands * 4
    chunk = chunk or max(1, chunk_bytes // per_window)
    chunk = max(batch_size, chunk // batch_size * batch_size)
    h, w = source.shape[:2]
    rows, cols = np.divmod(np.arange(h * w, dtype=np.int64), w)
    out = np.empty(h * w, dtype=np.uint8)
    pixels = source.pixels(rows, cols)
    for start, x in zip(range(0, h * w, chunk), pixels.batches(chunk), strict=True):
        out[start : start + len(x)] = model.predict(x, batch_size=batch_size, verbose=0).argmax(axis=1) + 1
    return out.reshape(h, w)


def window_padding(index) -> tuple[int, str]:
    """``(window, padding)`` recorded by the patch stage in ``patch_index.nc``."""
    return int(index.attrs["window"]), str(index.attrs["padding"])

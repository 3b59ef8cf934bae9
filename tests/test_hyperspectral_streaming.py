"""Streamed patches: the gathered windows equal the materialised ones, block-wise statistics
equal full-array ones, a streamed fit ends with the weights of an in-memory fit, the index
file is tiny."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from dlrepro import hyperspectral as hs
from dlrepro.errors import ConfigError, DataError
from dlrepro.io import open_netcdf, write_netcdf


@pytest.fixture
def cube():
    return np.random.default_rng(3).standard_normal((17, 21, 6)).astype(np.float32)


def naive_patch(cube, r, c, window):
    radius = window // 2
    out = np.zeros((window, window, cube.shape[2]), dtype=cube.dtype)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            y, x = r + dy, c + dx
            if 0 <= y < cube.shape[0] and 0 <= x < cube.shape[1]:
                out[dy + radius, dx + radius] = cube[y, x]
    return out


# --------------------------------------------------------------------------- gathering


@pytest.mark.parametrize("padding", hs.PADDING_MODES)
@pytest.mark.parametrize("window", [1, 3, 9])
def test_gather_equals_materialised_patches_everywhere(cube, window, padding):
    """Every pixel, borders and corners included: the gathered windows equal extract_patches."""
    rows, cols = np.divmod(np.arange(cube.shape[0] * cube.shape[1]), cube.shape[1])
    old = hs.extract_patches(hs.pad_cube(cube, window // 2, padding), rows, cols, window)
    source = hs.PatchSource(cube, window, padding)
    np.testing.assert_array_equal(source.gather(rows, cols), old)
    arr = source.pixels(rows, cols)
    assert arr.shape == (len(rows), window, window, cube.shape[2], 1)
    picked = np.array([0, len(rows) - 1, cube.shape[1] - 1, 5])
    np.testing.assert_array_equal(arr[picked][..., 0], old[picked])


@pytest.mark.parametrize("padding", hs.PADDING_MODES)
def test_source_read_from_netcdf_in_blocks_equals_pad_cube(cube, padding, tmp_path):
    """The padded cube read block by block straight into place equals np.pad of the whole cube."""
    ds = xr.Dataset({"radiance": (("y", "x", "band"), cube)})
    write_netcdf(ds, tmp_path / "n.nc")
    source = hs.PatchSource.from_netcdf(tmp_path / "n.nc", 9, padding, block_rows=4)
    np.testing.assert_array_equal(source.padded, hs.pad_cube(cube, 4, padding))
    assert source.shape == cube.shape and source.n_bands == cube.shape[2]


def test_gather_corners_against_explicit_windows(cube):
    source = hs.PatchSource(cube, 9, "constant")
    h, w = cube.shape[:2]
    for r, c in [(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1), (8, 10)]:
        np.testing.assert_array_equal(source.gather([r], [c])[0], naive_patch(cube, r, c, 9))


def test_batches_cover_in_order(cube):
    source = hs.PatchSource(cube, 3, "reflect")
    rows, cols = np.array([3, 0, 16, 7, 2]), np.array([1, 20, 0, 7, 2])
    got = np.concatenate(list(source.pixels(rows, cols).batches(2)))
    np.testing.assert_array_equal(got[..., 0], source.gather(rows, cols))


def test_tf_gather_equals_numpy_gather(cube):
    import tensorflow as tf

    source = hs.PatchSource(cube, 5, "constant")
    arr = source.pixels(np.arange(10), np.arange(10) * 2)
    out = arr.tf_gather(tf.constant([4, 0, 9], dtype=tf.int64))
    assert out.shape == (3, 5, 5, 6, 1) and out.dtype == tf.float32
    np.testing.assert_array_equal(out.numpy(), arr[np.array([4, 0, 9])])


@pytest.mark.parametrize("window", [0, 4])
def test_even_window_refused(cube, window):
    with pytest.raises(ConfigError, match="indian_pines.window"):
        hs.PatchSource(cube, window, "constant")


def test_mismatched_rows_and_cols_refused(cube):
    with pytest.raises(DataError, match="differ"):
        hs.PatchSource(cube, 3, "constant").pixels([1, 2], [1])


# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize("mode", ["global", "per_band"])
@pytest.mark.parametrize("block_rows", [1, 4, 7, 1000])
def test_blockwise_stats_equal_full_stats(mode, block_rows):
    raw = np.random.default_rng(0).integers(900, 9600, (23, 19, 5)).astype(np.uint16)
    mean, std = hs.blockwise_stats(raw, mode, block_rows)
    full_mean, full_std = hs.normalisation_stats(raw, mode)
    np.testing.assert_allclose(mean, full_mean, rtol=1e-13)
    np.testing.assert_allclose(std, full_std, rtol=1e-12)


@pytest.mark.parametrize("mode", ["global", "per_band"])
def test_blockwise_normalise_equals_normalise_in_one_block(mode):
    """A cube that fits in one block (the 145 x 145 Indian Pines does) gets identical bytes."""
    raw = np.random.default_rng(1).integers(900, 9600, (30, 31, 8)).astype(np.uint16)
    out, mean, std = hs.normalise_blockwise(raw, mode)
    ref, ref_mean, ref_std = hs.normalise(raw, mode)
    np.testing.assert_array_equal(mean, ref_mean)
    np.testing.assert_array_equal(std, ref_std)
    np.testing.assert_array_equal(out, ref)
    assert out.dtype == np.float32


def test_blockwise_normalise_in_small_blocks_matches_within_float32_rounding():
    raw = np.random.default_rng(2).integers(900, 9600, (40, 13, 4)).astype(np.int16)
    out, _, _ = hs.normalise_blockwise(raw, "global", block_rows=3)
    ref, _, _ = hs.normalise(raw, "global")
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-6)


def test_blockwise_constant_band_refused():
    raw = np.ones((4, 4, 2), dtype=np.uint16)
    with pytest.raises(DataError, match="standard deviation is zero"):
        hs.normalise_blockwise(raw, "per_band")


# --------------------------------------------------------------------------- the index


def _normalised_dataset(shape=(30, 25, 12), n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    gt = np.zeros(shape[:2], dtype=np.uint8)
    gt[2:10, 3:12], gt[15:28, 1:9], gt[12:20, 14:24] = 1, 2, 3
    values = rng.standard_normal(shape).astype(np.float32)
    return xr.Dataset(
        {
            "radiance": (("y", "x", "band"), values),
            "ground_truth": (("y", "x"), gt),
            "class_name": (("class_id",), np.array([f"c{i}" for i in range(1, n_classes + 1)], dtype=object)),
        },
        coords={"band": np.arange(1, shape[2] + 1, dtype=np.int16), "class_id": np.arange(1, n_classes + 1)},
        attrs={"source_label": "synthetic", "raw_sha256": "x"},
    )


def test_index_holds_coordinates_not_patches(tmp_path):
    ds = _normalised_dataset()
    index = hs.patch_index_dataset(ds, 9, "constant")
    old = hs.patches_dataset(ds, 9, "constant")
    assert "patches" not in index and set(index.dims) >= {"sample", "band", "class_id"}
    np.testing.assert_array_equal(index.row.values, old.row.values)
    np.testing.assert_array_equal(index.col.values, old.col.values)
    np.testing.assert_array_equal(index.label.values, old.label.values)
    assert hs.window_padding(index) == (9, "constant")
    assert index.attrs["source_label"] == "synthetic" and index.attrs["n_rows"] == 30
    write_netcdf(index, tmp_path / "index.nc")
    write_netcdf(old, tmp_path / "patches.nc")
    small, big = (tmp_path / "index.nc").stat().st_size, (tmp_path / "patches.nc").stat().st_size
    assert small < 64 * 1024 and small * 5 < big, (small, big)  # NetCDF headers dominate the index
    back = open_netcdf(tmp_path / "index.nc")
    source = hs.PatchSource(ds.radiance.values, *hs.window_padding(back))
    np.testing.assert_array_equal(source.gather(back.row.values, back.col.values), old.patches.values)


# --------------------------------------------------------------------------- training, prediction


def test_streamed_fit_ends_with_the_in_memory_weights(tmp_path):
    """Same seed, same batches: the streamed pipeline trains bit-identically to arrays."""
    from dlrepro import training

    ds = _normalised_dataset(shape=(24, 20, 40))
    index = hs.patch_index_dataset(ds, 9, "constant")
    rows, cols, labels = index.row.values[::3], index.col.values[::3], index.label.values[::3]
    source = hs.PatchSource(ds.radiance.values, 9, "constant")
    y = hs.one_hot(labels, 3)

    def build():
        return hs.build_model(40, 3, window=9, learning_rate=0.1, decay=0)

    kwargs = {"epochs": 2, "batch_size": 16, "seed": 4, "checkpoint_seconds": None}
    x_mem = source.gather(rows, cols)[..., None]
    m1, h1 = training.fit(build, x_mem, y, workdir=tmp_path / "a", **kwargs)
    m2, h2 = training.fit(build, source.pixels(rows, cols), y, workdir=tmp_path / "b", **kwargs)
    for a, b in zip(m1.get_weights(), m2.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert [r["loss"] for r in h1] == [r["loss"] for r in h2]

    scene_old = hs.predict_scene(m1, ds.radiance.values, 9, "constant")
    scene_new = hs.predict_scene_streamed(m1, source, chunk=1024)
    np.testing.assert_array_equal(scene_new, scene_old)
    test_pred = hs.predict_pixels(m1, source.pixels(rows, cols))
    old_pred = m1.predict(x_mem, batch_size=500, verbose=0).argmax(axis=1) + 1  # the old evaluation
    np.testing.assert_array_equal(test_pred, old_pred)


def test_prediction_batch_is_sized_by_the_activations():
    """The 3-D CNN's activations grow with the bands: 256 windows of 220 bands hold ~990 MB of
    layer outputs (the first convolution alone 520 MB), so prediction uses smaller batches."""
    big = hs.build_model(220, 16, compile_model=False)
    per_window = hs.activation_bytes(big)
    assert 7 * 7 * 216 * 48 * 4 < per_window < 4 * 2**20, per_window
    assert hs.prediction_batch(big) == 64  # 64 x 3.9 MB <= 256 MiB < 128 x 3.9 MB
    assert hs.prediction_batch(hs.build_model(200, 16, compile_model=False)) == 64
    assert hs.prediction_batch(hs.build_model(103, 9, compile_model=False)) == 128
    small = hs.build_model(40, 3, window=9, compile_model=False)
    assert hs.prediction_batch(small) == hs.streaming.MAX_PREDICTION_BATCH
    assert hs.prediction_batch(big, memory=per_window * 3) == 2  # a power of two, never above the budget
    assert hs.prediction_batch(big, memory=1) == 1


def test_predictions_do_not_depend_on_the_prediction_batch(tmp_path):
    """The class map at the activation-sized batch is the one the old fixed batches gave."""
    from dlrepro import training

    training.set_determinism(3)
    rng = np.random.default_rng(3)
    cube = rng.normal(size=(12, 10, 40)).astype(np.float32)
    source = hs.PatchSource(cube, 9, "constant")
    model = hs.build_model(40, 4, window=9, compile_model=False)
    rows, cols = np.divmod(np.arange(120), 10)
    labels = {
        b: hs.predict_pixels(model, source.pixels(rows, cols), chunk=48, batch_size=b) for b in (7, 16, 500)
    }
    labels["auto"] = hs.predict_pixels(model, source.pixels(rows, cols))
    for b, got in labels.items():
        np.testing.assert_array_equal(got, labels[500], err_msg=f"batch {b}")
    scene = hs.predict_scene_streamed(model, source, batch_size=8, chunk=24)
    np.testing.assert_array_equal(scene.ravel(), labels[500])

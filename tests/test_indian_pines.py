"""Indian Pines: patches, splits, model, readers, synthetic scene; real-data checks when
../shared/data is present (skipped otherwise)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from dlrepro import hyperspectral as hs
from dlrepro.acquire import acquire
from dlrepro.errors import ConfigError, DataError

log = logging.getLogger("test")


# --------------------------------------------------------------------------- helpers


def naive_patch(cube: np.ndarray, r: int, c: int, window: int) -> np.ndarray:
    """Reference: the window around (r, c) by explicit slicing, zeros outside the scene."""
    radius = window // 2
    out = np.zeros((window, window, cube.shape[2]), dtype=cube.dtype)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            y, x = r + dy, c + dx
            if 0 <= y < cube.shape[0] and 0 <= x < cube.shape[1]:
                out[dy + radius, dx + radius] = cube[y, x]
    return out


def scattered_ground_truth(counts, shape=(145, 145), seed=0) -> np.ndarray:
    """A ground truth with the given per-class counts at random pixels."""
    rng = np.random.default_rng(seed)
    gt = np.zeros(shape, dtype=np.uint8)
    pixels = rng.choice(gt.size, sum(counts), replace=False)
    gt.flat[pixels] = np.repeat(np.arange(1, len(counts) + 1), counts)
    return gt


@pytest.fixture
def cube():
    return np.random.default_rng(1).standard_normal((20, 23, 7)).astype(np.float32)


# --------------------------------------------------------------------------- patches


@pytest.mark.parametrize("window", [1, 3, 9])
def test_patch_centre_equals_cube_pixel_and_shape(cube, window):
    rows, cols = np.nonzero(np.ones(cube.shape[:2], dtype=bool))  # every pixel, borders included
    patches = hs.extract_patches(hs.pad_cube(cube, window // 2), rows, cols, window)
    assert patches.shape == (cube.shape[0] * cube.shape[1], window, window, cube.shape[2])
    assert patches.dtype == np.float32 and patches.flags.c_contiguous
    centre = patches[:, window // 2, window // 2, :]
    np.testing.assert_array_equal(centre, cube[rows, cols])


def test_patches_equal_explicit_windows_with_zero_border(cube):
    rows = np.array([0, 0, 19, 19, 10, 3])
    cols = np.array([0, 22, 0, 22, 11, 1])
    patches = hs.extract_patches(hs.pad_cube(cube, 4, "constant"), rows, cols, 9)
    for i, (r, c) in enumerate(zip(rows, cols, strict=True)):
        np.testing.assert_array_equal(patches[i], naive_patch(cube, r, c, 9))
    # top-left corner: the 4 rows and 4 columns outside the scene are zero (the mean after normalisation)
    assert not patches[0, :4].any() and not patches[0, :, :4].any()


@pytest.mark.parametrize("mode", ["reflect", "symmetric", "edge"])
def test_border_modes_follow_numpy_pad(cube, mode):
    padded = hs.pad_cube(cube, 2, mode)
    np.testing.assert_array_equal(padded, np.pad(cube, ((2, 2), (2, 2), (0, 0)), mode=mode))
    patch = hs.extract_patches(padded, [0], [0], 5)[0]
    np.testing.assert_array_equal(patch, padded[0:5, 0:5])


def test_fortran_ordered_cube_gives_c_ordered_patches(cube):
    fortran = np.asfortranarray(cube)
    patches = hs.extract_patches(hs.pad_cube(fortran, 1), [5], [6], 3)
    assert patches.flags.c_contiguous
    np.testing.assert_array_equal(patches[0, 1, 1], cube[5, 6])


def test_even_window_is_rejected(cube):
    with pytest.raises(ConfigError, match="window"):
        hs.extract_patches(hs.pad_cube(cube, 2), [0], [0], 4)


def test_patches_dataset_coordinates_and_labels():
    import xarray as xr

    gt = np.zeros((12, 14), dtype=np.uint8)
    gt[0, 0], gt[5, 7], gt[11, 13] = 1, 2, 1
    values = np.arange(12 * 14 * 3, dtype=np.float32).reshape(12, 14, 3)
    ds = xr.Dataset(
        {
            "radiance": (("y", "x", "band"), values),
            "ground_truth": (("y", "x"), gt),
            "class_name": (("class_id",), np.array(["a", "b"], dtype=object)),
        },
        coords={"band": [1, 2, 3], "class_id": [1, 2]},
        attrs={"source_label": "synthetic"},
    )
    patches = hs.patches_dataset(ds, 5, "constant")
    assert dict(patches.patches.sizes) == {"sample": 3, "wy": 5, "wx": 5, "band": 3}
    assert patches.row.values.tolist() == [0, 5, 11] and patches.col.values.tolist() == [0, 7, 13]
    assert patches.label.values.tolist() == [1, 2, 1]
    np.testing.assert_array_equal(patches.patches.values[:, 2, 2], values[[0, 5, 11], [0, 7, 13]])
    assert patches.attrs["padding"] == "constant" and patches.attrs["window"] == 5


# --------------------------------------------------------------------------- normalisation


def test_normalisation_global_and_per_band():
    rng = np.random.default_rng(0)
    cube = rng.integers(900, 9000, size=(15, 16, 5), dtype=np.uint16)
    out, mean, std = hs.normalise(cube, "global")
    assert out.dtype == np.float32 and out.flags.c_contiguous
    assert mean == pytest.approx(cube.astype(float).mean()) and std == pytest.approx(cube.astype(float).std())
    assert float(out.mean()) == pytest.approx(0.0, abs=1e-5) and float(out.std()) == pytest.approx(
        1.0, abs=1e-5
    )
    out, mean, std = hs.normalise(cube, "per_band")
    np.testing.assert_allclose(mean, cube.astype(float).mean(axis=(0, 1)))
    np.testing.assert_allclose(std, cube.astype(float).std(axis=(0, 1)))
    np.testing.assert_allclose(out.mean(axis=(0, 1)), 0.0, atol=1e-5)


def test_constant_band_named_with_file_band_and_config_key():
    cube = np.random.default_rng(1).integers(900, 9000, size=(6, 7, 5)).astype(np.uint16)
    cube[:, :, 3] = 1000
    with pytest.raises(DataError) as err:
        hs.normalise(cube, "per_band", where="cube.nc (cube file mine.npy)", bands=np.arange(11, 16))
    assert str(err.value) == (
        "cube.nc (cube file mine.npy): band index 3 (band number 14) of 5 constant (every pixel 1000); "
        "config key indian_pines.normalisation: per_band divides each band by its standard deviation, "
        "which is zero there; expected every band to vary - remove the band(s) from the cube file, or set "
        "config key indian_pines.normalisation: global"
    )
    cube[:, :, 0] = 7
    with pytest.raises(
        DataError, match=r"band indices 0, 3 \(band numbers 1, 4\) of 5 constant \(every pixel 7, 1000\)"
    ):
        hs.check_spread(*hs.normalisation_stats(cube, "per_band"), "per_band", "c.nc", np.arange(1, 6))
    with pytest.raises(DataError, match=r"scenes.salinas.drop_bands"):
        hs.check_spread(*hs.normalisation_stats(cube, "per_band"), "per_band", "c.nc", None, "salinas")
    with pytest.raises(
        DataError, match=r"^c.nc: every value of the cube is 5 .*indian_pines.normalisation: global"
    ):
        hs.check_spread(*hs.normalisation_stats(np.full((3, 3, 2), 5), "global"), "global", "c.nc")


def test_user_numpy_cube_keeps_its_npy_name(tmp_path):
    """source: user with Indian_pines_corrected.npy: stored as .npy (not as the .mat name), and
    the rule outputs (the spec's file names), the manifest and the NetCDF cube all agree."""
    from dlrepro.datasets import get_spec

    cube, gt = hs.synthetic_scene(20, 20, 3, seed=1)
    mine = tmp_path / "mine"
    mine.mkdir()
    np.save(mine / "Indian_pines_corrected.npy", cube[:, :, hs.retained_bands(200) - 1])
    hs.write_erdas_gis(gt, mine / "92AV3GT.GIS", 4)
    options = {"source": "user", "path": str(mine), "bands": 200, "ground_truth": "purdue"}
    spec = get_spec("indian_pines", options)
    assert [f.name for f in spec.required] == ["Indian_pines_corrected.npy", "92AV3GT.GIS"]
    assert "Indian_pines_corrected.mat" in spec.files[0].aliases
    manifest = acquire(spec, tmp_path / "res", source="user", user_path=mine)
    assert sorted(p.name for p in (tmp_path / "res").iterdir()) == [
        "92AV3GT.GIS",
        "Indian_pines_corrected.npy",
        "manifest.json",
    ]
    ds = hs.cube_dataset(tmp_path / "res", manifest, 200, "purdue")
    assert ds.attrs["cube_file"] == "Indian_pines_corrected.npy" and ds.radiance.shape == (20, 20, 200)
    # the canonical name is kept for the other sources
    assert get_spec("indian_pines", {"source": "auto"}).files[0].name == "Indian_pines_corrected.mat"


# --------------------------------------------------------------------------- splits


def test_train_counts_give_the_lecture_1036_9330_on_purdue():
    train = hs.train_counts(hs.PURDUE_COUNTS, 0.1)
    assert train.tolist() == [5, 143, 83, 23, 50, 75, 3, 49, 2, 97, 247, 61, 21, 129, 38, 10]
    assert int(train.sum()) == 1036
    assert sum(hs.PURDUE_COUNTS) - int(train.sum()) == 9330
    assert sum(hs.EHU_COUNTS) == 10249 and int(hs.train_counts(hs.EHU_COUNTS, 0.1).sum()) == 1027


def test_train_counts_round_half_up_and_keep_both_sides():
    assert hs.train_counts([95, 25, 15, 5, 2, 1, 0], 0.1).tolist() == [10, 3, 2, 1, 1, 0, 0]
    with pytest.raises(ConfigError):
        hs.train_counts([10], 1.0)


def test_random_split_per_class_counts():
    gt = scattered_ground_truth(hs.PURDUE_COUNTS)
    train, test = hs.random_split(gt, 0.1, seed=3)
    assert int(train.sum()) == 1036 and int(test.sum()) == 9330
    assert not (train & test).any()
    np.testing.assert_array_equal(train | test, gt > 0)
    per_class = np.bincount(gt[train], minlength=17)[1:]
    np.testing.assert_array_equal(per_class, hs.train_counts(hs.PURDUE_COUNTS, 0.1))
    again, _ = hs.random_split(gt, 0.1, seed=3)
    np.testing.assert_array_equal(train, again)  # deterministic per seed


@pytest.mark.parametrize(("window", "seed"), [(9, 0), (9, 1), (5, 2), (3, 0)])
def test_disjoint_split_has_no_training_pixel_in_any_test_patch(window, seed):
    _, gt = hs.synthetic_scene(60, 70, n_classes=6, seed=seed)
    train, test = hs.disjoint_split(gt, 0.1, seed=seed, guard=window // 2)
    assert test.any() and not (train & test).any()
    assert not ((train | test) & (gt == 0)).any()
    per_class = np.bincount(gt[train], minlength=gt.max() + 1)[1:]
    np.testing.assert_array_equal(per_class, hs.train_counts(np.bincount(gt.ravel())[1:], 0.1))
    # independent brute-force check: every test pixel's window holds no training pixel
    padded = np.pad(train, window // 2)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (window, window))
    assert not windows[test].any()
    assert hs.window_overlaps(train, test, window) == 0


def test_random_split_does_overlap_but_disjoint_does_not():
    _, gt = hs.synthetic_scene(60, 60, n_classes=6, seed=4)
    train, test = hs.random_split(gt, 0.1, seed=0)
    assert hs.window_overlaps(train, test, 9) > 0.5 * test.sum()
    train, test = hs.disjoint_split(gt, 0.1, seed=0, guard=4)
    assert hs.window_overlaps(train, test, 9) == 0


def test_disjoint_training_pixels_are_compact_blocks():
    from scipy import ndimage

    _, gt = hs.synthetic_scene(80, 80, n_classes=4, seed=5)
    train, _ = hs.disjoint_split(gt, 0.1, seed=0, guard=4)
    for c in range(1, 5):
        _, n_blocks = ndimage.label(train & (gt == c), structure=np.ones((3, 3)))
        _, n_regions = ndimage.label(gt == c, structure=np.ones((3, 3)))
        assert n_blocks <= n_regions


# --------------------------------------------------------------------------- model


def test_model_parameter_counts():
    assert hs.build_model(220, 16, compile_model=False).count_params() == 578_544  # the lecture's
    assert hs.build_model(200, 16, compile_model=False).count_params() == 504_816


def test_model_uses_keras2_decay_as_inverse_time_decay():
    model = hs.build_model(200, 16)
    schedule = model.optimizer._learning_rate  # the schedule itself (learning_rate is its current value)
    assert float(schedule(0)) == pytest.approx(1.0)
    assert float(schedule(1000)) == pytest.approx(1.0 / (1.0 + 5e-6 * 1000))
    assert model.loss == "mean_squared_error"
    assert model.output_shape == (None, 16)


def test_one_hot_of_one_based_labels():
    np.testing.assert_array_equal(hs.one_hot(np.array([1, 3]), 3), [[1, 0, 0], [0, 0, 1]])


# --------------------------------------------------------------------------- files and sources


def test_erdas_gis_written_is_read_back_by_spectral(tmp_path):
    gt = np.random.default_rng(0).integers(0, 17, size=(31, 29)).astype(np.uint8)
    hs.write_erdas_gis(gt, tmp_path / "x.GIS")
    np.testing.assert_array_equal(hs.read_ground_truth(tmp_path / "x.GIS"), gt)


def test_unreadable_files_give_one_line_errors(tmp_path):
    bad = tmp_path / "Indian_pines_corrected.mat"
    bad.write_bytes(b"not a cube")
    with pytest.raises(DataError, match="not a MAT v5"):
        hs.read_cube(bad)


def test_spec_files_follow_bands_and_ground_truth():
    names = lambda spec: [f.name for f in spec.files]  # noqa: E731
    spec = hs.indian_pines_spec({"bands": 200, "ground_truth": "purdue"})
    assert names(spec) == ["Indian_pines_corrected.mat", "92AV3GT.GIS", "92AV3C.spc"]
    assert spec.embedded is None  # tensorly has no Purdue ground truth
    assert "Indian_pines_corrected.npy" in spec.files[0].aliases
    spec = hs.indian_pines_spec({"bands": 220, "ground_truth": "ehu"})
    assert names(spec)[:2] == ["Indian_pines.mat", "Indian_pines_gt.mat"]
    assert {c.value for c in spec.files[0].checksums} == {
        "c03ff8a0dbc962fe76d08f565f02008eae3f7dd7",
        "fc0eac775148ce51610e22bc224ae4b81c926666",
    }
    spec = hs.indian_pines_spec({"bands": 220, "ground_truth": "purdue", "source": "embedded"})
    assert names(spec)[:2] == ["Indian_pines_corrected.mat", "Indian_pines_gt.mat"]
    assert spec.embedded is not None
    with pytest.raises(ConfigError, match="bands"):
        hs.indian_pines_spec({"bands": 201})


def test_retained_bands_drop_the_ehu_water_bands():
    kept = hs.retained_bands(200)
    assert len(kept) == 200 and kept[0] == 1 and kept[-1] == 219
    assert not set(kept) & set(hs.EHU_DROPPED_BANDS)
    assert kept[102:104].tolist() == [103, 109] and kept[143:145].tolist() == [149, 164]
    cube220, _ = hs.synthetic_scene(12, 12, 3, seed=0)
    assert hs.infer_dropped_bands(cube220, cube220[:, :, kept - 1]) == list(hs.EHU_DROPPED_BANDS)


@pytest.mark.parametrize(("bands", "ground_truth"), [(200, "purdue"), (220, "ehu")])
def test_synthetic_source_in_raw_formats_to_netcdf(tmp_path, bands, ground_truth):
    spec = hs.indian_pines_spec({"bands": bands, "ground_truth": ground_truth, "source": "synthetic"})
    manifest = acquire(spec, tmp_path, source="synthetic", synthetic_options={"seed": 0}, logger=log)
    assert manifest["label"] == "synthetic"
    assert (tmp_path / spec.files[1].name).read_bytes()[:6] == (
        b"HEAD74" if ground_truth == "purdue" else b"MATLAB"
    )
    ds = hs.cube_dataset(tmp_path, manifest, bands, ground_truth, log)
    assert dict(ds.radiance.sizes) == {"y": 40, "x": 40, "band": bands}
    assert ds.attrs["source_label"] == "synthetic" and ds.attrs["ground_truth"] == ground_truth
    assert ds.wavelength.size == bands and ds.attrs["n_labelled"] == int((ds.ground_truth > 0).sum())


def test_embedded_source_is_the_tensorly_stand_in(tmp_path):
    spec = hs.indian_pines_spec({"source": "embedded"})
    manifest = acquire(spec, tmp_path, source="embedded", logger=log)
    assert manifest["label"] == "stand-in"
    ds = hs.cube_dataset(tmp_path, manifest, 200, "purdue", log)  # falls back to the EHU ground truth
    assert ds.attrs["ground_truth"] == "ehu" and ds.attrs["n_labelled"] == 10249
    assert ds.attrs["source_label"] == "stand-in" and "wavelength" not in ds.coords
    counts = np.bincount(ds.ground_truth.values.ravel())[1:]
    assert tuple(counts) == hs.EHU_COUNTS


def test_synthetic_classes_are_learnable():
    from sklearn.neighbors import NearestCentroid

    cube, gt = hs.synthetic_scene(40, 40, n_classes=8, seed=0)
    train, test = hs.random_split(gt, 0.1, seed=0)
    x = cube.reshape(-1, cube.shape[2]).astype(float)
    clf = NearestCentroid().fit(x[train.ravel()], gt.ravel()[train.ravel()])
    accuracy = (clf.predict(x[test.ravel()]) == gt.ravel()[test.ravel()]).mean()
    assert accuracy > 0.9


def test_table_has_lecture_oa_and_labels():
    def run(split, seed, oa):
        return {
            "split": split,
            "seed": seed,
            "accuracy": oa,
            "average_accuracy": oa - 0.05,
            "kappa": oa - 0.1,
            "epochs": 3,
            "epochs_requested": 600,
            "source_label": "synthetic",
            "bands": 200,
            "ground_truth": "purdue",
            "n_train": 1036,
            "n_test": 9330,
            "parameters": 504_816,
        }

    df, notes = hs.indian_pines_table([run("disjoint", 1, 0.5), run("random", 1, 0.7), run("random", 2, 0.8)])
    assert df["split"].tolist() == ["random", "disjoint"]
    random_row = df.iloc[0]
    assert random_row["lecture_oa"] == 0.7379 and random_row["oa_mean"] == pytest.approx(0.75)
    assert random_row["n_seeds"] == 2 and random_row["data_source"] == "synthetic"
    assert "0.7500 ± 0.0707 (n=2)" == random_row["our_oa"]
    assert any("NOT a reproduction" in n for n in notes) and any("max_epochs" in n for n in notes)


def test_maps_png(tmp_path):
    _, gt = hs.synthetic_scene(20, 20, n_classes=4, seed=0)
    train, test = hs.random_split(gt, 0.1, seed=0)
    hs.plot_maps(tmp_path / "m.png", gt, train, test, gt, [f"c{i}" for i in range(1, 5)], "title")
    assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- real data


@pytest.fixture
def indian_pines(shared_data):
    path = shared_data / "indian_pines"
    needed = ("Indian_pines_corrected.npy", "Indian_pines_gt.mat", "92AV3GT.GIS", "92AV3C.spc")
    missing = [n for n in needed if not (path / n).exists()]
    if missing:
        pytest.skip(f"Indian Pines files not in {path}: {missing}")
    return path


@pytest.mark.realdata
def test_real_purdue_ground_truth_counts_and_split(indian_pines):
    gt = hs.read_ground_truth(indian_pines / "92AV3GT.GIS")  # via spectral's ERDAS reader
    assert gt.shape == (145, 145) and int((gt > 0).sum()) == 10366
    assert tuple(np.bincount(gt.ravel(), minlength=17)[1:]) == hs.PURDUE_COUNTS
    train, test = hs.random_split(gt, 0.1, seed=0)
    assert int(train.sum()) == 1036 and int(test.sum()) == 9330
    ehu = hs.read_ground_truth(indian_pines / "Indian_pines_gt.mat")
    assert tuple(np.bincount(ehu.ravel(), minlength=17)[1:]) == hs.EHU_COUNTS
    both = (gt > 0) & (ehu > 0)
    assert (gt[both] == ehu[both]).all()
    assert int(((gt > 0) & (ehu == 0)).sum()) == 256 and int(((ehu > 0) & (gt == 0)).sum()) == 139


@pytest.mark.realdata
def test_real_cube_statistics_and_band_subset(indian_pines):
    cube = hs.read_cube(indian_pines / "Indian_pines_corrected.npy")
    assert cube.shape == (145, 145, 200) and cube.dtype == np.uint16
    assert int(cube.min()) == 955 and int(cube.max()) == 9604
    mean, std = hs.normalisation_stats(cube, "global")
    assert float(mean) == pytest.approx(2652.3891, abs=1e-3)
    assert float(std) == pytest.approx(1592.3401, abs=1e-3)
    # SPy's unit test reads 2057 at pixel (99, 99), band 99 (0-based) of 92AV3C.lan: bands 1-103
    # of the corrected cube are the 220-band cube's, unchanged
    assert int(cube[99, 99, 99]) == 2057
    wavelength, _ = hs.read_spc(indian_pines / "92AV3C.spc")
    assert wavelength.size == 220 and wavelength[0] == pytest.approx(400.02, abs=0.01)


@pytest.mark.realdata
def test_real_220_band_cube_drops_the_ehu_bands(indian_pines):
    candidates = [indian_pines / n for n in ("Indian_pines.mat", "92AV3C.lan") if (indian_pines / n).exists()]
    if not candidates:
        pytest.skip("no 220-band cube (Indian_pines.mat / 92AV3C.lan) in the shared data")
    cube220 = hs.read_cube(candidates[0])
    cube200 = hs.read_cube(indian_pines / "Indian_pines_corrected.npy")
    assert hs.infer_dropped_bands(cube220, cube200) == list(hs.EHU_DROPPED_BANDS)


@pytest.mark.realdata
@pytest.mark.slow
def test_real_short_training_beats_chance(indian_pines, tmp_path):
    """The lecture's model for a few epochs on the real random split (about 1-2 min on 2 free cores)."""
    from dlrepro import training
    from dlrepro.evaluation import classification_metrics

    cube = hs.read_cube(indian_pines / "Indian_pines_corrected.npy")
    gt = hs.read_ground_truth(indian_pines / "92AV3GT.GIS")
    normalised, _, _ = hs.normalise(cube)
    train, test = hs.random_split(gt, 0.1, seed=0)
    padded = hs.pad_cube(normalised, 4)
    tr_rows, tr_cols = np.nonzero(train)
    x = hs.extract_patches(padded, tr_rows, tr_cols, 9)[..., None]
    y = hs.one_hot(gt[tr_rows, tr_cols], 16)
    model, history = training.fit(
        lambda: hs.build_model(200, 16),
        x,
        y,
        epochs=12,
        batch_size=50,
        seed=1,
        workdir=tmp_path / "ckpt",
    )
    # a fixed sample of 2,000 test pixels
    te_rows, te_cols = np.nonzero(test)
    pick = np.random.default_rng(0).choice(len(te_rows), 2000, replace=False)
    xt = hs.extract_patches(padded, te_rows[pick], te_cols[pick], 9)[..., None]
    predicted = model.predict(xt, batch_size=500, verbose=0).argmax(axis=1) + 1
    metrics = classification_metrics(gt[te_rows[pick], te_cols[pick]], predicted, labels=range(1, 17))
    majority = max(hs.PURDUE_COUNTS) / sum(hs.PURDUE_COUNTS)  # 0.238: always "Soybean-mintill"
    print(f"12 epochs: OA {metrics['accuracy']:.4f}, kappa {metrics['kappa']:.4f} on 2,000 test pixels")
    assert history[-1]["epoch"] == 12
    assert metrics["accuracy"] > majority + 0.1, metrics["accuracy"]
    assert metrics["kappa"] > 0.15

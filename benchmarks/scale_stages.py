"""The stages of benchmarks/scale.py, each run in a child process of its own.

``write_scene`` makes the synthetic raw cube; ``stage_*`` run one pipeline step on it through
the pipeline's own functions (``dlrepro.hyperspectral``, ``dlrepro.training``) and return
their figures as a JSON-able dict; :data:`CHILD` maps ``--stage`` names to them.  The
driver, the timing of each child and the report are in ``scale.py``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))


# --------------------------------------------------------------------------- the synthetic scene


def synthetic_ground_truth(rows, cols, classes, labelled, seed=0, tile=16) -> np.ndarray:
    """Rectangular fields (``tile`` x ``tile``) of random classes, exactly ``labelled`` labelled pixels."""
    rng = np.random.default_rng(seed)
    gt = np.zeros((rows, cols), dtype=np.uint8)
    ty, tx = -(-rows // tile), -(-cols // tile)
    tiles = rng.permutation(ty * tx)
    remaining = labelled
    for n, t in enumerate(tiles):
        if remaining <= 0:
            break
        y, x = divmod(int(t), tx)
        block = gt[y * tile : (y + 1) * tile, x * tile : (x + 1) * tile]
        cls = n % classes + 1 if n < classes else int(rng.integers(1, classes + 1))
        take = min(remaining, block.size)
        mask = np.zeros(block.size, dtype=bool)
        mask[:take] = True
        block[mask.reshape(block.shape)] = cls
        remaining -= take
    if remaining > 0:
        raise SystemExit(f"--labelled {labelled}: more than the {rows * cols} pixels of the scene")
    return gt


def write_scene(workdir: Path, rows, cols, bands, classes, labelled, seed=0, block_rows=64) -> None:
    """``cube.npy`` (int16, rows x cols x bands, written block by block) and ``gt.npy``."""
    gt = synthetic_ground_truth(rows, cols, classes, labelled, seed)
    np.save(workdir / "gt.npy", gt)
    rng = np.random.default_rng(seed + 1)
    spectra = rng.integers(1000, 8000, (classes + 1, bands)).astype(np.float32)
    cube = np.lib.format.open_memmap(
        workdir / "cube.npy", mode="w+", dtype=np.int16, shape=(rows, cols, bands)
    )
    for start in range(0, rows, block_rows):
        g = gt[start : start + block_rows]
        noise = rng.standard_normal((*g.shape, bands), dtype=np.float32) * 300
        cube[start : start + block_rows] = np.clip(spectra[g] + noise, 0, 32767).astype(np.int16)
    cube.flush()
    del cube


# --------------------------------------------------------------------------- stages (child processes)


def stage_convert(workdir: Path, args) -> dict:
    import xarray as xr

    from dlrepro import hyperspectral as hs
    from dlrepro.io import write_netcdf
    from dlrepro.validation import check_finite

    cube = hs.read_cube(workdir / "cube.npy")
    check_finite(cube, workdir / "cube.npy", "radiance values")
    gt = hs.read_ground_truth(workdir / "gt.npy")
    n_classes = int(gt.max())
    ds = xr.Dataset(
        {
            "radiance": (("y", "x", "band"), cube),
            "ground_truth": (("y", "x"), gt),
            "class_name": (
                ("class_id",),
                np.array([f"Synthetic class {c}" for c in range(1, n_classes + 1)], dtype=object),
            ),
        },
        coords={
            "band": np.arange(1, cube.shape[2] + 1, dtype=np.int16),
            "class_id": np.arange(1, n_classes + 1, dtype=np.uint8),
        },
        attrs={"source_label": "synthetic", "raw_sha256": "benchmark", "bands": int(cube.shape[2])},
    )
    write_netcdf(ds, workdir / "cube.nc")
    return {"items": int(gt.size)}


def stage_normalise(workdir: Path, args) -> dict:
    from dlrepro import hyperspectral as hs
    from dlrepro.io import open_netcdf, write_netcdf

    cube = open_netcdf(workdir / "cube.nc")
    values, mean, std = hs.normalise_blockwise(cube.radiance.values, "global")
    ds = cube.drop_vars("radiance")
    del cube
    ds["radiance"] = (("y", "x", "band"), values)
    ds.attrs.update(normalisation="global", normalisation_mean=float(mean), normalisation_std=float(std))
    write_netcdf(ds, workdir / "normalised.nc")
    return {"items": int(values.shape[0] * values.shape[1])}


def stage_index(workdir: Path, args) -> dict:
    import xarray as xr

    from dlrepro import hyperspectral as hs
    from dlrepro.io import open_netcdf, write_netcdf

    normalised = open_netcdf(workdir / "normalised.nc", drop=["radiance"])
    index = hs.patch_index_dataset(normalised, 9, "constant")
    write_netcdf(index, workdir / "patch_index.nc")
    train, test = hs.random_split(normalised.ground_truth.values, args.train_fraction, seed=0)
    write_netcdf(
        xr.Dataset({"train_mask": (("y", "x"), train), "test_mask": (("y", "x"), test)}), workdir / "split.nc"
    )
    return {
        "items": int(index.sizes["sample"]),
        "n_train": int(train.sum()),
        "index_bytes": (workdir / "patch_index.nc").stat().st_size,
    }


def stage_train(workdir: Path, args) -> dict:
    from dlrepro import hyperspectral as hs
    from dlrepro import training
    from dlrepro.io import open_netcdf

    training.configure_threads(args.threads)
    index, split = open_netcdf(workdir / "patch_index.nc"), open_netcdf(workdir / "split.nc")
    rows, cols = index.row.values, index.col.values
    train = np.flatnonzero(split.train_mask.values[rows, cols])
    n_all = len(train)
    if args.train_pixels and args.train_pixels < n_all:  # the first N, the whole epoch extrapolated
        train = train[: args.train_pixels]
    source = hs.PatchSource.from_netcdf(workdir / "normalised.nc", *hs.window_padding(index))
    x = source.pixels(rows[train], cols[train])
    n_classes = index.sizes["class_id"]
    y = hs.one_hot(index.label.values[train], n_classes)
    tic = time.perf_counter()
    model, history = training.fit(
        lambda: hs.build_model(source.n_bands, n_classes),
        x,
        y,
        epochs=1,
        batch_size=50,
        seed=1,
        workdir=workdir / "checkpoints",
        checkpoint_seconds=None,
    )
    seconds = time.perf_counter() - tic
    training.save_model(model, workdir / "model.keras")
    return {"items": len(x), "seconds": seconds, "loss": history[-1]["loss"], "scene_pixels": n_all}


def stage_predict(workdir: Path, args) -> dict:
    import keras

    from dlrepro import hyperspectral as hs
    from dlrepro import training
    from dlrepro.io import open_netcdf

    training.configure_threads(args.threads)
    model = keras.models.load_model(workdir / "model.keras")
    index = open_netcdf(workdir / "patch_index.nc")
    source = hs.PatchSource.from_netcdf(workdir / "normalised.nc", *hs.window_padding(index))
    h, w = source.shape[:2]
    b = args.predict_batch or hs.prediction_batch(model)
    tic = time.perf_counter()
    if args.predict_pixels and args.predict_pixels < h * w:  # the first N pixels (row-major), extrapolated
        rows, cols = np.divmod(np.arange(args.predict_pixels, dtype=np.int64), w)
        chunk = max(b, (64 * 2**20 // (81 * source.n_bands * 4)) // b * b)
        scene = hs.predict_pixels(model, source.pixels(rows, cols), chunk=chunk, batch_size=b)
    else:
        scene = hs.predict_scene_streamed(model, source, batch_size=b)
    seconds = time.perf_counter() - tic
    return {"items": int(scene.size), "seconds": seconds, "scene_pixels": h * w, "batch": b}


def small_scene():
    """The real 145 x 145 x 200 cube and Purdue ground truth when present, else a synthetic one."""
    from dlrepro import hyperspectral as hs

    default = ROOT.parent / "shared" / "data"
    data = Path(os.environ.get("DLREPRO_SHARED_DATA", default)) / "indian_pines"
    cube_path, gt_path = data / "Indian_pines_corrected.npy", data / "92AV3GT.GIS"
    if cube_path.exists() and gt_path.exists():
        return hs.read_cube(cube_path), hs.read_ground_truth(gt_path), "real Indian Pines 145 x 145 x 200"
    gt = synthetic_ground_truth(145, 145, 16, 10_366)
    rng = np.random.default_rng(0)
    cube = (rng.integers(1000, 8000, (17, 200))[gt] + rng.normal(0, 300, (145, 145, 200))).astype(np.uint16)
    return cube, gt, "synthetic 145 x 145 x 200"


def stage_small(workdir: Path, args) -> dict:
    """One side of the side-by-side throughput comparison (``--path memory|stream``)."""
    from dlrepro import hyperspectral as hs
    from dlrepro import training

    training.configure_threads(args.threads)
    cube, gt, what = small_scene()
    normalised, _, _ = hs.normalise(cube)
    train, _ = hs.random_split(gt, 0.1, seed=0)
    rows, cols = np.nonzero(train)
    pick = np.random.default_rng(0).permutation(len(rows))[: args.small_train]
    rows, cols = rows[pick], cols[pick]
    source = hs.PatchSource(normalised, 9, "constant")
    x = source.gather(rows, cols)[..., None] if args.path == "memory" else source.pixels(rows, cols)
    y = hs.one_hot(gt[rows, cols], int(gt.max()))
    _, history = training.fit(
        lambda: hs.build_model(cube.shape[2], int(gt.max())),
        x,
        y,
        epochs=args.small_epochs,
        batch_size=50,
        seed=1,
        workdir=workdir / f"ckpt-{args.path}",
        checkpoint_seconds=None,
    )
    later = [row["seconds"] for row in history[1:]] or [history[0]["seconds"]]
    return {"items": len(rows), "seconds": float(np.median(later)), "data": what, "loss": history[-1]["loss"]}


def stage_generate(workdir: Path, args) -> dict:
    write_scene(workdir, args.rows, args.cols, args.bands, args.classes, args.labelled)
    return {"items": args.rows * args.cols}


CHILD = {
    "generate": stage_generate,
    "convert": stage_convert,
    "normalise": stage_normalise,
    "index": stage_index,
    "train": stage_train,
    "predict": stage_predict,
    "small": stage_small,
}

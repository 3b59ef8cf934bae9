"""Reading and generating configured scenes (:mod:`.scenes`): MAT, NumPy, ENVI, ERDAS, TIFF."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..cf import flags
from ..errors import DataError, DataUnavailableError
from ..io import atomic_path
from ..validation import check_classes, check_finite, check_raw_files, check_same_shape
from .formats import magic, read_erdas, read_mat_array
from .scenes import n_classes_of

log = logging.getLogger("dlrepro")


def read_scene_array(directory: Path, entry: dict, ndim: int) -> np.ndarray:
    """The array of one configured file (``format``: mat with ``key``, npy, envi, erdas, tiff)."""
    path = Path(directory) / entry["file"]
    fmt = entry["format"]
    if fmt == "npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise DataError(f"{path}: not a NumPy .npy file ({exc}); format: npy") from exc
    elif fmt == "mat":
        if not magic(path, 16).startswith(b"MATLAB 5.0"):
            raise DataError(f"{path}: not a MAT v5 file; format: mat (MATLAB v7.3 / HDF5 is not read)")
        array = read_mat_array(path, entry.get("key"), ndim=ndim)
    elif fmt == "erdas":
        array = read_erdas(path)
        array = array[:, :, 0] if ndim == 2 and array.ndim == 3 and array.shape[2] == 1 else array
    elif fmt == "envi":
        from spectral.io import envi

        try:
            image = envi.open(str(path), str(Path(directory) / entry["data"]))
            array = np.array(image.open_memmap(interleave="bip"))
        except Exception as exc:  # spectral raises its own error types for bad headers
            raise DataError(f"{path}: unreadable ENVI header/data pair ({exc}); format: envi") from exc
        array = array[:, :, 0] if ndim == 2 and array.ndim == 3 and array.shape[2] == 1 else array
    else:  # tiff
        try:
            import tifffile
        except ImportError:
            raise DataError(
                f"{path}: format tiff needs the tifffile package (not installed); convert it to .npy and "
                "declare format: npy"
            ) from None
        array = tifffile.imread(path)
    if array.ndim != ndim:
        raise DataError(f"{path}: array of shape {array.shape}, expected {ndim} dimensions")
    return np.ascontiguousarray(array)


def scene_cube_dataset(directory, manifest: dict, name: str, scene: dict, logger: logging.Logger = log):
    """A configured scene's raw files -> the NetCDF cube Dataset of the pipeline (``y, x, band``)."""
    import xarray as xr

    directory = Path(directory)
    files = manifest.get("files", {})
    cube_entry, gt_entry = scene["cube"], scene["ground_truth"]
    needed = [cube_entry["file"], *([cube_entry["data"]] if cube_entry.get("data") else [])]
    needed += [gt_entry["file"], *([gt_entry["data"]] if gt_entry.get("data") else [])]
    absent = [f for f in needed if f not in files or not (directory / f).exists()]
    if absent:
        raise DataUnavailableError(
            f"{directory}: {', '.join(absent)} of scene {name} not in its manifest.json"
        )
    read = check_raw_files(directory, manifest, needed)
    cube_path, gt_path = directory / cube_entry["file"], directory / gt_entry["file"]
    cube = read_scene_array(directory, cube_entry, 3)
    check_finite(cube, cube_path, "radiance values")
    gt = read_scene_array(directory, gt_entry, 2)
    if gt.min() < 0 or gt.max() > 255:
        raise DataError(f"{gt_path}: class ids {gt.min()}..{gt.max()}, expected 0..255")
    gt = gt.astype(np.uint8)
    check_same_shape(cube.shape, cube_path, gt.shape, gt_path, "size", axes=(0, 1))
    for key, axis in (("rows", 0), ("cols", 1)):
        if scene.get(key) and cube.shape[axis] != scene[key]:
            raise DataError(
                f"{cube_path}: {cube.shape[axis]} {key}, scene {name} declares {key}: {scene[key]}"
            )
    band_numbers = np.arange(1, cube.shape[2] + 1)
    drop = sorted(set(scene.get("drop_bands") or []))
    if drop and max(drop) > cube.shape[2]:
        raise DataError(
            f"scene {name}: drop_bands {max(drop)} beyond the {cube.shape[2]} bands of {cube_path}"
        )
    if drop:
        keep = np.setdiff1d(band_numbers, drop)
        cube, band_numbers = np.ascontiguousarray(cube[:, :, keep - 1]), keep
    if scene.get("bands") and cube.shape[2] != scene["bands"]:
        raise DataError(
            f"{cube_path}: {cube.shape[2]} bands after dropping {len(drop)}, scene {name} declares bands: {scene['bands']}"
        )
    n_classes = n_classes_of(scene) or int(gt.max())
    if int(gt.max()) > n_classes:
        raise DataError(f"{gt_path}: class id {int(gt.max())}, scene {name} declares {n_classes} classes")
    names = scene.get("class_names") or [f"Class {c}" for c in range(1, n_classes + 1)]
    if manifest.get("label") == "synthetic":
        names = [f"Synthetic {n}" for n in names]
    check_classes(gt, gt_path, names=dict(enumerate(names, start=1)), ignore=[0], logger=logger)
    ds = xr.Dataset(
        {
            "radiance": (("y", "x", "band"), cube),
            "ground_truth": (("y", "x"), gt),
            "class_name": (("class_id",), np.array(names, dtype=object)),
        },
        coords={
            "y": np.arange(cube.shape[0], dtype=np.int32),
            "x": np.arange(cube.shape[1], dtype=np.int32),
            "band": band_numbers.astype(np.int16),
            "class_id": np.arange(1, n_classes + 1, dtype=np.uint8),
        },
    )
    # the unit of the stored values is not known: none is claimed
    ds["radiance"].attrs.update(
        long_name="radiance / reflectance as stored in the cube file (unit not stated)"
    )
    ds["band"].attrs.update(long_name="band number in the cube file (1-based, before drop_bands)", units="1")
    ds["ground_truth"].attrs.update(
        long_name="class id (0 = unlabelled)", **flags(range(n_classes + 1), ["unlabelled", *names], gt.dtype)
    )
    ds.attrs.update(
        dataset="indian_pines",
        scene=name,
        title=scene.get("title", name),
        source_label=str(manifest.get("label", "unknown")),
        source=str(manifest.get("source", "unknown")),
        bands=int(cube.shape[2]),
        dropped_bands=" ".join(map(str, drop)),
        ground_truth=f"{name} ({gt_entry['file']})",
        ground_truth_file=gt_entry["file"],
        cube_file=cube_entry["file"],
        cube_variant="",
        n_labelled=int((gt > 0).sum()),
        citation=scene.get("citation", ""),
        raw_sha256=" ".join(f"{f}:{digest}" for f, digest in sorted(read.items())),
    )
    for f, digest in sorted(read.items()):
        ds.attrs[f"sha256_{f}"] = digest
    return ds


# --------------------------------------------------------------------------- synthetic


def synthetic_ground_truth(rows, cols, classes, labelled, seed=0, tile=16) -> np.ndarray:
    """Square fields (``tile`` pixels) of random classes, exactly ``labelled`` labelled pixels
    (every class present when there are enough fields)."""
    rng = np.random.default_rng(seed)
    gt = np.zeros((rows, cols), dtype=np.uint8)
    tx = -(-cols // tile)
    remaining = int(labelled)
    if remaining > rows * cols:
        raise DataError(f"synthetic scene: {labelled} labelled pixels, more than its {rows * cols} pixels")
    for n, t in enumerate(rng.permutation(-(-rows // tile) * tx)):
        if remaining <= 0:
            break
        y, x = divmod(int(t), tx)
        block = gt[y * tile : (y + 1) * tile, x * tile : (x + 1) * tile]
        take = min(remaining, block.size)
        mask = np.zeros(block.size, dtype=bool)
        mask[:take] = True
        block[mask.reshape(block.shape)] = (
            n % classes + 1 if n < classes else int(rng.integers(1, classes + 1))
        )
        remaining -= take
    return gt


def synthetic_cube(gt: np.ndarray, bands: int, seed: int = 0, block_rows: int = 64, out=None) -> np.ndarray:
    """An int16 cube: one smooth random spectrum per class (0 = background) plus noise."""
    rng = np.random.default_rng(seed + 1)
    grid = np.linspace(0.0, 1.0, bands)
    n = int(gt.max()) + 1
    spectra = np.full((n, bands), 2500.0)
    for c in range(n):
        for _ in range(4):
            centre, width, amp = rng.uniform(0, 1), rng.uniform(0.04, 0.2), rng.uniform(-1500, 3000)
            spectra[c] += amp * np.exp(-0.5 * ((grid - centre) / width) ** 2)
    spectra = np.clip(spectra, 500, 9000).astype(np.float32)
    out = np.empty((*gt.shape, bands), dtype=np.int16) if out is None else out
    for start in range(0, gt.shape[0], block_rows):
        g = gt[start : start + block_rows]
        noise = rng.standard_normal((*g.shape, bands), dtype=np.float32) * 250
        out[start : start + block_rows] = np.clip(spectra[g] + noise, 0, 32767).astype(np.int16)
    return out


def write_array(directory: Path, entry: dict, array: np.ndarray) -> None:
    """Write ``array`` as the configured file (the formats the readers accept)."""
    path = Path(directory) / entry["file"]
    fmt = entry["format"]
    with atomic_path(path) as tmp:
        if fmt == "npy":
            with open(tmp, "wb") as fh:
                np.save(fh, array)
        elif fmt == "mat":
            import scipy.io

            scipy.io.savemat(tmp, {entry.get("key") or path.stem: array}, do_compression=False)
        elif fmt == "envi":
            cube = array[..., None] if array.ndim == 2 else array
            types = {"uint8": 1, "int16": 2, "int32": 3, "float32": 4, "float64": 5, "uint16": 12}
            with atomic_path(Path(directory) / entry["data"]) as raw:
                np.ascontiguousarray(cube).astype(cube.dtype.newbyteorder("<")).tofile(raw)
            tmp.write_text(
                f"ENVI\nsamples = {cube.shape[1]}\nlines = {cube.shape[0]}\nbands = {cube.shape[2]}\n"
                f"header offset = 0\nfile type = ENVI Standard\ndata type = {types[cube.dtype.name]}\n"
                "interleave = bip\nbyte order = 0\n",
                encoding="ascii",
            )
        else:
            raise DataError(f"{path}: cannot write format {fmt} (synthetic scenes: mat, npy, envi)")


def write_scene_synthetic(dest: Path, name: str, scene: dict, options: dict, logger: logging.Logger) -> dict:
    """A synthetic cube and ground truth of the scene's declared size, in its declared formats."""
    missing = [k for k in ("rows", "cols", "bands") if not scene.get(k)]
    if missing or not n_classes_of(scene):
        raise DataError(
            f"scene {name}: the synthetic source needs rows, cols, bands and class_names (or classes); "
            f"missing {', '.join(missing) or 'class_names'}"
        )
    rows, cols, bands, classes = scene["rows"], scene["cols"], scene["bands"], n_classes_of(scene)
    labelled = int(scene.get("labelled") or rows * cols // 5)
    seed = int(options.get("seed", 0))
    gt = synthetic_ground_truth(rows, cols, classes, labelled, seed)
    n_total = bands + len(set(scene.get("drop_bands") or []))
    cube = synthetic_cube(gt, n_total, seed)
    write_array(dest, scene["cube"], cube)
    write_array(dest, scene["ground_truth"], gt)
    logger.info(
        "scene %s: synthetic %dx%d cube, %d bands, %d classes, %d labelled pixels (seed %d)",
        name,
        rows,
        cols,
        n_total,
        classes,
        labelled,
        seed,
    )
    return {
        "synthetic": {
            "scene": name,
            "rows": rows,
            "cols": cols,
            "bands": n_total,
            "classes": classes,
            "seed": seed,
        }
    }

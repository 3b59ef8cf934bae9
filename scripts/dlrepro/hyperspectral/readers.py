"""Readers of the Indian Pines raw files (cube, ground truth, ``.spc``) and the NetCDF cube.

The formats themselves (magic bytes, MAT v5, ERDAS LAN/GIS) are read by :mod:`.formats`."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..cf import flags
from ..dataspec import RemoteFile
from ..errors import DataError, DataUnavailableError
from ..validation import check_classes, check_finite, check_raw_files, check_same_shape
from .formats import magic, read_erdas, read_mat_array
from .sources import (
    ALL_BANDS,
    CITATION,
    CLASS_NAMES,
    CUBE_FILES,
    EHU_DROPPED_BANDS,
    EMBEDDED,
    GROUND_TRUTHS,
    GT_FILES,
    GT_MAT_KEY,
    MAT_KEYS,
    SPC_FILE,
    log,
)


def read_cube(path: str | Path) -> np.ndarray:
    """The image cube ``(y, x, band)`` from a MAT v5, ``.npy`` or ERDAS LAN file."""
    path = Path(path)
    head = magic(path)
    if head.startswith(b"\x93NUMPY"):
        cube = np.load(path, allow_pickle=False)
    elif head.startswith(b"MATLAB 5.0"):
        cube = read_mat_array(path, MAT_KEYS.get(path.name), ndim=3)
    elif head[:6] in (b"HEAD74", b"HEADER"):
        cube = read_erdas(path)
    elif head.startswith(b"\x89HDF"):
        raise DataError(f"{path}: MATLAB v7.3 (HDF5) file; expected the EHU MAT v5 file")
    else:
        raise DataError(f"{path}: not a MAT v5, .npy or ERDAS LAN file (starts with {head[:10]!r})")
    if cube.ndim != 3:
        raise DataError(f"{path}: array of shape {cube.shape}, expected (rows, cols, bands)")
    return np.ascontiguousarray(cube)  # MATLAB-derived files are column-major


def read_ground_truth(path: str | Path) -> np.ndarray:
    """The class map ``(y, x)`` as uint8 (0 = unlabelled) from an ERDAS GIS or MAT file."""
    path = Path(path)
    head = magic(path)
    if head[:6] in (b"HEAD74", b"HEADER"):
        gt = read_erdas(path)
        if gt.shape[2] != 1:
            raise DataError(f"{path}: ERDAS GIS with {gt.shape[2]} bands, expected 1")
        gt = gt[:, :, 0]
    elif head.startswith(b"MATLAB 5.0"):
        gt = read_mat_array(path, GT_MAT_KEY, ndim=2)
    elif head.startswith(b"\x93NUMPY"):
        gt = np.load(path, allow_pickle=False)
    else:
        raise DataError(f"{path}: not an ERDAS GIS, MAT v5 or .npy ground truth (starts with {head[:10]!r})")
    if gt.ndim != 2:
        raise DataError(f"{path}: ground truth of shape {gt.shape}, expected (rows, cols)")
    if gt.min() < 0 or gt.max() > 255:
        raise DataError(f"{path}: class ids {gt.min()}..{gt.max()}, expected 0..255")
    return gt.astype(np.uint8)


def read_spc(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Centre wavelengths and FWHM (nm) of the 220 bands from ``92AV3C.spc``."""
    try:
        rows = np.loadtxt(path, skiprows=2, ndmin=2)
    except ValueError as exc:
        raise DataError(f"{path}: unreadable band calibration ({exc})") from exc
    if rows.shape[0] != ALL_BANDS or rows.shape[1] < 2:
        raise DataError(
            f"{path}: {rows.shape[0]} rows x {rows.shape[1]} columns, expected 220 rows of wavelength, FWHM, ..."
        )
    return rows[:, 0], rows[:, 1]


def retained_bands(n_bands: int) -> np.ndarray:
    """1-based AVIRIS band numbers of a 220- or 200-band (EHU corrected) cube."""
    everything = np.arange(1, ALL_BANDS + 1)
    if n_bands == ALL_BANDS:
        return everything
    if n_bands == ALL_BANDS - len(EHU_DROPPED_BANDS):
        return np.setdiff1d(everything, EHU_DROPPED_BANDS)
    raise DataError(f"cube has {n_bands} bands, expected 220 or 200")


def infer_dropped_bands(cube220: np.ndarray, cube200: np.ndarray) -> list[int]:
    """Which 1-based bands of ``cube220`` are absent from ``cube200`` (exact band equality).

    Verifies the EHU band list when both cubes are at hand.
    """
    if cube220.shape[:2] != cube200.shape[:2]:
        raise DataError(f"cubes of shapes {cube220.shape} and {cube200.shape} do not match")
    j, kept = 0, []
    for i in range(cube220.shape[2]):
        if j < cube200.shape[2] and np.array_equal(cube220[:, :, i], cube200[:, :, j]):
            kept.append(i + 1)
            j += 1
    if j != cube200.shape[2]:
        raise DataError(
            f"only {j} of {cube200.shape[2]} bands of the smaller cube occur, in order, in the larger"
        )
    return sorted(set(range(1, cube220.shape[2] + 1)) - set(kept))


# --------------------------------------------------------------------------- NetCDF


def cube_dataset(
    directory: str | Path, manifest: dict, bands: int, ground_truth: str, logger: logging.Logger = log
):
    """Raw files of a dataset directory -> xarray Dataset with dims ``(y, x, band)``.

    Only files listed in ``manifest`` are used (never a stale file of another source).
    Variables: ``radiance`` (the cube, original dtype), ``ground_truth`` (y, x; 0 =
    unlabelled), ``class_name`` (class_id); coordinates ``band`` (1-based AVIRIS band
    number), ``wavelength`` / ``fwhm`` (nm, from ``92AV3C.spc`` when present).
    Provenance in attrs.  The embedded source has 200 bands and the EHU ground truth
    only: then those are used, with a warning, whatever ``bands`` / ``ground_truth`` say.
    """
    import xarray as xr

    directory = Path(directory)
    files = manifest.get("files", {})

    def stored(remote: RemoteFile) -> str | None:
        """The name the file is stored under: its own, or an alias of another format (your
        ``Indian_pines_corrected.npy``, source: user)."""
        return next(
            (n for n in (remote.name, *remote.aliases) if n in files and (directory / n).exists()), None
        )

    def present(remote: RemoteFile) -> bool:
        return stored(remote) is not None

    cube_name = stored(CUBE_FILES[bands])
    if cube_name is None:
        cube_name = next((stored(f) for f in CUBE_FILES.values() if present(f)), None)
        if cube_name is None:
            raise DataUnavailableError(f"{directory}: no Indian Pines cube listed in its manifest.json")
        logger.warning("indian_pines: %d bands requested, only %s available: using it", bands, cube_name)
    gt_used = ground_truth
    if not present(GT_FILES[gt_used]):
        other = next(g for g in GROUND_TRUTHS if g != gt_used)
        if not present(GT_FILES[other]):
            raise DataUnavailableError(f"{directory}: no ground truth file listed in its manifest.json")
        logger.warning(
            "indian_pines: %s ground truth requested but only %s is available (%s source): using %s",
            gt_used,
            GT_FILES[other].name,
            manifest.get("source"),
            other,
        )
        gt_used = other
    cube_path, gt_path = directory / cube_name, directory / GT_FILES[gt_used].name
    # the bytes read must be those the fetch recorded; their sha256 go into the attrs
    read = check_raw_files(
        directory, manifest, [cube_name, gt_path.name, *([SPC_FILE.name] if present(SPC_FILE) else [])]
    )
    cube = read_cube(cube_path)
    check_finite(cube, cube_path, "radiance values")
    gt = read_ground_truth(gt_path)
    check_same_shape(cube.shape, cube_path, gt.shape, gt_path, "size", axes=(0, 1))
    names = None if manifest.get("label") == "synthetic" else dict(enumerate(CLASS_NAMES, start=1))
    check_classes(gt, gt_path, names=names, ignore=[0], logger=logger)
    bands = retained_bands(cube.shape[2])
    n_classes = int(gt.max())
    names = list(CLASS_NAMES) if manifest.get("label") != "synthetic" and n_classes == 16 else None
    if names is None:
        names = [f"Synthetic class {c}" for c in range(1, n_classes + 1)]
    coords = {
        "y": np.arange(cube.shape[0], dtype=np.int32),
        "x": np.arange(cube.shape[1], dtype=np.int32),
        "band": bands.astype(np.int16),
        "class_id": np.arange(1, n_classes + 1, dtype=np.uint8),
    }
    spc = directory / SPC_FILE.name
    if present(SPC_FILE):
        wavelength, fwhm = read_spc(spc)
        coords["wavelength"] = ("band", wavelength[bands - 1])
        coords["fwhm"] = ("band", fwhm[bands - 1])
    else:
        logger.warning("indian_pines: %s not available: no wavelength coordinate", SPC_FILE.name)
    ds = xr.Dataset(
        {
            "radiance": (("y", "x", "band"), cube),
            "ground_truth": (("y", "x"), gt),
            "class_name": (("class_id",), np.array(names, dtype=object)),
        },
        coords=coords,
    )
    # scaled digital numbers: no physical unit is stated for them, so none is claimed
    ds["radiance"].attrs.update(
        long_name="AVIRIS at-sensor radiance, scaled digital numbers as stored in the cube file"
    )
    ds["ground_truth"].attrs.update(
        long_name="class id (0 = unlabelled)", **flags(range(n_classes + 1), ["unlabelled", *names], gt.dtype)
    )
    ds["band"].attrs.update(long_name="AVIRIS band number (1-based, of the sensor's 220 bands)", units="1")
    if "wavelength" in ds.coords:
        ds["wavelength"].attrs.update(long_name="band centre wavelength", units="nm", source=SPC_FILE.name)
        ds["fwhm"].attrs.update(long_name="band full width at half maximum", units="nm")
    variants = {
        name: (entry.get("checksum") or {}).get("variant", "")
        for name, entry in files.items()
        if isinstance(entry, dict)
    }
    ds.attrs.update(
        dataset="indian_pines",
        title="AVIRIS Indian Pines (Indian Pine Test Site 3, 12 June 1992)",
        source_label=str(manifest.get("label", "unknown")),
        source=str(manifest.get("source", "unknown")),
        bands=int(cube.shape[2]),
        dropped_bands="" if cube.shape[2] == ALL_BANDS else " ".join(map(str, EHU_DROPPED_BANDS)),
        ground_truth=gt_used,
        ground_truth_file=GT_FILES[gt_used].name,
        cube_file=cube_name,
        cube_variant=variants.get(cube_name, ""),
        n_labelled=int((gt > 0).sum()),
        citation=CITATION,
        raw_sha256=" ".join(f"{name}:{digest}" for name, digest in sorted(read.items())),
    )
    for name, digest in sorted(read.items()):
        ds.attrs[f"sha256_{name}"] = digest
    if manifest.get("label") == "stand-in":
        ds.attrs["stand_in"] = str(manifest.get("embedded", EMBEDDED))
    return ds

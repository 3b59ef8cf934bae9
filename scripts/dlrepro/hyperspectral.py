"""AVIRIS Indian Pines: readers, NetCDF, normalisation, patches, splits, model, maps.

Data (see ``/work/shared/data/PROVENANCE.md`` section 3):

* the cube: 145 x 145 pixels, 220 bands (EHU ``Indian_pines.mat`` = Purdue ``92AV3C.lan``)
  or 200 bands (EHU ``Indian_pines_corrected.mat``: bands [104-108], [150-163] and 220
  removed; also accepted as the tensorly 0.10.0 ``.npy``, the same array);
* the ground truth: Purdue/MultiSpec ``92AV3GT.GIS`` (ERDAS 7.4 GIS, 10,366 labelled
  pixels, the lecture's 1,036 + 9,330) or EHU ``Indian_pines_gt.mat`` (10,249 labelled);
* ``92AV3C.spc``: centre wavelength and FWHM of the 220 bands (optional).

Raw files keep their canonical names in the dataset directory; the readers recognise the
content (MAT v5, NumPy ``.npy``, ERDAS LAN/GIS) by its magic bytes, so an accepted byte
variant stored under the canonical name (the tensorly ``.npy`` of the corrected cube, the
``92AV3C.lan`` of the 220-band cube) is read correctly.  The manifest records which
variant was used.

Pipeline: :func:`cube_dataset` (raw files -> NetCDF, dims ``(y, x, band)``),
:func:`normalise` (global or per-band mean/std), :func:`extract_patches` (vectorised
windows around labelled pixels), :func:`random_split` / :func:`disjoint_split`,
:func:`build_model` (the lecture's 3-D CNN), :func:`plot_maps`, :func:`indian_pines_table`.
"""

from __future__ import annotations

import itertools
import logging
import math
from fractions import Fraction
from pathlib import Path

import numpy as np

from .acquire import Checksum, DatasetSpec, RemoteFile
from .errors import ConfigError, DataError, DataUnavailableError
from .io import atomic_path

log = logging.getLogger("dlrepro")

N_ROWS = N_COLS = 145
ALL_BANDS = 220
# EHU: "reduced to 200 by removing bands covering the region of water absorption:
# [104-108], [150-163], 220" (1-based AVIRIS band numbers of the 220-band cube)
EHU_DROPPED_BANDS = (*range(104, 109), *range(150, 164), 220)
BAND_CHOICES = (200, 220)
GROUND_TRUTHS = ("purdue", "ehu")
SPLITS = ("random", "disjoint")
PADDING_MODES = ("constant", "reflect", "symmetric", "edge")

CLASS_NAMES = (
    "Alfalfa",
    "Corn-notill",
    "Corn-mintill",
    "Corn",
    "Grass-pasture",
    "Grass-trees",
    "Grass-pasture-mowed",
    "Hay-windrowed",
    "Oats",
    "Soybean-notill",
    "Soybean-mintill",
    "Soybean-clean",
    "Wheat",
    "Woods",
    "Buildings-Grass-Trees-Drives",
    "Stone-Steel-Towers",
)
# labelled pixels per class (PROVENANCE.md section 3)
PURDUE_COUNTS = (54, 1434, 834, 234, 497, 747, 26, 489, 20, 968, 2468, 614, 212, 1294, 380, 95)
EHU_COUNTS = (46, 1428, 830, 237, 483, 730, 28, 478, 20, 972, 2455, 593, 205, 1265, 386, 93)

# --------------------------------------------------------------------------- raw files

EHU = "http://www.ehu.eus/ccwintco/uploads/"
SPY_PINNED = (
    "https://raw.githubusercontent.com/spectralpython/sample-data/b2c0458d18a26b84c4262a09a106bd7cdeb1203d/"
)
SPY_MASTER = "https://raw.githubusercontent.com/spectralpython/sample-data/master/"

CUBE_FILES = {
    200: RemoteFile(
        name="Indian_pines_corrected.mat",
        checksums=(
            Checksum("git_blob", "75b6d6e7df046fce91eda23e7559e274c92da711", "EHU .mat"),
            Checksum(
                "sha256",
                "8f038e4d81569e38ebfc72a15c9984c150de42580ab260be10a13442e912e451",
                "tensorly 0.10.0 .npy (same array as the EHU .mat)",
            ),
        ),
        urls=(EHU + "6/67/Indian_pines_corrected.mat",),
        aliases=("Indian_pines_corrected.npy",),
    ),
    220: RemoteFile(
        name="Indian_pines.mat",
        checksums=(
            Checksum("git_blob", "c03ff8a0dbc962fe76d08f565f02008eae3f7dd7", "EHU .mat"),
            Checksum("git_blob", "fc0eac775148ce51610e22bc224ae4b81c926666", "Purdue 92AV3C.lan (ERDAS LAN)"),
        ),
        urls=(EHU + "2/22/Indian_pines.mat", SPY_MASTER + "92AV3C.lan"),
        aliases=("92AV3C.lan",),
    ),
}
GT_FILES = {
    "purdue": RemoteFile(
        name="92AV3GT.GIS",
        checksums=(
            Checksum("sha256", "4264595a73b804d0321f882cfc5667c24ced5d9166a30fe2867ba35975070d94"),
            Checksum("git_blob", "5e26cceb4cd3a814580c7c727e663bcc91d2a0fd"),
        ),
        urls=(SPY_PINNED + "92AV3GT.GIS", SPY_MASTER + "92AV3GT.GIS"),
    ),
    "ehu": RemoteFile(
        name="Indian_pines_gt.mat",
        checksums=(
            Checksum("sha256", "65c4687a8ab04f6da4789799bc3bc4f6e88bccac3ed6a2e6ae367e5e6b9e429c"),
            Checksum("git_blob", "8e308e6d2ad7cbb81dc1cd7849a2b7b768f4be6d"),
        ),
        urls=(EHU + "c/c4/Indian_pines_gt.mat",),
    ),
}
SPC_FILE = RemoteFile(
    name="92AV3C.spc",
    checksums=(
        Checksum("sha256", "beab701c26ba0c2430e1e0e4073e2179092c8c5bb281f5578dba6694906c5c4c"),
        Checksum("git_blob", "1dc02eae3f0dd9fd6722fe9e1944e793b026f99d"),
    ),
    urls=(SPY_PINNED + "92AV3C.spc", SPY_MASTER + "92AV3C.spc"),
    optional=True,
)
MAT_KEYS = {"Indian_pines_corrected.mat": "indian_pines_corrected", "Indian_pines.mat": "indian_pines"}
GT_MAT_KEY = "indian_pines_gt"

CITATION = (
    "Baumgardner, Biehl, Landgrebe (2015): 220 Band AVIRIS Hyperspectral Image Data Set: June 12, 1992 "
    "Indian Pine Test Site 3, Purdue University Research Repository, doi:10.4231/R7RX991C (CC0); "
    ".mat files: EHU Grupo de Inteligencia Computacional"
)
EMBEDDED = (
    "tensorly 0.10.0 tensorly/datasets/data: Indian_pines_corrected.npy (200 bands) + Indian_pines_gt.npy "
    "(EHU ground truth, 10,249 labelled pixels, not the lecture's Purdue 10,366)"
)


# how to run offline when the configured files differ from the embedded ones (200 bands, EHU)
STAND_IN_HINT = (
    "offline, set config key datasets.indian_pines.ground_truth: ehu (and bands: 200) to use the embedded "
    "tensorly stand-in, or leave strict_data: false so that the workflow falls back to it by itself"
)


def check_options(options: dict | None) -> tuple[int, str]:
    """``(bands, ground_truth)`` from the dataset's config section, validated."""
    options = dict(options or {})
    bands = int(options.get("bands", 200))
    gt = str(options.get("ground_truth", "purdue"))
    if bands not in BAND_CHOICES:
        raise ConfigError(f"config key datasets.indian_pines.bands: {bands}, expected one of {BAND_CHOICES}")
    if gt not in GROUND_TRUTHS:
        raise ConfigError(
            f"config key datasets.indian_pines.ground_truth: {gt!r}, expected one of {GROUND_TRUTHS}"
        )
    return bands, gt


def indian_pines_spec(options: dict | None = None) -> DatasetSpec:
    """The raw files for the configured ``bands`` (200 / 220) and ``ground_truth``.

    The embedded tensorly copy has 200 bands and the EHU ground truth only: with
    ``source: embedded`` those are the files (whatever bands / ground truth say); with
    ``source: auto`` it is a fallback only when the configuration asks for exactly them.
    """
    options = dict(options or {})
    bands, gt = check_options(options)
    source = options.get("source", "auto")
    if source == "embedded":
        bands, gt = 200, "ehu"
    embedded_fits = (bands, gt) == (200, "ehu")
    return DatasetSpec(
        name="indian_pines",
        files=(CUBE_FILES[bands], GT_FILES[gt], SPC_FILE),
        embedded=write_embedded if embedded_fits else None,
        embedded_description=EMBEDDED,
        synthetic=lambda dest, syn, logger: write_synthetic(dest, syn, logger, bands=bands, ground_truth=gt),
        citation=CITATION,
        extra={
            "bands": bands,
            "ground_truth": gt,
            "unavailable_hint": None if embedded_fits else STAND_IN_HINT,
        },
    )


# --------------------------------------------------------------------------- readers


def _magic(path: Path, n: int = 128) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def read_cube(path: str | Path) -> np.ndarray:
    """The image cube ``(y, x, band)`` from a MAT v5, ``.npy`` or ERDAS LAN file."""
    path = Path(path)
    head = _magic(path)
    if head.startswith(b"\x93NUMPY"):
        cube = np.load(path, allow_pickle=False)
    elif head.startswith(b"MATLAB 5.0"):
        cube = _read_mat_array(path, MAT_KEYS.get(path.name), ndim=3)
    elif head[:6] in (b"HEAD74", b"HEADER"):
        cube = _read_erdas(path)
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
    head = _magic(path)
    if head[:6] in (b"HEAD74", b"HEADER"):
        gt = _read_erdas(path)
        if gt.shape[2] != 1:
            raise DataError(f"{path}: ERDAS GIS with {gt.shape[2]} bands, expected 1")
        gt = gt[:, :, 0]
    elif head.startswith(b"MATLAB 5.0"):
        gt = _read_mat_array(path, GT_MAT_KEY, ndim=2)
    elif head.startswith(b"\x93NUMPY"):
        gt = np.load(path, allow_pickle=False)
    else:
        raise DataError(f"{path}: not an ERDAS GIS, MAT v5 or .npy ground truth (starts with {head[:10]!r})")
    if gt.ndim != 2:
        raise DataError(f"{path}: ground truth of shape {gt.shape}, expected (rows, cols)")
    if gt.min() < 0 or gt.max() > 255:
        raise DataError(f"{path}: class ids {gt.min()}..{gt.max()}, expected 0..255")
    return gt.astype(np.uint8)


def _read_mat_array(path: Path, key: str | None, ndim: int) -> np.ndarray:
    import scipy.io

    try:
        mat = scipy.io.loadmat(path)
    except (ValueError, NotImplementedError, OSError) as exc:
        raise DataError(f"{path}: unreadable MAT file ({exc})") from exc
    if key and key in mat:
        return np.asarray(mat[key])
    arrays = [k for k, v in mat.items() if not k.startswith("__") and getattr(v, "ndim", 0) == ndim]
    if len(arrays) != 1:
        raise DataError(f"{path}: expected one {ndim}-D array (key {key!r}), found keys {sorted(mat)}")
    return np.asarray(mat[arrays[0]])


def _read_erdas(path: Path) -> np.ndarray:
    """ERDAS 7.4 LAN/GIS via the maintained reader of the ``spectral`` package."""
    from spectral.io import erdas
    from spectral.io.spyfile import InvalidFileError

    try:
        image = erdas.open(str(path))
        data = image.open_memmap(interleave="bip")  # (rows, cols, bands)
        return np.array(data)
    except (InvalidFileError, ValueError, OSError) as exc:
        raise DataError(f"{path}: unreadable ERDAS file ({exc})") from exc


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

    def present(remote: RemoteFile) -> bool:
        return remote.name in files and (directory / remote.name).exists()

    cube_name = CUBE_FILES[bands].name if present(CUBE_FILES[bands]) else None
    if cube_name is None:
        cube_name = next((f.name for f in CUBE_FILES.values() if present(f)), None)
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
    cube = read_cube(directory / cube_name)
    gt = read_ground_truth(directory / GT_FILES[gt_used].name)
    if cube.shape[:2] != gt.shape:
        raise DataError(f"{directory}: cube {cube.shape} and ground truth {gt.shape} differ in size")
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
    ds["radiance"].attrs.update(long_name="AVIRIS at-sensor radiance (scaled DN)", units="1")
    ds["ground_truth"].attrs.update(long_name="class id (0 = unlabelled)", flag_values=f"0..{n_classes}")
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
        raw_sha256=" ".join(
            f"{name}:{entry['sha256']}"
            for name, entry in sorted(files.items())
            if isinstance(entry, dict) and "sha256" in entry
        ),
    )
    for name, entry in sorted(files.items()):
        if isinstance(entry, dict) and "sha256" in entry:
            ds.attrs[f"sha256_{name}"] = entry["sha256"]
    if manifest.get("label") == "stand-in":
        ds.attrs["stand_in"] = str(manifest.get("embedded", EMBEDDED))
    return ds


# --------------------------------------------------------------------------- normalisation


def normalisation_stats(cube: np.ndarray, mode: str = "global") -> tuple[np.ndarray, np.ndarray]:
    """Mean and population std (ddof=0) in float64: scalars (``global``) or per band."""
    if mode not in ("global", "per_band"):
        raise ConfigError(f"config key indian_pines.normalisation: {mode!r}, expected 'global' or 'per_band'")
    axis = None if mode == "global" else (0, 1)
    values = cube.astype(np.float64)  # 34 MB for the 200-band cube
    return np.asarray(values.mean(axis=axis)), np.asarray(values.std(axis=axis))


def normalise(cube: np.ndarray, mode: str = "global") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(cube - mean) / std`` as float32, with the mean and std used."""
    mean, std = normalisation_stats(cube, mode)
    if np.any(std == 0):
        raise DataError("normalisation: a standard deviation is zero (constant cube or band)")
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


# --------------------------------------------------------------------------- splits


def train_counts(counts, fraction: float) -> np.ndarray:
    """Training pixels per class: ``fraction`` of each class rounded half up, kept in 1..n-1.

    Exact arithmetic (``0.1 * 95`` is 9.5 and rounds to 10).  Over the Purdue counts
    this gives 1,036 training pixels.
    """
    if not 0 < fraction < 1:
        raise ConfigError(f"config key indian_pines.train_fraction: {fraction}, expected 0 < fraction < 1")
    frac = Fraction(str(fraction))
    out = []
    for n in counts:
        n = int(n)
        k = math.floor(n * frac + Fraction(1, 2))
        if n >= 2:
            k = min(max(k, 1), n - 1)
        out.append(k if n > 0 else 0)
    return np.array(out, dtype=np.int64)


def _class_counts(gt: np.ndarray) -> np.ndarray:
    return np.bincount(gt.ravel(), minlength=int(gt.max()) + 1)[1:]


def random_split(gt: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified random split: ``(train_mask, test_mask)`` over the scene.

    Per class, :func:`train_counts` pixels drawn at random (seeded) for training; every
    other labelled pixel is a test pixel.
    """
    rng = np.random.default_rng(seed)
    train = np.zeros(gt.shape, dtype=bool)
    flat = gt.ravel()
    for c, k in enumerate(train_counts(_class_counts(gt), fraction), start=1):
        idx = np.flatnonzero(flat == c)
        if k:
            train.flat[rng.choice(idx, size=int(k), replace=False)] = True
    return train, (gt > 0) & ~train


def disjoint_split(gt: np.ndarray, fraction: float, seed: int, guard: int) -> tuple[np.ndarray, np.ndarray]:
    """Spatially disjoint split: ``(train_mask, test_mask)``.

    Following Lange, Cavallaro, Götz, Erlingsson, Riedel (IGARSS 2018), the labelled
    pixels of each class are grouped into spatially connected regions (DBSCAN with
    eps = 1 pixel in the Chebyshev metric, i.e. 8-connected components).  Training pixels
    are taken region by region (regions in a seeded random order) as compact blocks: a
    whole region when it fits the class's remaining quota (:func:`train_counts`, the same
    counts as the random split), otherwise the pixels nearest (Chebyshev, then Euclidean
    distance) to the end of the region in a seeded random direction.  A test pixel is
    any other labelled pixel farther than ``guard`` pixels (Chebyshev) from every
    training pixel, so with ``guard >= window // 2`` no test patch contains a training
    pixel (and no training patch a test pixel).  Pixels in the guard band are unused.
    """
    from scipy import ndimage

    if guard < 0:
        raise ConfigError(f"config key indian_pines.disjoint_guard: {guard}, expected >= 0")
    rng = np.random.default_rng(seed)
    train = np.zeros(gt.shape, dtype=bool)
    eight = np.ones((3, 3), dtype=bool)
    for c, need in enumerate(train_counts(_class_counts(gt), fraction), start=1):
        regions, n_regions = ndimage.label(gt == c, structure=eight)
        need = int(need)
        for region in rng.permutation(n_regions) + 1:
            if need <= 0:
                break
            rr, cc = np.nonzero(regions == region)
            if len(rr) <= need:
                train[rr, cc] = True
                need -= len(rr)
                continue
            angle = rng.uniform(0.0, 2.0 * np.pi)
            start = int(np.argmax(rr * np.sin(angle) + cc * np.cos(angle)))
            dy, dx = np.abs(rr - rr[start]), np.abs(cc - cc[start])
            order = np.lexsort((np.arange(len(rr)), dy**2 + dx**2, np.maximum(dy, dx)))[:need]
            train[rr[order], cc[order]] = True
            need = 0
    near = ndimage.binary_dilation(train, structure=np.ones((2 * guard + 1, 2 * guard + 1), dtype=bool))
    return train, (gt > 0) & ~near


def make_split(gt: np.ndarray, method: str, fraction: float, seed: int, guard: int):
    if method == "random":
        return random_split(gt, fraction, seed)
    if method == "disjoint":
        return disjoint_split(gt, fraction, seed, guard)
    raise ConfigError(f"split {method!r}: expected one of {SPLITS}")


def split_dataset(cube, method: str, fraction: float, seed: int, guard: int, window: int):
    """The split as a Dataset: ``train_mask`` / ``test_mask`` (y, x) and per-class counts."""
    import xarray as xr

    gt = cube["ground_truth"].values
    train, test = make_split(gt, method, fraction, seed, guard)
    n_classes = int(gt.max())
    per_train = np.bincount(gt[train], minlength=n_classes + 1)[1:]
    per_test = np.bincount(gt[test], minlength=n_classes + 1)[1:]
    ds = xr.Dataset(
        {
            "train_mask": (("y", "x"), train),
            "test_mask": (("y", "x"), test),
            "n_train": (("class_id",), per_train.astype(np.int32)),
            "n_test": (("class_id",), per_test.astype(np.int32)),
            "class_name": cube["class_name"],
        },
        coords={"y": cube["y"].values, "x": cube["x"].values, "class_id": cube["class_id"].values},
        attrs={
            **cube.attrs,
            "split": method,
            "train_fraction": float(fraction),
            "split_seed": int(seed),
            "window": int(window),
            "disjoint_guard": int(guard) if method == "disjoint" else -1,
            "n_train_total": int(train.sum()),
            "n_test_total": int(test.sum()),
            "n_unused": int(((gt > 0) & ~train & ~test).sum()),
        },
    )
    return ds


def window_overlaps(train_mask: np.ndarray, test_mask: np.ndarray, window: int) -> int:
    """Number of test pixels whose ``window`` patch contains a training pixel."""
    from scipy import ndimage

    counts = ndimage.uniform_filter(train_mask.astype(np.float64), size=window, mode="constant") * window**2
    return int((test_mask & (counts > 0.5)).sum())


# --------------------------------------------------------------------------- model


def build_model(
    n_bands: int,
    n_classes: int,
    window: int = 9,
    learning_rate: float = 1.0,
    decay: float = 5e-6,
    compile_model: bool = True,
):
    """The lecture's 3-D CNN on ``(window, window, n_bands, 1)`` patches.

    SGD with Keras 2's ``decay`` reproduced by ``InverseTimeDecay(lr, decay_steps=1,
    decay_rate=decay)`` (``lr / (1 + decay * iterations)``), MSE on one-hot targets.
    578,544 parameters for 220 bands and 16 classes.
    """
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input(shape=(window, window, n_bands, 1)),
            layers.Conv3D(48, (3, 3, 5), activation="relu"),
            layers.MaxPooling3D((1, 1, 3)),
            layers.ZeroPadding3D((0, 0, 2)),
            layers.Conv3D(32, (3, 3, 5), activation="relu"),
            layers.MaxPooling3D((1, 1, 3)),
            layers.ZeroPadding3D((0, 0, 2)),
            layers.Conv3D(32, (3, 3, 5), activation="relu"),
            layers.MaxPooling3D((1, 1, 2)),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(128, activation="relu"),
            layers.Dense(n_classes, activation="softmax"),
        ],
        name="indian_pines_3dcnn",
    )
    if compile_model:
        lr = (
            keras.optimizers.schedules.InverseTimeDecay(learning_rate, decay_steps=1, decay_rate=decay)
            if decay
            else learning_rate
        )
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=lr),
            loss="mean_squared_error",
            metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        )
    return model


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """1-based class ids -> float32 one-hot rows."""
    return np.eye(n_classes, dtype=np.float32)[np.asarray(labels, dtype=np.int64) - 1]


def predict_scene(
    model, normalised_cube: np.ndarray, window: int, padding: str, batch: int = 1024
) -> np.ndarray:
    """Predicted class id (1-based) of every pixel, patches extracted ``batch`` at a time."""
    padded = pad_cube(normalised_cube.astype(np.float32, copy=False), window // 2, padding)
    h, w = normalised_cube.shape[:2]
    rows, cols = np.divmod(np.arange(h * w), w)
    out = np.empty(h * w, dtype=np.uint8)
    for start in range(0, h * w, batch):
        sl = slice(start, start + batch)
        x = extract_patches(padded, rows[sl], cols[sl], window)[..., None]
        out[sl] = model.predict(x, batch_size=256, verbose=0).argmax(axis=1) + 1
    return out.reshape(h, w)


# --------------------------------------------------------------------------- synthetic


def synthetic_scene(
    rows: int = 40, cols: int = 40, n_classes: int = 8, seed: int = 0, n_bands: int = ALL_BANDS
) -> tuple[np.ndarray, np.ndarray]:
    """A small learnable scene: rectangular fields of ``n_classes`` crops (uint16 cube
    ``(rows, cols, 220)`` and uint8 ground truth).

    Each class has a smooth random spectrum; pixels are that spectrum with multiplicative
    field-level and pixel-level noise.  One-pixel lanes between fields and some whole
    fields are unlabelled (0), as in the real ground truth.  Water-absorption bands are
    dark, as in AVIRIS data.
    """
    if n_classes < 2 or rows < 12 or cols < 12:
        raise ConfigError("synthetic.indian_pines: need >= 2 classes and a scene of at least 12 x 12")
    rng = np.random.default_rng(seed)
    proto = np.random.default_rng(4242)  # the same class spectra for every scene seed
    grid = np.linspace(0.0, 1.0, n_bands)
    spectra = np.empty((n_classes + 1, n_bands))
    for c in range(n_classes + 1):
        s = np.full(n_bands, 2500.0)
        for _ in range(4):
            centre, width, amp = proto.uniform(0, 1), proto.uniform(0.04, 0.2), proto.uniform(-1500, 3000)
            s += amp * np.exp(-0.5 * ((grid - centre) / width) ** 2)
        spectra[c] = np.clip(s, 1200, 9000)
    if n_bands == ALL_BANDS:
        spectra[:, np.asarray(EHU_DROPPED_BANDS) - 1] = 1050.0

    def cuts(n):
        edges, pos = [0], 0
        while pos < n:
            pos += int(rng.integers(5, 10))
            edges.append(min(pos, n))
        if edges[-1] - edges[-2] < 4 and len(edges) > 2:
            edges.pop(-2)
        return edges

    gt = np.zeros((rows, cols), dtype=np.uint8)
    hidden = np.zeros((rows, cols), dtype=np.int64)
    rcuts, ccuts = cuts(rows), cuts(cols)
    fields = [
        (r0, r1, c0, c1) for r0, r1 in itertools.pairwise(rcuts) for c0, c1 in itertools.pairwise(ccuts)
    ]
    classes = np.resize(rng.permutation(np.arange(1, n_classes + 1)), len(fields))
    rng.shuffle(classes[n_classes:])
    for i, ((r0, r1, c0, c1), c) in enumerate(zip(fields, classes, strict=True)):
        hidden[r0:r1, c0:c1] = c
        if i >= n_classes and rng.uniform() < 0.12:
            continue  # an unlabelled field (the first field of each class stays labelled)
        gt[r0 + 1 : r1, c0 + 1 : c1] = c  # a one-pixel unlabelled lane on the top/left
    gain = 1.0 + 0.04 * rng.standard_normal((rows, cols, 1))
    cube = spectra[hidden] * gain * (1.0 + 0.02 * rng.standard_normal((rows, cols, n_bands)))
    cube += rng.normal(0.0, 40.0, cube.shape)
    return np.clip(np.rint(cube), 0, 65535).astype(np.uint16), gt


def write_erdas_gis(gt: np.ndarray, path: str | Path, n_classes: int | None = None) -> None:
    """Write a class map as an ERDAS 7.4 GIS file (``HEAD74``, 8-bit, one band)."""
    import struct

    gt = np.ascontiguousarray(gt, dtype=np.uint8)
    header = bytearray(128)
    header[0:6] = b"HEAD74"
    struct.pack_into("<hh", header, 6, 0, 1)  # 8-bit packing, 1 band
    struct.pack_into("<iiii", header, 16, gt.shape[1], gt.shape[0], 0, 0)
    struct.pack_into("<hh", header, 88, 0, int(n_classes if n_classes is not None else gt.max() + 1))
    struct.pack_into("<h", header, 106, 0)
    struct.pack_into("<fffff", header, 108, 0.0, 0.0, 0.0, 1.0, 1.0)
    with atomic_path(path) as tmp:
        tmp.write_bytes(bytes(header) + gt.tobytes())


def write_spc(path: str | Path, wavelengths, fwhm) -> None:
    lines = ["FILE spectral_synthetic.ascii", "-" * 33]
    lines += [
        f"{w:.6f}\t{f:.6f}\t1.000000\t0.500000\t{i + 2:.6f}"
        for i, (w, f) in enumerate(zip(wavelengths, fwhm, strict=True))
    ]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="ascii")


def _remove_raw_files(dest: Path) -> None:
    """Remove every Indian Pines raw file name from ``dest`` (no stale file of another source)."""
    for remote in (*CUBE_FILES.values(), *GT_FILES.values(), SPC_FILE):
        (Path(dest) / remote.name).unlink(missing_ok=True)


def _savemat(path: Path, key: str, array: np.ndarray) -> None:
    import scipy.io

    with atomic_path(path) as tmp:
        scipy.io.savemat(tmp, {key: array}, do_compression=False)


def write_synthetic(
    dest: Path, options: dict, logger: logging.Logger, bands: int = 200, ground_truth: str = "purdue"
) -> dict:
    """A synthetic scene in the real raw formats (MAT v5 cube, ERDAS GIS or MAT ground
    truth, ``.spc`` calibration) under the canonical file names."""
    dest = Path(dest)
    rows, cols = int(options.get("rows", 40)), int(options.get("cols", 40))
    n_classes, seed = int(options.get("classes", 8)), int(options.get("seed", 0))
    cube, gt = synthetic_scene(rows, cols, n_classes, seed)
    _remove_raw_files(dest)
    if bands == 200:
        cube = cube[:, :, retained_bands(200) - 1]
    cube_file = CUBE_FILES[bands].name
    _savemat(dest / cube_file, MAT_KEYS[cube_file], cube)
    if ground_truth == "purdue":
        write_erdas_gis(gt, dest / GT_FILES["purdue"].name, n_classes + 1)
    else:
        _savemat(dest / GT_FILES["ehu"].name, GT_MAT_KEY, gt)
    write_spc(dest / SPC_FILE.name, np.linspace(400.0, 2500.0, ALL_BANDS), np.full(ALL_BANDS, 10.0))
    logger.info(
        "indian_pines: synthetic %dx%d scene, %d bands, %d classes, %d labelled pixels (seed %d)",
        rows,
        cols,
        bands,
        n_classes,
        int((gt > 0).sum()),
        seed,
    )
    return {
        "synthetic": {
            "rows": rows,
            "cols": cols,
            "classes": n_classes,
            "seed": seed,
            "bands": bands,
            "ground_truth": ground_truth,
        }
    }


def write_embedded(dest: Path, logger: logging.Logger) -> dict:
    """tensorly's copies: the 200-band cube and the EHU ground truth, as MAT v5 files."""
    from importlib import metadata

    import tensorly.datasets as tld

    data = Path(tld.__file__).parent / "data"
    try:
        cube = np.load(data / "Indian_pines_corrected.npy", allow_pickle=False)
        gt = np.load(data / "Indian_pines_gt.npy", allow_pickle=False)
    except OSError as exc:
        raise DataUnavailableError(
            f"indian_pines: the tensorly package has no Indian Pines data ({exc})"
        ) from exc
    _remove_raw_files(dest)
    _savemat(dest / CUBE_FILES[200].name, MAT_KEYS[CUBE_FILES[200].name], cube)
    _savemat(dest / GT_FILES["ehu"].name, GT_MAT_KEY, gt.astype(np.uint8))
    from .acquire import file_sha256

    logger.info(
        "indian_pines: embedded tensorly copy, cube %s, %d labelled (EHU ground truth)",
        cube.shape,
        int((gt > 0).sum()),
    )
    return {
        "embedded_package": f"tensorly {metadata.version('tensorly')}",
        "embedded_sha256": {
            "Indian_pines_corrected.npy": file_sha256(data / "Indian_pines_corrected.npy"),
            "Indian_pines_gt.npy": file_sha256(data / "Indian_pines_gt.npy"),
        },
    }


# --------------------------------------------------------------------------- maps


def class_colours(n_classes: int) -> np.ndarray:
    """RGB (0..1) of class 0 (black, unlabelled) .. n: SPy's standard class colours."""
    from spectral import spy_colors

    colours = np.asarray(spy_colors, dtype=float) / 255.0
    return colours[np.arange(n_classes + 1) % len(colours)]


def plot_maps(path, gt, train_mask, test_mask, predicted, class_names, title: str) -> None:
    """One PNG: ground truth, training pixels, test pixels, prediction (whole scene and
    labelled pixels only), with the class legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    n = len(class_names)
    colours = class_colours(n)
    cmap = ListedColormap(colours)
    panels = [
        ("ground truth", gt),
        (f"training pixels ({int(train_mask.sum())})", np.where(train_mask, gt, 0)),
        (f"test pixels ({int(test_mask.sum())})", np.where(test_mask, gt, 0)),
        ("predicted (whole scene)", predicted),
        ("predicted (labelled pixels)", np.where(gt > 0, predicted, 0)),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 5.2), constrained_layout=True)
    for ax, (name, img) in zip(axes, panels, strict=True):
        ax.imshow(img, cmap=cmap, vmin=0, vmax=n, interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    handles = [
        Patch(facecolor=colours[i], edgecolor="grey", label=f"{i} {name}")
        for i, name in enumerate(class_names, start=1)
    ]
    handles.insert(0, Patch(facecolor=colours[0], edgecolor="grey", label="0 unlabelled / not used"))
    fig.legend(
        handles=handles, loc="outside lower center", ncol=min(6, len(handles)), fontsize=8, frameon=False
    )
    fig.suptitle(title, fontsize=11)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


# --------------------------------------------------------------------------- table


def indian_pines_table(runs: list[dict]):
    """One row per split: lecture OA beside our OA / AA / kappa (mean ± std over seeds).

    ``runs`` are the metrics dicts of the evaluation rule.  Returns ``(DataFrame, notes)``.
    """
    import pandas as pd

    from .lecture import INDIAN_PINES
    from .tables import combine_labels, fmt_mean_std, mean_std

    groups: dict[str, list[dict]] = {}
    for run in runs:
        groups.setdefault(run["split"], []).append(run)
    rows, notes = [], []
    for split in sorted(groups, key=lambda s: SPLITS.index(s) if s in SPLITS else 99):
        group = sorted(groups[split], key=lambda r: r["seed"])
        stats = {m: mean_std(r[m] for r in group) for m in ("accuracy", "average_accuracy", "kappa")}
        trained = sorted({int(r["epochs"]) for r in group})
        first = group[0]
        lecture = INDIAN_PINES["overall_accuracy"] if split == "random" else None
        oa_mean = stats["accuracy"][0]
        rows.append(
            {
                "split": split,
                "data_source": combine_labels(r["source_label"] for r in group),
                "bands": first["bands"],
                "ground_truth": first["ground_truth"],
                "n_train": first["n_train"],
                "n_test": first["n_test"],
                "epochs": first["epochs_requested"],
                "epochs_trained": ",".join(map(str, trained)),
                "lecture_oa": lecture,
                "our_oa": fmt_mean_std(*stats["accuracy"], digits=4),
                "our_aa": fmt_mean_std(*stats["average_accuracy"], digits=4),
                "our_kappa": fmt_mean_std(*stats["kappa"], digits=4),
                "oa_mean": round(oa_mean, 4),
                "oa_std": None if stats["accuracy"][2] < 2 else round(stats["accuracy"][1], 4),
                "difference_oa": None if lecture is None else round(oa_mean - lecture, 4),
                "n_seeds": len(group),
                "seeds": ",".join(str(r["seed"]) for r in group),
                "parameters": first["parameters"],
            }
        )
        if trained != [int(first["epochs_requested"])]:
            notes.append(
                f"{split}: trained only {rows[-1]['epochs_trained']} of {first['epochs_requested']} epochs (max_epochs cap)."
            )
    labels = {row["data_source"] for row in rows}
    notes.append(
        f"Lecture: OA {INDIAN_PINES['overall_accuracy']} on a random 10 % per-class split "
        f"({INDIAN_PINES['n_train']} / {INDIAN_PINES['n_test']} pixels, Purdue ground truth, {INDIAN_PINES['bands']} bands, "
        f"{INDIAN_PINES['parameters']:,} parameters); the lecture reports no disjoint-split figure."
    )
    notes.append(
        "disjoint: spatially disjoint training blocks per connected field (Lange et al., IGARSS 2018); "
        "test pixels are farther than the guard band from every training pixel, so no test patch contains a training pixel."
    )
    if any(row["bands"] != INDIAN_PINES["bands"] for row in rows):
        notes.append(
            "bands 200: the EHU corrected cube (water-absorption bands removed); the lecture used 220 bands."
        )
    if "stand-in" in labels:
        notes.append(
            "stand-in: computed from the embedded tensorly copy (EHU ground truth), NOT a reproduction."
        )
    if "synthetic" in labels:
        notes.append("synthetic: computed from a generated scene (tiny profile), NOT a reproduction.")
    notes.append(
        "OA = overall accuracy, AA = mean per-class accuracy, kappa = Cohen's kappa; std over seeds (ddof=1)."
    )
    return pd.DataFrame(rows), notes

"""Synthetic scenes and the embedded stand-in, written in the real raw formats."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import numpy as np

from ..dataspec import file_sha256
from ..errors import ConfigError, DataUnavailableError
from ..io import atomic_path
from .readers import retained_bands
from .sources import ALL_BANDS, CUBE_FILES, EHU_DROPPED_BANDS, GT_FILES, GT_MAT_KEY, MAT_KEYS, SPC_FILE


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

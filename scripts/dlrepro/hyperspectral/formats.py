"""The raw formats, shared by :mod:`.readers` (Indian Pines) and :mod:`.scene_io` (any scene):
the magic bytes a file starts with (MAT v5 ``MATLAB 5.0``, NumPy ``\\x93NUMPY``, ERDAS 7.4
``HEAD74``/``HEADER``, HDF5 ``\\x89HDF``), a MAT v5 array, an ERDAS 7.4 LAN/GIS image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError


def magic(path: Path, n: int = 128) -> bytes:
    """The first ``n`` bytes of ``path``: its format is recognised by them, never by its name."""
    with open(path, "rb") as fh:
        return fh.read(n)


def read_mat_array(path: Path, key: str | None, ndim: int) -> np.ndarray:
    """The array ``key`` of a MAT v5 file, else its only ``ndim``-D array."""
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


def read_erdas(path: Path) -> np.ndarray:
    """ERDAS 7.4 LAN/GIS via the maintained reader of the ``spectral`` package."""
    from spectral.io import erdas
    from spectral.io.spyfile import InvalidFileError

    try:
        image = erdas.open(str(path))
        data = image.open_memmap(interleave="bip")  # (rows, cols, bands)
        return np.array(data)
    except (InvalidFileError, ValueError, OSError) as exc:
        raise DataError(f"{path}: unreadable ERDAS file ({exc})") from exc

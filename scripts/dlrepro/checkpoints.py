"""Training checkpoints: the newest two ``.keras`` archives of a training and ``state.json``.

``state.json`` (the atomic commit point) describes the newest checkpoint at its top level
(``epoch``, ``checkpoint``, ``history``, ``fingerprint``: the format of a single checkpoint, which
older directories have) and the older one still kept under ``previous``.  A checkpoint that
cannot be read is named in one warning line, set aside (renamed ``.corrupt``, by the chief
worker only) and the training resumes from the newest readable one, or starts afresh.
"""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

from .io import atomic_path, read_json, write_json

STATE_FILE = "state.json"


def load_state(workdir: Path, fingerprint: dict, logger: logging.Logger, *, chief: bool = True):
    """The state of ``workdir``'s checkpoints, or None (none there, or made with other settings).

    ``state.json`` describes the newest checkpoint at its top level (``epoch``, ``checkpoint``,
    ``history``: the format of a single checkpoint, which older directories have) and the older
    one still kept under ``previous`` (a list of the same three keys)."""
    state_path = workdir / STATE_FILE
    if not state_path.exists():
        return None
    try:
        state = read_json(state_path)
        kept(state)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        why = _one_line(exc)
        aside = _set_aside(state_path) if chief else None
        logger.warning(
            "%s: unreadable checkpoint state (%s); %s, starting afresh",
            state_path,
            why,
            f"set aside as {aside.name}" if aside else "skipped (the chief worker sets it aside)",
        )
        return None
    if state.get("fingerprint") != fingerprint:
        logger.warning("%s: checkpoint was made with other settings; starting afresh", workdir)
        return None
    return state


def kept(state: dict | None) -> list[dict]:
    """The checkpoints that ``state`` keeps, newest first: ``{epoch, checkpoint, history}``."""
    if not state:
        return []
    entries = [state, *state.get("previous", [])]
    return [
        {"epoch": int(e["epoch"]), "checkpoint": str(e["checkpoint"]), "history": list(e["history"])}
        for e in entries
    ]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def unreadable(path: Path) -> str | None:
    """Why the ``.keras`` archive ``path`` cannot be a checkpoint (missing, truncated, a member
    that fails its CRC), or None when it looks whole."""
    if not path.is_file():
        return "file missing"
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = sorted({"config.json", "model.weights.h5"} - names)
            if missing:
                return f"archive lacks {', '.join(missing)}"
            bad = archive.testzip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        return f"not a whole .keras zip archive, {size} bytes: {_one_line(exc)}"
    if bad is not None:
        return f"member {bad} fails its CRC check"
    return None


def _set_aside(path: Path) -> Path:
    """Rename ``path`` to ``<name>.corrupt`` (``.corrupt-2``, ... if taken); never deletes."""
    aside = path.with_name(path.name + ".corrupt")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{n}")
    os.replace(path, aside)
    return aside


def resume_point(workdir: Path, state: dict | None, logger: logging.Logger, *, chief: bool, load):
    """Load the newest readable checkpoint that ``state`` keeps: ``(model, entry)``, or
    ``(None, None)`` when none is left.  Each unreadable one is reported in one warning line and,
    by the chief only, set aside (renamed ``.corrupt``) and dropped from ``state.json``; other
    workers skip it.  The choice depends only on the directory's content, so every worker of a
    multi-worker job makes the same one."""
    entries = kept(state)
    bad: list[tuple[dict, str]] = []
    model, chosen = None, None
    for entry in entries:
        path = workdir / entry["checkpoint"]
        why = unreadable(path)
        if why is None:
            try:
                model = load(path)
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
                why = f"{type(exc).__name__}: {_one_line(exc)}"
        if why is None:
            chosen = entry
            break
        bad.append((entry, why))
    if not bad:
        return model, chosen
    outcome = (
        f"resuming from {chosen['checkpoint']} (epoch {chosen['epoch']})" if chosen else "starting afresh"
    )
    for entry, why in bad:
        path = workdir / entry["checkpoint"]
        if not path.exists():
            aside = "nothing to set aside"
        elif chief:
            aside = f"set aside as {_set_aside(path).name}"
        else:
            aside = "skipped (the chief worker sets it aside)"
        logger.warning("%s: unreadable checkpoint (%s); %s, %s", path, why, aside, outcome)
    if chief:  # state.json keeps only what is left (none left: no state)
        left = entries[entries.index(chosen) :] if chosen else []
        if left:
            write_json(
                {**left[0], "fingerprint": state["fingerprint"], "previous": left[1:]}, workdir / STATE_FILE
            )
        else:
            (workdir / STATE_FILE).unlink(missing_ok=True)
    return model, chosen


def write(model, workdir: Path, epoch: int, history: list[dict], fingerprint: dict) -> None:
    """Save model+optimizer and history; the state file is the atomic commit point.

    The newest two checkpoints are kept (the older one, with its history, under ``previous``
    in ``state.json``), so a newest one that turns out unreadable still leaves one to resume
    from; older ones are deleted once the new state is written."""
    name = f"checkpoint-{epoch:05d}.keras"
    with atomic_path(workdir / name, suffix=".keras") as tmp:
        model.save(tmp)
    try:
        old = read_json(workdir / STATE_FILE)
        earlier = kept(old) if old.get("fingerprint") == fingerprint else []
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        earlier = []
    previous = [
        e
        for e in earlier
        if e["epoch"] < epoch and e["checkpoint"] != name and (workdir / e["checkpoint"]).is_file()
    ][:1]
    state = {
        "epoch": epoch,
        "checkpoint": name,
        "history": list(history),
        "fingerprint": fingerprint,
        "previous": previous,
    }
    write_json(state, workdir / STATE_FILE)
    keep = {name, *(e["checkpoint"] for e in previous)}
    for stale in workdir.glob("checkpoint-*.keras"):
        if stale.name not in keep:
            stale.unlink(missing_ok=True)

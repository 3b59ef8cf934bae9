"""SI650 index sequences: words -> indices, Keras-style pre-padding / pre-truncation, the
sentences cut by it, and ``sequences.nc``."""

from __future__ import annotations

import json
import logging

import numpy as np

from ..cf import flags
from .sources import PAD, UNK

log = logging.getLogger("dlrepro")


def encode(token_lists, index: dict[str, int]) -> list[list[int]]:
    return [[index.get(t, UNK) for t in tokens] for tokens in token_lists]


def pad_sequences(sequences, maxlen: int, padding: str = "pre", truncating: str = "pre", value: int = PAD):
    """``keras.utils.pad_sequences`` semantics for int sequences (int32 array)."""
    if padding not in ("pre", "post") or truncating not in ("pre", "post"):
        raise ValueError("padding and truncating must be 'pre' or 'post'")
    out = np.full((len(sequences), maxlen), value, dtype=np.int32)
    for i, seq in enumerate(sequences):
        if not len(seq) or maxlen == 0:
            continue
        trunc = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        if padding == "pre":
            out[i, maxlen - len(trunc) :] = trunc
        else:
            out[i, : len(trunc)] = trunc
    return out


def input_ids(x: np.ndarray) -> np.ndarray:
    """An id per distinct row of ``x``: identical model inputs share the id."""
    if len(x) == 0:
        return np.zeros(0, dtype=np.int32)
    return np.unique(x, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int32)


def to_dataset(x, labels, lines, attrs: dict, n_tokens=None):
    """Padded index sequences in an xarray Dataset with named dims."""
    import xarray as xr

    x = np.asarray(x, dtype=np.int32)
    ds = xr.Dataset(
        {
            "x": (("sample", "position"), x),
            "label": (("sample",), np.asarray(labels, dtype=np.int8)),
            "line": (("sample",), np.asarray(lines, dtype=np.int32)),
            "input_id": (("sample",), input_ids(x)),
        },
        coords={
            "sample": np.arange(len(x), dtype=np.int32),
            "position": np.arange(x.shape[1], dtype=np.int32),
        },
        attrs={k: _attr(v) for k, v in attrs.items()},
    )
    if n_tokens is not None:
        ds["n_tokens"] = (("sample",), np.asarray(n_tokens, dtype=np.int32))
        ds["n_tokens"].attrs.update(long_name="tokens before padding/truncation")
    ds["x"].attrs.update(long_name="word index (0 = PAD, 1 = UNK)", padding="pre", truncating="pre")
    ds["label"].attrs.update(
        long_name="sentiment", **flags((0, 1), ("negative", "positive"), ds["label"].dtype)
    )
    ds["line"].attrs.update(long_name="line number in the raw file (1-based)")
    ds["input_id"].attrs.update(long_name="id of the distinct padded input (identical inputs share it)")
    return ds


def _attr(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True)
    return value


def longer_than(token_lists, lines, length: int) -> dict:
    """Sentences longer than ``length`` tokens (cut to their last ``length`` by the padding stage,
    Keras 'pre' truncation, as the lecture): ``{sentences, first_line, longest}``."""
    counts = [len(t) for t in token_lists]
    long = [i for i, n in enumerate(counts) if n > length]
    return {
        "sentences": len(long),
        "first_line": int(lines[long[0]]) if long else None,
        "longest": max(counts, default=0),
    }


def warn_truncated(file: str, info: dict, length: int, logger: logging.Logger = log) -> None:
    """The one WARNING line of a file whose sentences longer than ``sequence_length`` are cut."""
    if not info["sentences"]:
        return
    logger.warning(
        "%s: %d sentence(s) longer than config key sentiment.sequence_length (%d tokens) are cut to their "
        "last %d tokens, as the lecture does (first: line %d; longest %d tokens); counted in stats.json "
        "(longer_than_sequence_length)",
        file,
        info["sentences"],
        length,
        length,
        info["first_line"],
        info["longest"],
    )

"""MNIST preprocessing: normalisation to NetCDF (float32 / 255) and the validation split."""

from __future__ import annotations

import numpy as np

from ..cf import flags
from ..errors import DataError


def to_dataset(images: np.ndarray, labels: np.ndarray, attrs: dict):
    """uint8 images → float32 / 255 in an xarray Dataset with named dims."""
    import xarray as xr

    if images.ndim != 3:
        raise DataError(f"MNIST images have shape {images.shape}, expected (sample, row, col)")
    ds = xr.Dataset(
        {
            "image": (("sample", "row", "col"), (images.astype(np.float32) / np.float32(255.0))),
            "label": (("sample",), labels.astype(np.int16)),
        },
        coords={"sample": np.arange(len(labels), dtype=np.int32)},
        attrs={"normalisation": "uint8 / 255 -> float32 in [0, 1]", **attrs},
    )
    ds["image"].attrs.update(long_name="pixel intensity", units="1")
    ds["label"].attrs.update(
        long_name="digit class", **flags(range(10), [f"digit_{d}" for d in range(10)], ds["label"].dtype)
    )
    return ds


VALIDATION_METHODS = ("auto", "tail", "random", "stratified")


def resolve_validation_method(method: str, source_label: str) -> str:
    """``auto``: ``tail`` (Keras' validation_split, the lecture) for real data, ``stratified``
    for stand-in / synthetic data (the embedded subset is sorted by class: its tail holds
    only 8s and 9s)."""
    if method not in VALIDATION_METHODS:
        raise DataError(
            f"config key mnist.validation_method: {method!r}, expected one of {VALIDATION_METHODS}"
        )
    if method == "auto":
        return "tail" if source_label == "real" else "stratified"
    return method


def validation_mask(
    n: int, fraction: float, method: str, seed: int, labels: np.ndarray | None = None
) -> np.ndarray:
    """Boolean mask of validation samples.

    ``tail``: the last ``fraction`` of the samples, as Keras' ``validation_split`` (the
    lecture's behaviour); ``random``: a seeded random subset of the same size;
    ``stratified``: a seeded ``round(fraction * n_c)`` of every class ``c`` (needs ``labels``).
    """
    if not 0.0 <= fraction < 1.0:
        raise DataError(f"config key mnist.validation_fraction: {fraction} not in [0, 1)")
    n_val = int(n * fraction)
    mask = np.zeros(n, dtype=bool)
    if method == "tail":
        # keras: split_at = int(n * (1 - validation_split)); validation is [split_at:]
        mask[int(n * (1.0 - fraction)) :] = True
    elif method == "random":
        mask[np.random.default_rng(seed).choice(n, n_val, replace=False)] = True
    elif method == "stratified":
        if labels is None or len(labels) != n:
            raise ValueError("validation_mask: stratified needs the n labels")
        rng = np.random.default_rng(seed)
        for c in np.unique(labels):
            idx = np.flatnonzero(labels == c)
            mask[rng.choice(idx, int(round(len(idx) * fraction)), replace=False)] = True
    else:
        raise DataError(
            f"config key mnist.validation_method: {method!r}, expected one of {VALIDATION_METHODS[1:]}"
        )
    return mask


def class_counts(labels: np.ndarray, n_classes: int = 10) -> list[int]:
    return np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes).tolist()


def check_split_classes(
    train_labels: np.ndarray, mask: np.ndarray, test_labels: np.ndarray | None = None, method: str = ""
) -> None:
    """A validation part (when there is one) or test part that lacks a class present in
    training is an error naming the label counts per class (never a silent 0 % accuracy)."""
    train_labels = np.asarray(train_labels)
    trained = train_labels[~mask]
    present = set(np.unique(trained).tolist())
    counts = {"training": class_counts(trained)}
    parts = []
    if mask.any():
        parts.append(("validation", train_labels[mask]))
    if test_labels is not None:
        parts.append(("test", np.asarray(test_labels)))
    for name, labels in parts:
        counts[name] = class_counts(labels)
        lacking = sorted(present - set(np.unique(labels).tolist()))
        if lacking:
            detail = "; ".join(f"{k} {v}" for k, v in counts.items())
            hint = (
                " (use config key mnist.validation_method: stratified)"
                if name == "validation" and method != "stratified"
                else ""
            )
            raise DataError(
                f"mnist: the {name} part lacks class(es) {lacking} present in training "
                f"(validation_method {method or '?'}); label counts per class 0-9: {detail}{hint}"
            )

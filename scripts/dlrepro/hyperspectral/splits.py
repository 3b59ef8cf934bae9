"""Training / test splits: stratified random and spatially disjoint."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..errors import ConfigError
from .sources import SPLITS


def train_counts(counts, fraction: float) -> np.ndarray:
    """Training pixels per class: ``fraction`` of each class rounded half up, kept in 1..n-1.

    Exact arithmetic (``0.1 * 95`` is 9.5 and rounds to 10).  Over the Purdue counts
    this gives 1,036 training pixels.
    """
    if not 0 < fraction < 1:
        raise ConfigError(f"config key indian_pines.train_fraction: {fraction}, expected 0 < fraction < 1")
    frac = Fraction(str(fraction))
    out = []
    for n in counts:
        n = int(n)
        k = math.floor(n * frac + Fraction(1, 2))
        if n >= 2:
            k = min(max(k, 1), n - 1)
        out.append(k if n > 0 else 0)
    return np.array(out, dtype=np.int64)


def _class_counts(gt: np.ndarray) -> np.ndarray:
    return np.bincount(gt.ravel(), minlength=int(gt.max()) + 1)[1:]


def random_split(gt: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified random split: ``(train_mask, test_mask)`` over the scene.

    Per class, :func:`train_counts` pixels drawn at random (seeded) for training; every
    other labelled pixel is a test pixel.
    """
    rng = np.random.default_rng(seed)
    train = np.zeros(gt.shape, dtype=bool)
    flat = gt.ravel()
    for c, k in enumerate(train_counts(_class_counts(gt), fraction), start=1):
        idx = np.flatnonzero(flat == c)
        if k:
            train.flat[rng.choice(idx, size=int(k), replace=False)] = True
    return train, (gt > 0) & ~train


def disjoint_split(gt: np.ndarray, fraction: float, seed: int, guard: int) -> tuple[np.ndarray, np.ndarray]:
    """Spatially disjoint split: ``(train_mask, test_mask)``.

    Following Lange, Cavallaro, Götz, Erlingsson, Riedel (IGARSS 2018), the labelled
    pixels of each class are grouped into spatially connected regions (DBSCAN with
    eps = 1 pixel in the Chebyshev metric, i.e. 8-connected components).  Training pixels
    are taken region by region (regions in a seeded random order) as compact blocks: a
    whole region when it fits the class's remaining quota (:func:`train_counts`, the same
    counts as the random split), otherwise the pixels nearest (Chebyshev, then Euclidean
    distance) to the end of the region in a seeded random direction.  A test pixel is
    any other labelled pixel farther than ``guard`` pixels (Chebyshev) from every
    training pixel, so with ``guard >= window // 2`` no test patch contains a training
    pixel (and no training patch a test pixel).  Pixels in the guard band are unused.
    """
    from scipy import ndimage

    if guard < 0:
        raise ConfigError(f"config key indian_pines.disjoint_guard: {guard}, expected >= 0")
    rng = np.random.default_rng(seed)
    train = np.zeros(gt.shape, dtype=bool)
    eight = np.ones((3, 3), dtype=bool)
    for c, need in enumerate(train_counts(_class_counts(gt), fraction), start=1):
        regions, n_regions = ndimage.label(gt == c, structure=eight)
        need = int(need)
        for region in rng.permutation(n_regions) + 1:
            if need <= 0:
                break
            rr, cc = np.nonzero(regions == region)
            if len(rr) <= need:
                train[rr, cc] = True
                need -= len(rr)
                continue
            angle = rng.uniform(0.0, 2.0 * np.pi)
            start = int(np.argmax(rr * np.sin(angle) + cc * np.cos(angle)))
            dy, dx = np.abs(rr - rr[start]), np.abs(cc - cc[start])
            order = np.lexsort((np.arange(len(rr)), dy**2 + dx**2, np.maximum(dy, dx)))[:need]
            train[rr[order], cc[order]] = True
            need = 0
    near = ndimage.binary_dilation(train, structure=np.ones((2 * guard + 1, 2 * guard + 1), dtype=bool))
    return train, (gt > 0) & ~near


def make_split(gt: np.ndarray, method: str, fraction: float, seed: int, guard: int):
    if method == "random":
        return random_split(gt, fraction, seed)
    if method == "disjoint":
        return disjoint_split(gt, fraction, seed, guard)
    raise ConfigError(f"split {method!r}: expected one of {SPLITS}")


def split_dataset(cube, method: str, fraction: float, seed: int, guard: int, window: int):
    """The split as a Dataset: ``train_mask`` / ``test_mask`` (y, x) and per-class counts."""
    import xarray as xr

    gt = cube["ground_truth"].values
    train, test = make_split(gt, method, fraction, seed, guard)
    n_classes = int(gt.max())
    per_train = np.bincount(gt[train], minlength=n_classes + 1)[1:]
    per_test = np.bincount(gt[test], minlength=n_classes + 1)[1:]
    ds = xr.Dataset(
        {
            "train_mask": (("y", "x"), train),
            "test_mask": (("y", "x"), test),
            "n_train": (("class_id",), per_train.astype(np.int32)),
            "n_test": (("class_id",), per_test.astype(np.int32)),
            "class_name": cube["class_name"],
        },
        coords={"y": cube["y"].values, "x": cube["x"].values, "class_id": cube["class_id"].values},
        attrs={
            **cube.attrs,
            "split": method,
            "train_fraction": float(fraction),
            "split_seed": int(seed),
            "window": int(window),
            "disjoint_guard": int(guard) if method == "disjoint" else -1,
            "n_train_total": int(train.sum()),
            "n_test_total": int(test.sum()),
            "n_unused": int(((gt > 0) & ~train & ~test).sum()),
        },
    )
    return ds


def window_overlaps(train_mask: np.ndarray, test_mask: np.ndarray, window: int) -> int:
    """Number of test pixels whose ``window`` patch contains a training pixel."""
    from scipy import ndimage

    counts = ndimage.uniform_filter(train_mask.astype(np.float64), size=window, mode="constant") * window**2
    return int((test_mask & (counts > 0.5)).sum())

"""Synthetic MNIST-like digits (the tiny profile, tests, benchmarks)."""

from __future__ import annotations

import numpy as np


def synthetic_mnist(n: int, seed: int, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """Digit-like images with learnable class structure: each class is a fixed random
    prototype of blobs; samples are shifted, noisy copies of it (uint8, like MNIST)."""
    rng = np.random.default_rng(seed)
    proto_rng = np.random.default_rng(12345)  # the same classes in train and test
    yy, xx = np.mgrid[0:size, 0:size]
    prototypes = np.zeros((10, size, size))
    for c in range(10):
        for _ in range(4):
            cy, cx = proto_rng.uniform(6, size - 6, 2)
            sigma = proto_rng.uniform(1.5, 3.5)
            prototypes[c] += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))
        prototypes[c] /= prototypes[c].max()
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = prototypes[labels]
    shifts = rng.integers(-2, 3, size=(n, 2))
    for i, (dy, dx) in enumerate(shifts):
        images[i] = np.roll(images[i], (dy, dx), axis=(0, 1))
    images = images * 230 + rng.normal(0, 25, images.shape)
    return np.clip(images, 0, 255).astype(np.uint8), labels

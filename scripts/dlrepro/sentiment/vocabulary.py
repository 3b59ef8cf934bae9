"""SI650 vocabulary: the ``max_features`` most frequent words (PAD 0, UNK 1), ``vocab.tsv``."""

from __future__ import annotations

import collections
from dataclasses import dataclass

from ..errors import DataError
from ..io import write_csv
from .sources import PAD, PAD_TOKEN, UNK, UNK_TOKEN


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
    write_csv(vocab.to_frame(), path, sep="\t")


def read_vocabulary(path) -> Vocabulary:
    import pandas as pd

    df = pd.read_csv(path, sep="\t", dtype={"word": str}, keep_default_na=False, na_filter=False)
    return Vocabulary.from_frame(df)

"""A synthetic corpus in SI650's format: sentences with a learnable sentiment word, exact
duplicates, long sentences and non-ASCII bytes (the tiny profile, tests, benchmarks)."""

from __future__ import annotations

import numpy as np

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

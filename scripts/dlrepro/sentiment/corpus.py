"""SI650 raw files read: ``label<TAB>sentence`` records (training.txt) and unlabelled lines
(testdata.txt), with the one-line warnings about dropped non-ASCII bytes.

Input policy (``parse_labelled``): each line is ``label<TAB>sentence`` after stripping
surrounding whitespace, as the lecture reads it (``line.strip().split("\\t")``).  The
sentence bytes are decoded as the lecture does, ASCII with ``errors="ignore"`` (non-ASCII
bytes are dropped and the lines concerned are counted).  A line that cannot be parsed
(empty, no tab or more than one tab, label not ``0``/``1``) stops the run with a one-line
error naming file and line, unless ``on_malformed="skip"``: then such lines are skipped,
logged and counted, and the count is carried into every output and the table.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, DataError
from ..validation import check_classes, check_text_lines
from .sources import LABEL_NAMES, ON_MALFORMED

log = logging.getLogger("dlrepro")


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

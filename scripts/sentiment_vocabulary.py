"""Exploratory statistics and the vocabulary of the most frequent words (PAD 0, UNK 1)."""

from dlrepro.io import read_json, write_json
from dlrepro.lecture import SI650
from dlrepro.runner import run
from dlrepro.sentiment import (
    LABELLED_FILE,
    TEST_FILE,
    build_vocabulary,
    longer_than,
    warn_truncated,
    write_vocabulary,
)


def main(snakemake, log):
    p = snakemake.params
    tokens = read_json(snakemake.input[0])
    vocab = build_vocabulary(tokens["records"]["tokens"], p.max_features, tokens["records"]["line"])
    stats = tokens["stats"]
    log.info(
        "longest sentence %d tokens (lecture %d), %d distinct words (lecture %d); "
        "vocabulary %d words + PAD + UNK = %d, %d token(s) map to UNK",
        stats["maxlen"],
        SI650["maxlen"],
        stats["distinct_words"],
        SI650["distinct_words"],
        len(vocab.words),
        vocab.size,
        vocab.unk_count,
    )
    # sentences the padding stage cuts to sequence_length (the lecture's behaviour, told once per file)
    records, testdata = tokens["records"], tokens["testdata"]
    longer = {LABELLED_FILE: longer_than(records["tokens"], records["line"], p.sequence_length)}
    if testdata.get("present"):
        test_tokens = testdata["tokens"]
        longer[TEST_FILE] = longer_than(test_tokens, range(1, len(test_tokens) + 1), p.sequence_length)
    for name, info in longer.items():
        warn_truncated(name, info, p.sequence_length, log)
    write_vocabulary(vocab, snakemake.output.vocab)
    write_json(
        {
            key: tokens[key]
            for key in ("dataset", "source", "source_label", "raw_file", "raw_sha256", "raw_variant")
        }
        | {
            "parse": tokens["parse"],
            "tokenizer": tokens["tokenizer"],
            "tokenizer_comparison": tokens["tokenizer_comparison"],
            **stats,
            "max_features": p.max_features,
            "vocab_size": vocab.size,
            "unk_tokens": vocab.unk_count,
            "sequence_length": p.sequence_length,
            "testdata_lines": tokens["testdata"].get("lines", 0),
            "testdata_lines_with_dropped_bytes": tokens["testdata"].get("lines_with_dropped_bytes", 0),
            "longer_than_sequence_length": longer,
            "lecture": SI650,
        },
        snakemake.output.stats,
    )


run(main, snakemake)  # noqa: F821

"""Exploratory statistics and the vocabulary of the most frequent words (PAD 0, UNK 1)."""

from dlrepro.io import read_json, write_json
from dlrepro.lecture import SI650
from dlrepro.runner import run
from dlrepro.sentiment import build_vocabulary, write_vocabulary


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
            "lecture": SI650,
        },
        snakemake.output.stats,
    )


run(main, snakemake)  # noqa: F821

"""Parse SI650's training.txt (stated malformed-line policy) and tokenise it with NLTK.

Also tokenises Kaggle's unlabelled testdata.txt when the download rule obtained it, and
records distinct words / longest sentence under every available tokeniser (table notes).
"""

import json
from pathlib import Path

from dlrepro.io import read_json, write_text
from dlrepro.runner import run
from dlrepro.sentiment import (
    LABELLED_FILE,
    TEST_FILE,
    compare_tokenizers,
    corpus_stats,
    make_tokenizer,
    parse_labelled,
    raw_variant,
    read_unlabelled,
)
from dlrepro.validation import read_raw


def main(snakemake, log):
    p = snakemake.params
    manifest = read_json(snakemake.input.manifest)
    # the bytes parsed must be the ones the fetch recorded; their sha256 is what is recorded
    data, raw_sha256 = read_raw(snakemake.input.raw, manifest)
    corpus = parse_labelled(snakemake.input.raw, p.on_malformed, log, data=data)
    summary = corpus.parse_summary(p.on_malformed)
    log.info(
        "%s: %d lines, %d records (label 1: %s, 0: %s), %d malformed line(s) skipped, "
        "%d line(s) with non-ASCII bytes dropped (source %s, %s)",
        LABELLED_FILE,
        corpus.n_lines,
        len(corpus.labels),
        summary["label_counts"]["1"],
        summary["label_counts"]["0"],
        summary["skipped_lines"],
        corpus.lines_with_dropped_bytes,
        manifest["source"],
        manifest["label"],
    )
    tok = make_tokenizer(p.sentence_splitter, p.word_tokenizer, corpus.sentences, log)
    tokens = [tok.tokenize(s) for s in corpus.sentences]
    stats = corpus_stats(tokens)
    log.info(
        "tokeniser %s: %d distinct words, longest sentence %d tokens",
        tok.name,
        stats["distinct_words"],
        stats["maxlen"],
    )
    testdata = {"present": False}
    test_path = Path(snakemake.input.raw).parent / TEST_FILE
    if TEST_FILE in manifest["files"] and test_path.is_file():
        test_bytes, test_sha256 = read_raw(test_path, manifest)
        sentences, dropped = read_unlabelled(test_path, test_bytes, log)  # a WARNING when bytes dropped
        testdata = {
            "present": True,
            "file": TEST_FILE,
            "sha256": test_sha256,
            "lines": len(sentences),
            "lines_with_dropped_bytes": dropped,
            "tokens": [tok.tokenize(s) for s in sentences],
        }
        log.info("%s: %d unlabelled sentences tokenised", TEST_FILE, len(sentences))
    else:
        log.info("%s not available: no Kaggle submission will be written", TEST_FILE)
    result = {
        "dataset": "si650",
        "source": manifest["source"],
        "source_label": manifest["label"],
        "raw_file": LABELLED_FILE,
        "raw_sha256": raw_sha256,
        "raw_variant": raw_variant(manifest),
        "parse": summary,
        "tokenizer": tok.describe(),
        "tokenizer_comparison": compare_tokenizers(corpus.sentences, log),
        "stats": stats,
        "records": {"line": corpus.lines, "label": corpus.labels, "tokens": tokens},
        "testdata": testdata,
    }
    write_text(json.dumps(result, separators=(",", ":")) + "\n", snakemake.output[0])


run(main, snakemake)  # noqa: F821

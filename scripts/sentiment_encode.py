"""Index sequences padded/truncated to a fixed length (Keras 'pre' semantics) as NetCDF."""

import numpy as np

from dlrepro.io import read_json, write_netcdf
from dlrepro.runner import run
from dlrepro.sentiment import PAD, UNK, encode, pad_sequences, read_vocabulary, to_dataset


def main(snakemake, log):
    length = snakemake.params.sequence_length
    tokens = read_json(snakemake.input.tokens)
    vocab = read_vocabulary(snakemake.input.vocab)
    sequences = encode(tokens["records"]["tokens"], vocab.index)
    x = pad_sequences(sequences, length)
    n_tokens = np.array([len(s) for s in sequences])
    attrs = {
        "dataset": "si650",
        "source": tokens["source"],
        "source_label": tokens["source_label"],
        "raw_files": tokens["raw_file"],
        "raw_sha256": f"{tokens['raw_file']}={tokens['raw_sha256']}",
        "raw_variant": tokens["raw_variant"],
        "tokenizer": tokens["tokenizer"]["name"],
        "tokenizer_description": tokens["tokenizer"]["description"],
        "on_malformed": tokens["parse"]["on_malformed"],
        "skipped_lines": tokens["parse"]["skipped_lines"],
        "vocab_size": vocab.size,
        "sequence_length": length,
        "padding": "pre",
        "truncating": "pre",
        "pad_index": PAD,
        "unk_index": UNK,
    }
    ds = to_dataset(x, tokens["records"]["label"], tokens["records"]["line"], attrs, n_tokens=n_tokens)
    log.info(
        "%d sequences of length %d: %d truncated, %d distinct inputs, %.1f %% UNK tokens (%s data)",
        len(x),
        length,
        int((n_tokens > length).sum()),
        len(np.unique(ds.input_id.values)),
        100.0 * sum(s.count(UNK) for s in sequences) / max(1, int(n_tokens.sum())),
        tokens["source_label"],
    )
    write_netcdf(ds, snakemake.output[0])


run(main, snakemake)  # noqa: F821

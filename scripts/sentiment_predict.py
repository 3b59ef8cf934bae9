"""Kaggle submission for testdata.txt: one 0/1 prediction per line."""

from dlrepro import training
from dlrepro.errors import DataError
from dlrepro.io import read_json, write_text
from dlrepro.runner import run
from dlrepro.sentiment import encode, pad_sequences, predict_labels, read_vocabulary, submission_text


def main(snakemake, log):
    import keras  # after dlrepro.runner has chosen the backend

    training.configure_threads(snakemake.threads)
    tokens = read_json(snakemake.input.tokens)
    testdata = tokens["testdata"]
    if not testdata.get("present"):
        raise DataError(f"{snakemake.input.tokens}: no testdata.txt tokens (the file was not obtained)")
    vocab = read_vocabulary(snakemake.input.vocab)
    model = keras.models.load_model(snakemake.input.model)
    x = pad_sequences(encode(testdata["tokens"], vocab.index), snakemake.params.sequence_length)
    predicted = predict_labels(model, x)
    log.info(
        "%d testdata sentences: %d predicted positive (%.1f %%), model %s (%s data)",
        len(predicted),
        int(predicted.sum()),
        100.0 * predicted.mean() if len(predicted) else 0.0,
        snakemake.input.model,
        tokens["source_label"],
    )
    write_text(submission_text(predicted), snakemake.output[0])


run(main, snakemake)  # noqa: F821

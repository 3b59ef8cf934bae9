"""Unit tests: IDX parsing, normalisation, validation split, the lecture's models."""

import gzip
import struct

import numpy as np
import pytest

from dlrepro import mnist
from dlrepro.errors import DataError


def test_idx_roundtrip(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = np.arange(7, dtype=np.uint8)
    mnist.write_idx(images, tmp_path / "i.gz")
    mnist.write_idx(labels, tmp_path / "l.gz")
    np.testing.assert_array_equal(mnist.read_idx(tmp_path / "i.gz"), images)
    np.testing.assert_array_equal(mnist.read_idx(tmp_path / "l.gz"), labels)
    # header is big-endian magic 0x00000803 then the three dimensions
    with gzip.open(tmp_path / "i.gz", "rb") as fh:
        assert struct.unpack(">4I", fh.read(16)) == (0x803, 7, 28, 28)


def test_idx_rejects_bad_magic(tmp_path):
    path = tmp_path / "bad.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(struct.pack(">II", 0x0D03, 1) + b"\0")
    with pytest.raises(DataError, match=r"bad.gz: IDX magic 0x00000d03"):
        mnist.read_idx(path)


def test_idx_rejects_truncated_payload(tmp_path):
    path = tmp_path / "short.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(struct.pack(">IIII", 0x803, 2, 28, 28) + bytes(28 * 28))
    with pytest.raises(DataError, match=r"short.gz: IDX payload has 784 bytes, expected 1568"):
        mnist.read_idx(path)


def test_idx_rejects_non_gzip(tmp_path):
    path = tmp_path / "plain.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="plain.gz: not a readable gzip IDX file"):
        mnist.read_idx(path)


def test_load_part_checks_lengths(tmp_path):
    mnist.write_idx(np.zeros((3, 28, 28), np.uint8), tmp_path / mnist.PARTS["test"][0])
    mnist.write_idx(np.zeros(4, np.uint8), tmp_path / mnist.PARTS["test"][1])
    with pytest.raises(DataError, match="4 labels for 3 images"):
        mnist.load_part(tmp_path, "test")


def test_normalisation_to_float32_netcdf(tmp_path):
    from dlrepro.io import open_netcdf, write_netcdf

    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    ds = mnist.to_dataset(images, np.array([3]), {"source_label": "synthetic"})
    assert ds.image.dims == ("sample", "row", "col")
    assert ds.image.dtype == np.float32
    np.testing.assert_allclose(ds.image.values[0], [[0, 1], [0.2, 0.4]], rtol=1e-6)
    write_netcdf(ds, tmp_path / "x.nc")
    back = open_netcdf(tmp_path / "x.nc")
    assert back.attrs["source_label"] == "synthetic"
    np.testing.assert_array_equal(back.image.values, ds.image.values)
    assert back.label.values.tolist() == [3]


def test_validation_split_tail_is_keras_semantics():
    mask = mnist.validation_mask(60000, 0.2, "tail", seed=0)
    assert mask.sum() == 12000
    assert not mask[:48000].any() and mask[48000:].all()


def test_validation_split_random_is_reproducible():
    a = mnist.validation_mask(1000, 0.2, "random", seed=3)
    b = mnist.validation_mask(1000, 0.2, "random", seed=3)
    c = mnist.validation_mask(1000, 0.2, "random", seed=4)
    assert a.sum() == 200
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_validation_split_stratified_takes_the_fraction_of_every_class():
    labels = np.repeat(np.arange(10), [100, 50, 80, 120, 100, 100, 100, 100, 90, 110])
    a = mnist.validation_mask(len(labels), 0.2, "stratified", seed=1, labels=labels)
    b = mnist.validation_mask(len(labels), 0.2, "stratified", seed=1, labels=labels)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, mnist.validation_mask(len(labels), 0.2, "stratified", seed=2, labels=labels))
    counts = np.bincount(labels[a], minlength=10)
    assert counts.tolist() == [20, 10, 16, 24, 20, 20, 20, 20, 18, 22]


def test_validation_method_auto_is_tail_for_real_and_stratified_otherwise():
    assert mnist.resolve_validation_method("auto", "real") == "tail"
    assert mnist.resolve_validation_method("auto", "stand-in") == "stratified"
    assert mnist.resolve_validation_method("auto", "synthetic") == "stratified"
    assert mnist.resolve_validation_method("random", "stand-in") == "random"
    with pytest.raises(DataError, match="mnist.validation_method"):
        mnist.resolve_validation_method("middle", "real")


def test_sorted_labels_tail_split_is_an_error_naming_the_counts():
    labels = np.repeat(np.arange(10), 40)  # sorted by class, as the embedded subset
    mask = mnist.validation_mask(len(labels), 0.2, "tail", seed=0)
    with pytest.raises(DataError) as err:
        mnist.check_split_classes(labels, mask, labels, "tail")
    message = str(err.value)
    assert "validation part lacks class(es) [0, 1, 2, 3, 4, 5, 6, 7]" in message
    assert "validation [0, 0, 0, 0, 0, 0, 0, 0, 40, 40]" in message
    assert "training [40, 40, 40, 40, 40, 40, 40, 40, 0, 0]" in message
    assert "validation_method: stratified" in message


def test_test_part_lacking_a_class_is_an_error():
    labels = np.repeat(np.arange(10), 10)
    mask = mnist.validation_mask(len(labels), 0.2, "stratified", seed=0, labels=labels)
    mnist.check_split_classes(labels, mask, labels, "stratified")  # complete: no error
    with pytest.raises(DataError, match=r"the test part lacks class\(es\) \[9\]"):
        mnist.check_split_classes(labels, mask, labels[labels != 9], "stratified")
    # no validation part at all (fraction 0): only the test part is checked
    mnist.check_split_classes(labels, np.zeros(len(labels), dtype=bool), labels, "tail")


def test_embedded_subset_auto_split_holds_every_class(tmp_path):
    from dlrepro.acquire import acquire
    from dlrepro.datasets import get_spec

    acquire(get_spec("mnist"), tmp_path, source="embedded")
    _, labels = mnist.load_part(tmp_path, "train")
    _, test_labels = mnist.load_part(tmp_path, "test")
    method = mnist.resolve_validation_method("auto", "stand-in")
    mask = mnist.validation_mask(len(labels), 0.2, method, seed=0, labels=labels)
    assert np.bincount(labels[mask], minlength=10).tolist() == [80] * 10
    mnist.check_split_classes(labels, mask, test_labels, method)
    with pytest.raises(DataError, match="validation part lacks"):  # the tail split
        mnist.check_split_classes(
            labels, mnist.validation_mask(len(labels), 0.2, "tail", 0), test_labels, "tail"
        )


def test_validation_split_rejects_bad_method():
    with pytest.raises(DataError, match="mnist.validation_method"):
        mnist.validation_mask(10, 0.2, "middle", seed=0)


@pytest.mark.parametrize(
    ("name", "optimizer", "params"),
    [("perceptron", "sgd", 7_850), ("mlp", "sgd", 118_282), ("lenet", "adam", 1_256_080)],
)
def test_model_parameter_counts_equal_the_lecture(name, optimizer, params):
    model = mnist.build_model(name, optimizer)
    assert model.count_params() == params
    assert model.output_shape == (None, 10)


def test_synthetic_data_has_mnist_shape_and_all_classes():
    images, labels = mnist.synthetic_mnist(500, seed=1)
    assert images.shape == (500, 28, 28) and images.dtype == np.uint8
    assert set(labels.tolist()) == set(range(10))
    # same class prototypes in train and test: class means differ between classes
    means = np.stack([images[labels == c].mean(axis=0) for c in range(10)])
    assert np.abs(means[0] - means[1]).mean() > 10


def test_mnist_table_rows_and_labels():
    runs = [
        {
            "model": "mlp",
            "epochs": 20,
            "epochs_requested": 20,
            "seed": s,
            "accuracy": a,
            "source_label": "real",
            "parameters": 118282,
        }
        for s, a in ((1, 0.95), (2, 0.96))
    ]
    df, notes = mnist.mnist_table(runs)
    row = df.iloc[0]
    assert row["our_accuracy_pct"] == "95.50 ± 0.71 (n=2)"
    assert row["lecture_accuracy_pct"] == 95.14
    assert row["difference_pts"] == pytest.approx(0.36)
    assert row["data_source"] == "real"

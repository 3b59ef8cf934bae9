"""Content validation and honest provenance (unit tests): finite values, agreeing shapes, two
classes or more, IDX / SI650 / text structure, raw files re-checked against the sha256 their
fetch recorded, your own data (``source: user``) labelled ``user`` into every table, unique
seeds."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re

import numpy as np
import pytest
import yaml
from test_availability import TOLERANCES  # the config tolerances shared by the report tests

from conftest import REPO
from dlrepro import mnist
from dlrepro import sentiment as S
from dlrepro import validation as V
from dlrepro.acquire import acquire
from dlrepro.config import check_config, check_user_paths
from dlrepro.datasets import get_spec, known_status
from dlrepro.errors import ConfigError, DataError
from dlrepro.report import reproduction as R
from dlrepro.tables import combine_labels

LOG = logging.getLogger("test-validation")
SCHEMA = REPO / "schemas" / "config.schema.yaml"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- generic checks


def test_check_finite_names_file_and_counts():
    cube = np.ones((145, 145, 200), np.float32)
    cube[3, 4, 5] = np.nan
    cube[10, 0, :24] = np.nan
    cube[0, 0, 0] = np.inf
    with pytest.raises(DataError) as err:
        V.check_finite(cube, "resources/indian_pines/Indian_pines_corrected.mat")
    assert str(err.value) == (
        "resources/indian_pines/Indian_pines_corrected.mat: 26 non-finite values (25 NaN, 1 inf) of 4205000 "
        "in an array of shape (145, 145, 200), first at index (0, 0, 0); expected finite numbers"
    )
    V.check_finite(np.arange(5), "ints.npy")  # integers cannot hold NaN
    V.check_finite(np.ones(3), "fine.npy")


def test_check_same_shape_names_both_files():
    with pytest.raises(DataError) as err:
        V.check_same_shape((145, 145, 200), "d/cube.mat", (100, 145), "d/92AV3GT.GIS", "size", axes=(0, 1))
    assert (
        str(err.value)
        == "d/92AV3GT.GIS: size (100, 145) does not match size (145, 145) of d/cube.mat; expected the same"
    )
    V.check_same_shape((5, 28, 28), "a.nc", (9, 28, 28), "b.nc", "image size", axes=(1, 2))


def test_check_classes_one_class_is_an_error_imbalance_a_warning(caplog):
    with pytest.raises(DataError) as err:
        V.check_classes([1] * 7086, "resources/si650/training.txt", names=S.LABEL_NAMES)
    assert str(err.value) == (
        "resources/si650/training.txt: only class 1 (positive): 7086 in 7086 label(s); "
        "a classifier needs at least two classes"
    )
    with pytest.raises(DataError, match=r"^gt.GIS: no labels in 0 label\(s\)"):
        V.check_classes(np.zeros((4, 4), np.uint8), "gt.GIS", ignore=[0])
    with caplog.at_level(logging.WARNING):
        counts = V.check_classes([1] * 95 + [0] * 5, "t.txt", names=S.LABEL_NAMES, logger=LOG)
    assert counts == {0: 5, 1: 95}
    assert (
        "t.txt: extreme class imbalance: 95.0 % of 100 labels are class 1 (positive) "
        "(counts 0 (negative): 5, 1 (positive): 95)"
    ) in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        V.check_classes([1] * 55 + [0] * 45, "t.txt", logger=LOG)
    assert caplog.text == ""


def test_text_lines_reject_binary_and_non_utf8():
    with pytest.raises(DataError) as err:
        V.check_text_lines(b"fine\nok\n\x8f\x00\x13\xfa", "resources/si650/testdata.txt")
    assert str(err.value) == (
        "resources/si650/testdata.txt: line 3: control byte 0x00 - binary data, not a text file "
        "(expected one sentence per line)"
    )
    with pytest.raises(DataError) as err:
        V.check_text_lines(b"fine\ncaf\xe9\n", "testdata.txt")
    assert str(err.value) == (
        "testdata.txt: line 2: not valid UTF-8 text (byte 0xe9 at column 4); expected one sentence per line"
    )
    assert V.check_text_lines(b"a\tb\r\ncaf\xc3\xa9\n\n", "t") == ["a\tb\r", "caf\u00e9", ""]


def test_random_bytes_as_testdata_are_refused(tmp_path):
    path = tmp_path / "testdata.txt"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(
        DataError, match=rf"^{re.escape(str(path))}: line \d+: (control byte|not valid UTF-8)"
    ):
        S.read_unlabelled(path)


# --------------------------------------------------------------------------- provenance


def _synthetic_mnist(tmp_path):
    dest = tmp_path / "resources" / "mnist"
    manifest = acquire(
        get_spec("mnist"), dest, source="synthetic", synthetic_options={"n_train": 200, "n_test": 50}
    )
    return dest, manifest


def test_replaced_raw_file_is_refused_never_labelled(tmp_path):
    dest, manifest = _synthetic_mnist(tmp_path)
    images, labels, read = mnist.load_part(dest, "train", manifest)
    assert read == {name: manifest["files"][name]["sha256"] for name in mnist.PARTS["train"]}
    # the labels shuffled: a valid IDX file, but not the one the fetch recorded
    labels_path = dest / mnist.PARTS["train"][1]
    mnist.write_idx(np.random.default_rng(1).permutation(labels), labels_path)
    actual = sha(labels_path.read_bytes())
    with pytest.raises(DataError) as err:
        mnist.load_part(dest, "train", manifest)
    expected = manifest["files"][labels_path.name]["sha256"]
    assert str(err.value) == (
        f"{labels_path}: changed after it was fetched: sha256 {actual}, expected {expected} (recorded for "
        f"synthetic data in manifest.json); not used - delete {dest} and rerun to fetch it again, or use your "
        "own files with config datasets.mnist.source: user and datasets.mnist.path (docs/data.md: Using your own data)"
    )
    assert "\n" not in str(err.value)


def test_a_file_the_manifest_does_not_list_is_refused(tmp_path):
    dest, manifest = _synthetic_mnist(tmp_path)
    del manifest["files"]["t10k-images-idx3-ubyte.gz"]
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz: not recorded in .*manifest.json"):
        mnist.load_part(dest, "test", manifest)


def test_raw_provenance_records_the_bytes_read():
    attrs = V.raw_provenance({"source": "mirror", "label": "real"}, {"b.gz": "22", "a.gz": "11"})
    assert attrs == {
        "source": "mirror",
        "source_label": "real",
        "raw_files": "a.gz, b.gz",
        "raw_sha256": "a.gz=11, b.gz=22",
    }


# --------------------------------------------------------------------------- MNIST content


def test_idx_header_and_shape_errors(tmp_path):
    path = tmp_path / "zero.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"\x00\x00\x08\x00" + bytes(4))
    with pytest.raises(DataError, match=r"zero.gz: IDX header declares 0 dimensions; expected 1 to 3"):
        mnist.read_idx(path)
    mnist.write_idx(np.zeros((3, 28, 28), np.uint8), tmp_path / mnist.PARTS["test"][0])
    mnist.write_idx(np.zeros((3, 2), np.uint8), tmp_path / mnist.PARTS["test"][1])
    with pytest.raises(
        DataError, match=r"t10k-labels-idx1-ubyte.gz: IDX labels of shape \(3, 2\), expected \(n,\)$"
    ):
        mnist.load_part(tmp_path, "test")
    mnist.write_idx(np.zeros(4, np.uint8), tmp_path / mnist.PARTS["test"][1])
    with pytest.raises(DataError) as err:
        mnist.load_part(tmp_path, "test")
    labels, images = (str(tmp_path / n) for n in reversed(mnist.PARTS["test"]))
    assert str(err.value) == f"{labels}: 4 labels for 3 images in {images}"


def test_mnist_labels_of_one_class_are_refused(tmp_path):
    mnist.write_idx(np.zeros((5, 28, 28), np.uint8), tmp_path / mnist.PARTS["train"][0])
    mnist.write_idx(np.full(5, 7, np.uint8), tmp_path / mnist.PARTS["train"][1])
    with pytest.raises(DataError) as err:
        mnist.load_part(tmp_path, "train")
    assert str(err.value) == (
        f"{tmp_path / mnist.PARTS['train'][1]}: only class 7: 5 in 5 label(s); a classifier needs at least two classes"
    )


# --------------------------------------------------------------------------- SI650 content


def test_si650_with_every_label_1_is_refused(tmp_path):
    path = tmp_path / "training.txt"
    path.write_bytes(b"1\tI love it.\n1\tgreat\n1\tawesome movie\n")
    with pytest.raises(DataError) as err:
        S.parse_labelled(path)
    assert (
        str(err.value)
        == f"{path}: only class 1 (positive): 3 in 3 label(s); a classifier needs at least two classes"
    )


def test_si650_binary_sentence_names_file_and_line(tmp_path):
    path = tmp_path / "training.txt"
    path.write_bytes(b"1\tgood\n0\tba\x00d\n")
    with pytest.raises(DataError) as err:
        S.parse_labelled(path)
    assert str(err.value) == (
        f"{path}: line 2: malformed (control byte 0x00 in the sentence (binary data, not text)); expected "
        "'label<TAB>sentence' with label 0 or 1 - fix the file or set config key sentiment.on_malformed: skip"
    )


# --------------------------------------------------------------------------- your own data


def _user_mnist(directory, n=60, gzipped=True):
    directory.mkdir(parents=True, exist_ok=True)
    for part, seed in (("train", 3), ("test", 4)):
        images, labels = mnist.synthetic_mnist(n, seed)
        for name, array in zip(mnist.PARTS[part], (images, labels), strict=True):
            mnist.write_idx(array, directory / name)
            if not gzipped:
                (directory / name.removesuffix(".gz")).write_bytes(
                    gzip.decompress((directory / name).read_bytes())
                )
                (directory / name).unlink()
    return directory


def test_user_mnist_files_are_labelled_user(tmp_path):
    own = _user_mnist(tmp_path / "own", gzipped=False)  # plain IDX files are accepted too
    dest = tmp_path / "resources" / "mnist"
    manifest = acquire(get_spec("mnist"), dest, source="user", user_path=own)
    assert manifest["label"] == "user" and manifest["source"] == "user"
    entry = manifest["files"]["t10k-labels-idx1-ubyte.gz"]
    assert entry["origin"] == str(own / "t10k-labels-idx1-ubyte") and entry["canonical"] is False
    images, labels, read = mnist.load_part(dest, "test", manifest)
    assert images.shape == (60, 28, 28)
    np.testing.assert_array_equal(labels, mnist.synthetic_mnist(60, 4)[1])
    assert read["t10k-labels-idx1-ubyte.gz"] == entry["sha256"]


def test_user_path_errors_name_the_key(tmp_path):
    own = _user_mnist(tmp_path / "own")
    (own / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as err:
        acquire(get_spec("mnist"), tmp_path / "out", source="user", user_path=own)
    assert str(err.value) == (
        f"config key datasets.mnist.path: {own} lacks t10k-labels-idx1-ubyte.gz (expected train-images-idx3-ubyte.gz, "
        "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz)"
    )
    with pytest.raises(
        DataError, match=r"^config key datasets.mnist.path: .*own/x.txt is a file; expected a directory"
    ):
        (own / "x.txt").write_text("x")
        acquire(get_spec("mnist"), tmp_path / "out", source="user", user_path=own / "x.txt")


def test_user_si650_file_any_name(tmp_path):
    own = tmp_path / "my_reviews.tsv"
    own.write_bytes(b"1\tI love it.\n0\tboring\n")
    manifest = acquire(get_spec("si650"), tmp_path / "si650", source="user", user_path=own)
    assert manifest["label"] == "user" and set(manifest["files"]) == {"training.txt"}
    assert not (tmp_path / "si650" / "testdata.txt").exists()
    data, digest = V.read_raw(tmp_path / "si650" / "training.txt", manifest)
    assert digest == sha(own.read_bytes()) and S.parse_labelled(own, data=data).labels == [1, 0]
    status = known_status("si650", "user", {"path": str(own)})
    assert status["available"] is True and status["label"] == "user"


def _config():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_user_source_in_the_schema_and_path_checked(tmp_path):
    config = _config()
    config["datasets"]["mnist"] = {"source": "user", "path": str(tmp_path / "absent")}
    check_config(config, SCHEMA)
    with pytest.raises(ConfigError) as err:
        check_user_paths(config)
    assert (
        str(err.value)
        == f"config key datasets.mnist.path: {tmp_path / 'absent'} does not exist (datasets.mnist.source: user)"
    )
    config["datasets"]["mnist"] = {"source": "user"}
    with pytest.raises(
        ConfigError, match=r"^config key datasets.mnist.path: not set; datasets.mnist.source: user needs"
    ):
        check_user_paths(config)
    config["datasets"]["mnist"] = {"source": "auto", "path": str(tmp_path)}
    with pytest.raises(
        ConfigError, match=r"is only used with datasets.mnist.source: user \(source is auto\)$"
    ):
        check_user_paths(config)
    config["datasets"]["mnist"] = {"source": "user", "path": str(tmp_path)}
    check_user_paths(config)
    config["datasets"]["indian_pines"]["source"] = "user"  # a user's own scene (docs/data.md: Scenes)
    check_config(config, SCHEMA)
    with pytest.raises(
        ConfigError,
        match=r"^config key datasets.indian_pines.path: not set; datasets.indian_pines.source: user needs",
    ):
        check_user_paths(config)
    config["datasets"]["indian_pines"]["source"] = "nonsense"
    with pytest.raises(
        ConfigError, match=r"^invalid config key 'datasets.indian_pines.source': 'nonsense' is not one of"
    ):
        check_config(config, SCHEMA)


def test_user_rows_are_labelled_and_never_judged():
    runs = {
        "mnist": [
            {
                "model": "perceptron",
                "epochs": 20,
                "epochs_requested": 20,
                "seed": s,
                "source_label": "user",
                "accuracy": 0.91,
                "parameters": 7850,
                "n": 10_000,
                "labels": list(range(10)),
                "confusion_matrix": [[1000 if i == j else 0 for j in range(10)] for i in range(10)],
            }
            for s in (1, 2)
        ]
    }
    df, notes = R.reproduction_table(runs, TOLERANCES, {"mnist": True})
    row = df[(df.model == "perceptron") & (df.setting == "20 epochs")].iloc[0]
    assert row["data_source"] == "user"
    assert row["within_tolerance"] == "n/a (user data: your own files, not judged against the lecture)"
    assert any(n.startswith("Rows labelled user (MNIST) were computed from your own files") for n in notes)
    assert combine_labels(["real", "user"]) == "user"
    assert combine_labels(["real", "weird"]) == "unknown"
    table, mnist_notes = mnist.mnist_table(runs["mnist"])
    assert table["data_source"].tolist() == ["user"]
    assert any(n.startswith("user: computed from your own files") for n in mnist_notes)


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("key", "seeds", "message"),
    [
        (
            "seeds",
            [1, 1],
            "invalid config key 'seeds.1': 1 repeats 'seeds.0'; each must be unique (a repeat would count the same run twice)",
        ),
        (
            "seeds",
            [1, 2, 3, 2],
            "invalid config key 'seeds.3': 2 repeats 'seeds.1'; each must be unique (a repeat would count the same run twice)",
        ),
        ("seeds", ["x", -1], "invalid config key 'seeds.0': 'x' is not of type 'integer'"),
        ("seeds", [-1, "x"], "invalid config key 'seeds.0': -1 is less than the minimum of 0"),
        (
            "mnist",
            [3, 3],
            "invalid config key 'mnist.seeds.1': 3 repeats 'mnist.seeds.0'; each must be unique (a repeat would count the same run twice)",
        ),
    ],
)
def test_seeds_unique_and_first_bad_element_named(key, seeds, message):
    config = _config()
    if key == "mnist":
        config["mnist"]["seeds"] = seeds
    else:
        config["seeds"] = seeds
    with pytest.raises(ConfigError) as err:
        check_config(config, SCHEMA)
    assert str(err.value) == message


# --------------------------------------------------------------------------- a real workflow run


@pytest.mark.workflow
def test_rerun_after_replacing_a_raw_file_is_refused_then_kept_as_user_data(workflow, tmp_path):
    """Tiny profile, MNIST normalisation only: a raw file replaced in resources/ after the
    fetch (labels shuffled) makes the rerun fail with the one-line refusal and no output left;
    declared as your own data, the same bytes are accepted and labelled user."""
    import os
    import shutil

    from conftest import snakemake
    from dlrepro.io import open_netcdf, read_json

    targets = ("results/mnist/data/train.nc", "results/mnist/data/test.nc")
    args = ("--profile", "profiles/tiny", "--cores", "1", *targets)
    snakemake(workflow, *args, check=True)
    assert open_netcdf(workflow / targets[0]).attrs["source_label"] == "synthetic"
    manifest = read_json(workflow / "resources/mnist/manifest.json")
    labels_path = workflow / "resources/mnist" / mnist.PARTS["train"][1]
    labels = mnist.read_idx(labels_path)
    mnist.write_idx(np.random.default_rng(7).permutation(labels), labels_path)
    stamp = os.path.getmtime(workflow / targets[0]) + 5
    os.utime(labels_path, (stamp, stamp))
    actual = sha(labels_path.read_bytes())

    proc = snakemake(workflow, *args)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    expected = manifest["files"][labels_path.name]["sha256"]
    assert (
        f"resources/mnist/train-labels-idx1-ubyte.gz: changed after it was fetched: sha256 {actual}, "
        f"expected {expected} (recorded for synthetic data in manifest.json); not used - delete resources/mnist "
        "and rerun to fetch it again, or use your own files with config datasets.mnist.source: user and "
        "datasets.mnist.path (docs/data.md: Using your own data)"
    ) in out
    assert not (workflow / targets[0]).exists()  # nothing computed from the replaced file survives
    assert not [p.name for p in (workflow / "results/mnist/data").iterdir() if p.name != "test.nc"]

    own = tmp_path / "my mnist"  # a space in the path, as users' paths have
    own.mkdir()
    for name in mnist.PARTS["train"] + mnist.PARTS["test"]:
        shutil.copy(workflow / "resources/mnist" / name, own / name)
    user = ("--config", f"datasets={{mnist: {{source: user, path: '{own}'}}}}")
    snakemake(workflow, *args, *user, check=True)
    ds = open_netcdf(workflow / targets[0])
    assert ds.attrs["source_label"] == "user" and ds.attrs["source"] == "user"
    assert f"train-labels-idx1-ubyte.gz={actual}" in ds.attrs["raw_sha256"]
    np.testing.assert_array_equal(ds.label.values, mnist.read_idx(own / mnist.PARTS["train"][1]))
    assert read_json(workflow / "resources/mnist/manifest.json")["label"] == "user"


# --------------------------------------------------------------------------- Indian Pines content


def _synthetic_indian_pines(tmp_path):
    from dlrepro import hyperspectral as hs

    spec = hs.indian_pines_spec({"bands": 200, "ground_truth": "purdue", "source": "synthetic"})
    manifest = acquire(spec, tmp_path, source="synthetic", synthetic_options={"seed": 0}, logger=LOG)
    return hs, manifest


def _restamp(manifest, path):
    """What a fetch of these bytes would have recorded (the file then passes the sha256 check)."""
    manifest["files"][path.name]["sha256"] = sha(path.read_bytes())


def test_indian_pines_nan_cube_is_refused_naming_file_and_count(tmp_path):
    hs, manifest = _synthetic_indian_pines(tmp_path)
    path = tmp_path / "Indian_pines_corrected.mat"
    cube = hs.read_cube(path).astype(np.float32)
    cube.reshape(-1)[np.random.default_rng(0).choice(cube.size, 25, replace=False)] = np.nan
    from dlrepro.hyperspectral.synthetic import _savemat

    _savemat(path, "indian_pines_corrected", cube)
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: changed after it was fetched: sha256 "):
        hs.cube_dataset(tmp_path, manifest, 200, "purdue", LOG)  # the case: placed after the fetch
    _restamp(manifest, path)
    with pytest.raises(DataError) as err:
        hs.cube_dataset(tmp_path, manifest, 200, "purdue", LOG)
    assert re.fullmatch(
        rf"{re.escape(str(path))}: 25 non-finite radiance values \(25 NaN, 0 inf\) of 320000 in an array of shape "
        r"\(40, 40, 200\), first at index \(\d+, \d+, \d+\); expected finite numbers",
        str(err.value),
    ), str(err.value)


def test_indian_pines_ground_truth_of_another_shape_names_both_files(tmp_path):
    hs, manifest = _synthetic_indian_pines(tmp_path)
    gt_path = tmp_path / "92AV3GT.GIS"
    gt = hs.read_ground_truth(gt_path)
    hs.write_erdas_gis(gt[:30], gt_path, int(gt.max()) + 1)
    _restamp(manifest, gt_path)
    with pytest.raises(DataError) as err:
        hs.cube_dataset(tmp_path, manifest, 200, "purdue", LOG)
    assert str(err.value) == (
        f"{gt_path}: size (30, 40) does not match size (40, 40) of {tmp_path / 'Indian_pines_corrected.mat'}; "
        "expected the same"
    )


def test_indian_pines_ground_truth_of_one_class_is_refused(tmp_path):
    hs, manifest = _synthetic_indian_pines(tmp_path)
    gt_path = tmp_path / "92AV3GT.GIS"
    gt = hs.read_ground_truth(gt_path)
    hs.write_erdas_gis(np.where(gt > 0, 3, 0).astype(np.uint8), gt_path, int(gt.max()) + 1)
    _restamp(manifest, gt_path)
    with pytest.raises(
        DataError, match=rf"^{re.escape(str(gt_path))}: only class 3: \d+ in \d+ label\(s\); a classifier"
    ):
        hs.cube_dataset(tmp_path, manifest, 200, "purdue", LOG)


def test_indian_pines_records_the_sha256_of_the_bytes_read(tmp_path):
    hs, manifest = _synthetic_indian_pines(tmp_path)
    ds = hs.cube_dataset(tmp_path, manifest, 200, "purdue", LOG)
    for name in ("Indian_pines_corrected.mat", "92AV3GT.GIS", "92AV3C.spc"):
        assert ds.attrs[f"sha256_{name}"] == sha((tmp_path / name).read_bytes())


@pytest.mark.workflow
def test_user_si650_file_through_the_workflow(workflow, tmp_path):
    """Your own SI650-format file (source: user): one of a single label stops the tokenise job
    with one line naming the file; a valid one gives tokens labelled user with its sha256."""
    from conftest import snakemake
    from dlrepro.io import read_json

    own = tmp_path / "reviews.tsv"
    own.write_bytes(b"1\tI love it.\n1\tgreat movie\n1\tawesome\n")
    target = "results/sentiment/data/tokens.json"
    args = ("--profile", "profiles/tiny", "--cores", "1", target)
    user = ("--config", f"datasets={{si650: {{source: user, path: '{own}'}}}}")
    proc = snakemake(workflow, *args, *user)
    assert proc.returncode != 0
    assert (
        "ERROR: resources/si650/training.txt: only class 1 (positive): 3 in 3 label(s); a classifier needs at least "
        f"two classes (resources/si650/training.txt is the copy of your file {own}, config datasets.si650.path)\n"
    ) in proc.stdout + proc.stderr
    assert not (workflow / target).exists()

    own.write_bytes(b"1\tI love it.\n0\tboring\n1\tawesome\n0\tawful\n")
    snakemake(workflow, *args, *user, check=True)  # the changed file is fetched again
    tokens = read_json(workflow / target)
    assert tokens["source_label"] == "user" and tokens["source"] == "user"
    assert tokens["raw_sha256"] == sha(own.read_bytes())
    assert tokens["records"]["label"] == [1, 0, 1, 0]


def test_errors_about_a_copied_user_file_name_the_original(tmp_path):
    from dlrepro.runner import with_user_origin

    dest = tmp_path / "resources" / "si650"
    dest.mkdir(parents=True)
    files = {
        "training.txt": {"via": "user", "origin": "/home/me/reviews.tsv"},
        "other.txt": {"via": "mirror"},
    }
    (dest / "manifest.json").write_text(json.dumps({"dataset": "si650", "files": files}))
    copy = dest / "training.txt"
    assert with_user_origin(f"{copy}: line 2: bad") == (
        f"{copy}: line 2: bad ({copy} is the copy of your file /home/me/reviews.tsv, config datasets.si650.path)"
    )
    for message in (f"{dest / 'other.txt'}: bad", f"{tmp_path / 'x.txt'}: bad", "no path here"):
        assert with_user_origin(message) == message


def test_refusal_offers_user_data_only_where_it_exists(tmp_path):
    path = tmp_path / "indian_pines" / "92AV3GT.GIS"
    manifest = {"dataset": "indian_pines", "label": "real", "files": {"92AV3GT.GIS": {"sha256": "ab"}}}
    with pytest.raises(DataError) as err:
        V.check_raw_sha256(path, "cd", manifest)
    assert str(err.value) == (
        f"{path}: changed after it was fetched: sha256 cd, expected ab (recorded for real data in manifest.json); "
        f"not used - delete {path.parent} and rerun to fetch it again"
    )

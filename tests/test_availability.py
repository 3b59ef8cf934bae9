"""Data availability: the parse-time decision, the data_status probe, "not run - data
unavailable" rows, and the workflow's use of them (dry-runs and the probe job only)."""

import json

import pandas as pd
import pytest

from conftest import snakemake
from dlrepro import acquire as acq
from dlrepro import datasets as D
from dlrepro import names as N
from dlrepro.mnist import FILES as MNIST_FILES
from dlrepro.report import reproduction as R

TOLERANCES = {
    "mnist_perceptron": 1.0,
    "mnist_mlp": 1.0,
    "mnist_lenet": 0.3,
    "sentiment": 1.0,
    "indian_pines": 3.0,
}
ALL_ON = {"mnist": True, "sentiment": True, "indian_pines": True}


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No network and no Kaggle credentials: every download fails at once."""

    def fail(url, dest, retries=3, timeout=60.0):
        raise ConnectionError("offline (test)")

    monkeypatch.setattr(acq, "download_url", fail)
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    monkeypatch.delenv("KAGGLE_KEY", raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle"))


# --------------------------------------------------------------------------- parse time


def test_synthetic_and_strict_are_available_without_probing(tmp_path):
    status = D.known_status("si650", "synthetic", resources=tmp_path)
    assert (status["available"], status["label"], status["raw"]) == (True, "synthetic", "configured")
    strict = D.known_status("si650", "auto", resources=tmp_path, strict=True)
    assert strict["available"] is True and strict["decided"] == "strict"


def test_si650_embedded_is_unavailable_with_how_to_get_it(tmp_path):
    status = D.known_status("si650", "embedded", resources=tmp_path)
    assert status["available"] is False
    reason = status["reason"]
    assert "no embedded copy" in reason and "pip install kaggle" in reason
    assert "~/.kaggle/kaggle.json" in reason and "data_mirror" in reason
    assert "\n" not in reason


def test_auto_with_an_embedded_fallback_is_available_label_decided_at_fetch(tmp_path):
    status = D.known_status("mnist", "auto", resources=tmp_path)
    assert (status["available"], status["label"], status["raw"]) == (True, None, "configured")
    # the same files as the embedded copy (200 bands, EHU): no probe either
    ehu = D.known_status("indian_pines", "auto", {"bands": 200, "ground_truth": "ehu"}, resources=tmp_path)
    assert (ehu["available"], ehu["raw"]) == (True, "configured")


def test_indian_pines_purdue_is_available_but_its_raw_files_need_a_probe(tmp_path):
    status = D.known_status(
        "indian_pines", "auto", {"bands": 200, "ground_truth": "purdue"}, resources=tmp_path
    )
    assert status["available"] is True and status["raw"] is None
    # forced download: no fallback, so availability itself is unknown
    forced = D.known_status("indian_pines", "download", {"ground_truth": "purdue"}, resources=tmp_path)
    assert forced["available"] is None


def test_files_present_by_name_in_mirror_or_cache_are_known_real(tmp_path):
    mirror = tmp_path / "mirror" / "deep"
    mirror.mkdir(parents=True)
    names = sorted(MNIST_FILES)
    for name in names[:2]:
        (mirror / name).write_bytes(b"x")
    assert (
        D.known_status("mnist", "mirror", mirror=str(tmp_path / "mirror"), resources=tmp_path)["available"]
        is None
    )
    cache = tmp_path / "cache" / "mnist"
    cache.mkdir(parents=True)
    for name in names[2:]:
        (cache / name).write_bytes(b"x")
    status = D.known_status("mnist", "mirror", mirror=str(tmp_path / "mirror"), resources=tmp_path)
    assert (status["available"], status["label"]) == (True, "real")
    # download: the mirror does not count
    assert (
        D.known_status("mnist", "download", mirror=str(tmp_path / "mirror"), resources=tmp_path)["available"]
        is None
    )


def test_an_earlier_fetch_is_known(tmp_path):
    directory = tmp_path / "si650"
    directory.mkdir()
    (directory / "training.txt").write_text("1\tgood\n")
    manifest = {"requested_source": "auto", "label": "real", "files": {"training.txt": {}}}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    status = D.known_status("si650", "auto", resources=tmp_path)
    assert (status["available"], status["label"]) == (True, "real")
    # another configured source: not that fetch
    assert D.known_status("si650", "mirror", resources=tmp_path)["available"] is None


# --------------------------------------------------------------------------- probe


def test_probe_si650_offline_is_unavailable_with_a_one_line_reason(tmp_path):
    status = D.probe_status("si650", "auto", cache=tmp_path / "cache")
    assert status["available"] is False and status["decided"] == "probe"
    reason = status["reason"]
    assert "\n" not in reason
    assert reason.startswith("si650: cannot obtain training.txt")
    assert "no data_mirror configured" in reason and "pip install kaggle" in reason
    # the table rows get the reason without the how-to (the notes have it all)
    assert reason.startswith(status["short_reason"]) and "pip install" not in status["short_reason"]


def test_probe_indian_pines_purdue_offline_falls_back_to_the_ehu_stand_in(tmp_path):
    status = D.probe_status("indian_pines", "auto", {"bands": 200, "ground_truth": "purdue"}, cache=tmp_path)
    assert (status["available"], status["label"], status["raw"]) == (True, "stand-in", "stand-in")
    assert "92AV3GT.GIS" in status["reason"] and "EHU ground truth" in status["reason"]
    assert "http" not in status["reason"].split("To get it")[0]  # URLs stay in the log


def test_probe_rejects_mirror_files_failing_their_checksum(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in MNIST_FILES:
        (mirror / name).write_bytes(b"not MNIST")
    status = D.probe_status("mnist", "mirror", mirror=str(mirror), cache=tmp_path / "cache")
    assert status["available"] is False and "failed its checksum" in status["reason"]
    assert not list((tmp_path / "cache").glob("*"))  # nothing unverified is cached
    # the status names each rejected mirror file and why (the end-of-run summary)
    assert sorted(r["file"] for r in status["rejected"]) == sorted(str(mirror / n) for n in MNIST_FILES)
    lines = D.rejected_lines(status, None)
    assert len(lines) == len(MNIST_FILES)
    assert lines[0].startswith(
        f"    rejected mirror file {mirror / next(iter(MNIST_FILES))}: checksum mismatch (9 bytes"
    )


def test_probe_of_indian_pines_names_the_rejected_mirror_file_under_the_stand_in(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "92AV3GT.GIS").write_bytes(b"not a ground truth")
    status = D.probe_status(
        "indian_pines", "auto", {"bands": 200, "ground_truth": "purdue"}, mirror=str(mirror), cache=tmp_path
    )
    assert (status["label"], status["raw"]) == ("stand-in", "stand-in")
    assert [r["file"] for r in status["rejected"]] == [str(mirror / "92AV3GT.GIS")]


def test_strict_mode_error_hints_at_the_ehu_ground_truth(tmp_path):
    spec = D.get_spec("indian_pines", {"bands": 200, "ground_truth": "purdue"})
    with pytest.raises(acq.DataUnavailableError) as err:
        acq.acquire(spec, tmp_path / "out", source="auto")
    message = str(err.value)
    assert "datasets.indian_pines.ground_truth: ehu" in message
    assert set(err.value.missing) == {"Indian_pines_corrected.mat", "92AV3GT.GIS"}


# --------------------------------------------------------------------------- table rows


def _ip_run(split, seed, acc, gt):
    return {
        "experiment": "indian_pines",
        "split": split,
        "seed": seed,
        "epochs": 600,
        "epochs_requested": 600,
        "accuracy": acc,
        "source_label": "stand-in",
        "bands": 200,
        "ground_truth": gt,
        "n_train": 1025,
        "n_test": 9224,
        "parameters": 527_344,
    }


def test_unavailable_experiment_rows_say_not_run_with_the_reason():
    why = "si650: cannot obtain training.txt. To get it: pip install kaggle"
    runs = {"indian_pines": [_ip_run("random", 1, 0.7, "ehu")]}
    df, notes = R.reproduction_table(runs, TOLERANCES, ALL_ON, {"sentiment": why})
    si = df[df.experiment == "SI650 sentiment"]
    assert len(si) >= 3
    assert si.ours_pct.str.startswith("not run — data unavailable: si650: cannot obtain").all()
    assert (si.within_tolerance == "not run").all()
    assert any(n.startswith("SI650 sentiment: not run — data unavailable: ") and why in n for n in notes)
    # MNIST enabled, data available but no run here: the ordinary "not run" text
    mnist = df[df.experiment == "MNIST"]
    assert not mnist.ours_pct.str.contains("data unavailable").any()
    # the Indian Pines row says which ground truth was used
    ip = df[(df.experiment == "Indian Pines") & df.setting.str.startswith("random")].iloc[0]
    assert "EHU ground truth" in ip.setting and ip.data_source == "stand-in"


def test_rows_get_the_short_reason_and_the_notes_how_to_get_the_data():
    df, notes = R.reproduction_table(
        {}, TOLERANCES, ALL_ON, {"sentiment": ("no training.txt", "no file. pip")}
    )
    si = df[df.experiment == "SI650 sentiment"]
    assert (si.ours_pct == "not run — data unavailable: no training.txt").all()
    assert "SI650 sentiment: not run — data unavailable: no file. pip" in notes


def test_written_table_has_the_not_run_rows(tmp_path):
    df, notes = R.reproduction_table({}, TOLERANCES, ALL_ON, {"sentiment": "no training.txt"})
    paths = [tmp_path / f"reproduction.{ext}" for ext in ("csv", "md", "html")]
    R.write_reproduction(df, notes, {"commit": "test", "config_hash": "x", "packages": {}}, *paths)
    for path in paths:
        assert "not run — data unavailable: no training.txt" in path.read_text(encoding="utf-8"), path


def test_purdue_runs_keep_the_lecture_setting_text():
    df, _ = R.reproduction_table({"indian_pines": [_ip_run("random", 1, 0.7, "purdue")]}, TOLERANCES, ALL_ON)
    ip = df[(df.experiment == "Indian Pines") & df.setting.str.startswith("random")].iloc[0]
    assert ip.setting == N.INDIAN_PINES_SPLITS["random"]


# --------------------------------------------------------------------------- workflow (cheap parts)


def _dry_run_jobs(proc):
    jobs, in_stats = {}, False
    for line in proc.stdout.splitlines():
        if line.startswith("job ") and "count" in line:
            in_stats = True
            continue
        if in_stats:
            parts = line.split()
            if not parts or parts[0] == "total":
                break
            if parts[0].startswith("---"):
                continue
            jobs[parts[0]] = int(parts[1])
    return jobs


@pytest.mark.workflow
def test_offline_dry_run_probes_only_what_is_unknown(workflow):
    proc = snakemake(workflow, "-n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = _dry_run_jobs(proc)
    # MNIST (embedded fallback) is planned in full; SI650 and the Indian Pines raw files are probed
    assert jobs["data_status"] == 2 and jobs["train_mnist"] >= 1 and jobs["train_indian_pines"] >= 1
    assert "fetch_si650" not in jobs and "report_reproduction" in jobs
    strict = _dry_run_jobs(snakemake(workflow, "-n", "--config", "strict_data=true"))
    assert "data_status" not in strict and strict["fetch_si650"] == 1 and strict["fetch_indian_pines"] == 1


@pytest.mark.workflow
def test_offline_si650_run_ends_with_a_table_exit_0_and_nothing_left_to_do(workflow, tmp_path):
    """SI650 alone, offline, no credentials: only the probe and the reporting jobs run."""
    env = {"KAGGLE_CONFIG_DIR": str(tmp_path / "no-kaggle"), "KAGGLE_USERNAME": "", "KAGGLE_KEY": ""}
    overrides = tmp_path / "si650.yaml"
    overrides.write_text(
        "experiments: {mnist: false, indian_pines: false}\nreporting: {rulegraph_renderer: matplotlib}\n"
    )
    args = ("--cores", "1", "--configfile", str(overrides))
    proc = snakemake(workflow, *args, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    status = json.loads((workflow / "resources/status/si650.json").read_text())
    assert status["available"] is False and "pip install kaggle" in status["reason"]
    assert "SI650 sentiment: NOT RUN - data unavailable" in proc.stderr  # the end-of-run summary
    table = pd.read_csv(workflow / "results/tables/reproduction.csv", comment="#")
    si = table[table.experiment == "SI650 sentiment"]
    assert len(si) >= 3 and si.ours_pct.str.startswith("not run — data unavailable: si650").all()
    assert "pip install kaggle" in (workflow / "results/tables/reproduction.md").read_text(encoding="utf-8")
    assert not (workflow / "resources/si650/training.txt").exists()
    # idempotent: the status is read back, nothing reruns
    again = snakemake(workflow, "-n", *args, env=env)
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]

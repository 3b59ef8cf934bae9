"""Workflow tests: lint, dry-runs of every profile, the tiny end-to-end run, idempotence,
rejection of corrupted downloads and of invalid configs before any job."""

import gzip
import json
import shutil

import pandas as pd
import pytest

from conftest import REPO, snakemake

pytestmark = pytest.mark.workflow


def test_lint_prints_nothing(workflow):
    proc = snakemake(workflow, "--lint")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
    assert "Lints for" not in proc.stderr


@pytest.mark.parametrize("profile", ["default", "tiny", "slurm"])
def test_dry_run_of_every_profile(workflow, profile):
    args = ["-n"] if profile == "default" else ["-n", "--profile", f"profiles/{profile}"]
    if profile == "slurm":  # as docs/cluster.md: the workflow profile (replaces profiles/default)
        args = ["-n", "--workflow-profile", "profiles/slurm"]
        if not shutil.which("conda"):
            args += ["--sdm", "env-modules"]  # the profile uses conda, not installable here
    proc = snakemake(workflow, *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "train_mnist" in proc.stdout
    if profile == "slurm":  # TensorFlow threads = the CPUs asked for (cpus_per_gpu), not the login node's
        assert "threads: 12" in proc.stdout and "threads: 2\n" not in proc.stdout


def test_tiny_profile_produces_mnist_table_above_chance(tiny_run):
    table = pd.read_csv(tiny_run / "results/tables/mnist.csv", comment="#")
    assert set(table["model"]) == {"perceptron", "mlp", "lenet"}
    assert (table["data_source"] == "synthetic").all()
    assert (table["n_seeds"] == 2).all()
    # 10 classes: chance is 10 %; learning happened in every model
    assert (table["mean_pct"] > 25).all(), table
    assert table.loc[table.model == "lenet", "mean_pct"].iloc[0] > 80
    md = (tiny_run / "results/tables/mnist.md").read_text()
    assert "NOT a reproduction" in md and "Provenance: commit" in md


def test_tiny_run_outputs_per_run(tiny_run):
    run = tiny_run / "results/mnist/lenet/e20/seed1"
    history = pd.read_csv(run / "history.csv")
    assert list(history["epoch"]) == [1, 2, 3]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(history.columns)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["parameters"] == 1_256_080
    assert len(metrics["confusion_matrix"]) == 10
    assert sum(map(sum, metrics["confusion_matrix"])) == metrics["n"] == 500
    assert not (run / "checkpoints").exists()


def test_second_run_has_nothing_to_do(tiny_run):
    proc = snakemake(tiny_run, "-n", "--profile", "profiles/tiny")
    assert proc.returncode == 0, proc.stderr
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_corrupted_download_is_rejected(workflow, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    truncated = mirror / "t10k-labels-idx1-ubyte.gz"
    with gzip.open(truncated, "wb") as fh:
        fh.write(b"\x00\x00\x08\x01\x00\x00\x27\x10" + bytes(100))
    overrides = tmp_path / "mirror.yaml"
    overrides.write_text(f"data_mirror: {mirror}\ndatasets:\n  mnist:\n    source: mirror\n")
    proc = snakemake(workflow, "resources/mnist/manifest.json", "--configfile", str(overrides))
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "t10k-labels-idx1-ubyte.gz: checksum mismatch" in out
    assert "expected sha256 f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6" in out
    assert "ERROR: mnist: cannot obtain" in out
    # nothing half-written left behind
    assert not (workflow / "resources/mnist/manifest.json").exists()
    assert not (workflow / "resources/mnist/t10k-labels-idx1-ubyte.gz").exists()


def test_end_of_run_summary_names_only_the_data_this_run_fetched(workflow):
    """A run that fetched MNIST only: the others are not claimed as used (no 'REAL ... source ?'),
    and no reproduction table is pointed to when there is none."""
    proc = snakemake(workflow, "--profile", "profiles/tiny", "resources/mnist/manifest.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = proc.stderr[proc.stderr.rindex("Data used by this run") :].splitlines()
    manifest = json.loads((workflow / "resources/mnist/manifest.json").read_text())
    assert summary[:4] == [
        "Data used by this run:",
        f"  MNIST: {manifest['label']} data (not a reproduction), source {manifest['source']}",
        "  SI650 sentiment: no data fetched here (not used by this run)",
        "  Indian Pines: no data fetched here (not used by this run)",
    ]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("seedz=[1]", "unknown config key 'seedz'"),
        ("max_epochs=zero", "invalid config key 'max_epochs'"),
        ("seeds=[1,1]", "Invalid configuration: invalid config key 'seeds.1': 1 repeats 'seeds.0'"),
        (
            "datasets={mnist: {source: user, path: /no/such/dir}}",
            "Invalid configuration: config key datasets.mnist.path: /no/such/dir does not exist "
            "(datasets.mnist.source: user)",
        ),
    ],
)
def test_invalid_config_stops_before_any_job(workflow, override, message):
    proc = snakemake(workflow, "--profile", "profiles/tiny", "--config", override)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert not (workflow / "resources").exists() and not (workflow / "logs").exists()


def test_shipped_profiles_exist():
    for name in ("default", "tiny", "slurm"):
        assert (REPO / "profiles" / name / "config.yaml").is_file()
    assert shutil.which("git")

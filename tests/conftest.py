"""Shared fixtures: real-data location, workflow copies and a Snakemake runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))  # as pytest's pythonpath, also when imported by hand

import dlrepro  # noqa: E402, F401  (turns TensorFlow's oneDNN kernels on, before any TF import)

WORKFLOW_PARTS = ("Snakefile", "config.yaml", "rules", "scripts", "schemas", "envs", "profiles", "report")
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def shared_data_dir() -> Path:
    """../shared/data beside the checkout (or $DLREPRO_SHARED_DATA)."""
    return Path(os.environ.get("DLREPRO_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"real data not available: {path} does not exist (a fresh clone has no ../shared)")
    return path


def copy_workflow(dest: Path) -> Path:
    """A fresh copy of the workflow (as in a new clone), without outputs."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".snakemake")
    for part in WORKFLOW_PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=ignore)
        else:
            shutil.copy2(src, dest / part)
    return dest


@pytest.fixture
def workflow(tmp_path) -> Path:
    return copy_workflow(tmp_path / "wf")


def snakemake(workdir: Path, *args: str, timeout: float = 1800, check: bool = False, env=None):
    """Run Snakemake in ``workdir``; returns the CompletedProcess (text output)."""
    run_env = dict(os.environ)
    run_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    run_env.update(env or {})
    proc = subprocess.run(
        [SNAKEMAKE, *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=run_env,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The whole workflow run once with the tiny profile (shared by the workflow tests)."""
    workdir = copy_workflow(tmp_path_factory.mktemp("tiny") / "wf")
    snakemake(workdir, "--profile", "profiles/tiny", timeout=3000, check=True)
    return workdir


def evaluation_targets(workdir: Path) -> tuple[list[str], list[str]]:
    """For every evaluate_* rule of the tiny DAG, the first of its outputs (each pulls in one
    training run and its experiment's data preparation), and the fetch rules of that DAG."""
    proc = snakemake(workdir, "--profile", "profiles/tiny", "--summary", check=True)
    first, fetch = {}, set()
    for line in proc.stdout.splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) > 2 and cols[2].startswith("evaluate_"):
            first.setdefault(cols[2], cols[0])
        if len(cols) > 2 and cols[2].startswith("fetch_"):
            fetch.add(cols[2])
    return sorted(first.values()), sorted(fetch)


@pytest.fixture(scope="session")
def tiny_evaluation_run(tmp_path_factory) -> tuple[Path, list[str]]:
    """One training + evaluation per experiment (:func:`evaluation_targets`), run once locally
    with the tiny profile: the reference of tests that run those targets another way (on
    Slurm), a fraction of the whole ``tiny_run``. Returns (workdir, targets)."""
    workdir = copy_workflow(tmp_path_factory.mktemp("tiny-eval") / "wf")
    targets, _ = evaluation_targets(workdir)
    snakemake(workdir, "--profile", "profiles/tiny", *targets, timeout=3000, check=True)
    return workdir, targets

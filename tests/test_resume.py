"""Preemption-safe training: a real training job stopped mid-way resumes from its checkpoint
and ends with the same weights and history as an uninterrupted run.

A copy of the session's tiny run (``tiny_run``: its LeNet run, seed 1, 3 epochs, is the
uninterrupted reference, so no extra training is spent on it); that run is trained again
1. with ``--retries 1`` while the training process is SIGKILLed after epoch 1 (it kills itself
   there: ``DLREPRO_FAULT=SIGKILL@1``, so the point is deterministic on a loaded machine):
   Snakemake resubmits the job, as the Slurm profile's ``retries`` does after a preemption or
   a time limit, and the second attempt resumes,
2. with SIGTERM (what Slurm sends at a time limit / scancel) after epoch 1: the job checkpoints,
   fails with one line, and a rerun resumes,
3. with Snakemake itself interrupted (SIGINT to the whole process group, as Ctrl-C) while the
   training waits after epoch 1 (``DLREPRO_FAULT=PAUSE@1``), then run again, as a user would.
Every interrupted run must log the resume and end bit-identical to the reference, and the
job's log must keep every attempt (Snakemake deletes it before a rerun; see dlrepro.runner).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import SNAKEMAKE, snakemake

sys.path.insert(0, str(Path(__file__).with_name("slurm")))
import cluster_helpers as ch  # noqa: E402

RUN = "results/mnist/lenet/e20/seed1"
TARGET = f"{RUN}/model.keras"
LOG = "logs/mnist/train_lenet_e20_seed1.log"
EPOCHS = 3  # the tiny profile's max_epochs; the faults land after epoch 1, chosen by the job itself
ARGS = ("--profile", "profiles/tiny", "--cores", "2")


@pytest.fixture(scope="module")
def workdir(tiny_run, tmp_path_factory):
    """A copy of the tiny run (outputs, mtimes and Snakemake's records), without the LeNet run."""
    wf = tmp_path_factory.mktemp("resume") / "wf"
    shutil.copytree(tiny_run, wf, symlinks=True, ignore=shutil.ignore_patterns("locks", "incomplete"))
    for name in ("model.keras", "history.csv", "metrics.json"):
        (wf / RUN / name).unlink()
    return wf


def _train_outputs(wf: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("model.keras", "history.csv"):
        shutil.copy2(wf / RUN / name, dest / name)
    (wf / RUN / "model.keras").unlink()
    (wf / RUN / "history.csv").unlink()
    return dest


def _epochs_done(wf: Path) -> int:
    state = wf / RUN / "checkpoints" / "state.json"
    try:
        return int(json.loads(state.read_text())["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


def _start(wf: Path, *extra: str, fault: str = "") -> subprocess.Popen:
    return subprocess.Popen(
        [SNAKEMAKE, TARGET, *extra, *ARGS],
        cwd=wf,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "DLREPRO_FAULT": fault},
        start_new_session=True,
    )


def _wait_for_pause(wf: Path, proc: subprocess.Popen, timeout: float = 900) -> None:
    """Wait (no timing assumption: the training itself pauses) until the job waits after its epoch."""
    marker = wf / RUN / "checkpoints" / "paused"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if marker.exists():
            return
        if proc.poll() is not None:
            pytest.fail(f"training ended before it paused:\n{proc.stdout.read()[-3000:]}")
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the training never paused")


def _assert_same_as(reference: Path, run_dir: Path):
    ref_hist = pd.read_csv(reference / "history.csv").drop(columns="seconds")
    hist = pd.read_csv(run_dir / "history.csv").drop(columns="seconds")
    assert list(hist["epoch"]) == list(range(1, EPOCHS + 1))
    pd.testing.assert_frame_equal(hist, ref_hist, check_exact=True)
    assert ch.file_difference(reference / "model.keras", run_dir / "model.keras") is None
    return hist.iloc[-1].to_dict()


def _assert_attempts_kept(log: str, first_attempt_says: str) -> None:
    """Both attempts are in the log, in order: the interrupted one, then the one that resumed."""
    assert "==== attempt 2 started" in log, log[-3000:]
    first, second = log.split("==== attempt 2 started", 1)
    assert "==== attempt 1 started" in first and "epoch 1/" in first and first_attempt_says in first
    assert f"resuming from {RUN}/checkpoints after epoch 1 of {EPOCHS}" in second, second[-3000:]
    assert "epoch 1/" not in second and f"epoch {EPOCHS}/" in second


def _rerun_resumes(workdir: Path, reference: Path, dest: Path, first_attempt_says: str) -> dict:
    """Run the target again (as a user would): it resumes after epoch 1 and ends as the reference."""
    rerun = snakemake(workdir, TARGET, *ARGS)
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    _assert_attempts_kept((workdir / LOG).read_text(), first_attempt_says)
    return _assert_same_as(reference, _train_outputs(workdir, dest))


@pytest.fixture(scope="module")
def reference(tiny_run):
    return tiny_run / RUN


def test_killed_training_job_is_retried_and_resumes(workdir, reference, tmp_path):
    proc = _start(workdir, "--retries", "1", fault="SIGKILL@1")  # dies as on a preempted node
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-4000:]
    _assert_attempts_kept((workdir / LOG).read_text(), "epoch 1/")
    final = _assert_same_as(reference, _train_outputs(workdir, tmp_path / "retried"))
    print(f"SIGKILL after epoch 1/{EPOCHS}, retried and resumed: final {final}")


def test_sigterm_checkpoints_stops_and_rerun_resumes(workdir, reference, tmp_path):
    proc = _start(workdir, fault="SIGTERM@1")  # Slurm: time limit, scancel, preemption
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode != 0, out[-4000:]
    log = (workdir / LOG).read_text()
    assert f"training stopped by SIGTERM after epoch 1 of {EPOCHS}" in log, log[-3000:]
    assert "epoch 2/" not in log  # stopped within the epoch it was in
    assert _epochs_done(workdir) == 1 and not (workdir / TARGET).exists()
    final = _rerun_resumes(
        workdir, reference, tmp_path / "sigterm", "training stopped by SIGTERM after epoch 1"
    )
    print(f"SIGTERM after epoch 1/{EPOCHS}, rerun resumed: final {final}")


def test_interrupted_run_resumes_when_rerun(workdir, reference, tmp_path):
    proc = _start(workdir, fault="PAUSE@1")
    _wait_for_pause(workdir, proc)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C / scancel --signal=INT of the whole run
    proc.communicate(timeout=300)
    interrupted_after = _epochs_done(workdir)
    assert interrupted_after == 1, interrupted_after
    assert not (workdir / TARGET).exists()
    final = _rerun_resumes(workdir, reference, tmp_path / "rerun", "training stopped by SIGINT after epoch 1")
    print(f"SIGINT after epoch 1/{EPOCHS}, rerun resumed: final {final}")

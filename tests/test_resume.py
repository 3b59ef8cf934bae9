"""Preemption-safe training: a real training job killed mid-way resumes from its per-epoch
checkpoint and ends with the same weights and history as an uninterrupted run.

One tiny-profile workflow copy; the LeNet run (seed 1, 8 epochs) is trained
1. uninterrupted (the reference),
2. with ``--retries 1`` while the training process is SIGKILLed once ``state.json`` shows an
   epoch done: Snakemake resubmits the job, as the Slurm profile's ``retries`` does after a
   preemption or a time limit, and the second attempt resumes,
3. with Snakemake itself interrupted (SIGINT to the whole run) after the first epoch and then
   run again, as a user would after an interrupted run.
Both interrupted runs must log the resume and end bit-identical to the reference.
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
import psutil
import pytest

from conftest import SNAKEMAKE, copy_workflow, snakemake

sys.path.insert(0, str(Path(__file__).with_name("slurm")))
import cluster_helpers as ch  # noqa: E402

RUN = "results/mnist/lenet/e20/seed1"
TARGET = f"{RUN}/model.keras"
LOG = "logs/mnist/train_lenet_e20_seed1.log"
EPOCHS = 8  # room for an interrupt after epoch 1 to land mid-run, even on a loaded machine
# targets go first: --config takes every following word as a config item
ARGS = ("--profile", "profiles/tiny", "--cores", "2", "--config", f"max_epochs={EPOCHS}")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    wf = copy_workflow(tmp_path_factory.mktemp("resume") / "wf")
    snakemake(wf, "results/mnist/data/train.nc", "results/mnist/data/validation.nc", *ARGS, check=True)
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


def _training_process(parent: psutil.Process):
    """The Python process running scripts/mnist_train.py under this snakemake."""
    for child in parent.children(recursive=True):
        try:
            if any("mnist_train" in part for part in child.cmdline()):
                return child
        except psutil.Error:
            continue
    return None


def _start(wf: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [SNAKEMAKE, TARGET, *ARGS, *extra],
        cwd=wf,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        start_new_session=True,
    )


def _wait_for_epoch(wf: Path, proc: subprocess.Popen, timeout: float = 300) -> int:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        done = _epochs_done(wf)
        if done >= 1:
            return done
        if proc.poll() is not None:
            pytest.fail(f"training ended before a checkpoint was seen:\n{proc.stdout.read()[-3000:]}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("no checkpoint within the timeout")


def _assert_same_as(reference: Path, run_dir: Path):
    ref_hist = pd.read_csv(reference / "history.csv").drop(columns="seconds")
    hist = pd.read_csv(run_dir / "history.csv").drop(columns="seconds")
    assert list(hist["epoch"]) == list(range(1, EPOCHS + 1))
    pd.testing.assert_frame_equal(hist, ref_hist, check_exact=True)
    assert ch.file_difference(reference / "model.keras", run_dir / "model.keras") is None
    return hist.iloc[-1].to_dict()


@pytest.fixture(scope="module")
def reference(workdir, tmp_path_factory):
    snakemake(workdir, TARGET, *ARGS, check=True)
    assert not (workdir / RUN / "checkpoints").exists()
    return _train_outputs(workdir, tmp_path_factory.mktemp("reference"))


def test_killed_training_job_is_retried_and_resumes(workdir, reference, tmp_path):
    proc = _start(workdir, "--retries", "1")
    done = _wait_for_epoch(workdir, proc)
    job = _training_process(psutil.Process(proc.pid))
    assert job is not None, "training process not found"
    job.send_signal(signal.SIGKILL)  # the job dies as on a preempted/failed node
    killed_after = done
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-4000:]
    assert killed_after < EPOCHS
    log = (workdir / LOG).read_text()
    assert f"after epoch {killed_after} of {EPOCHS}" in log or "resuming from" in log, log[-3000:]
    final = _assert_same_as(reference, _train_outputs(workdir, tmp_path / "retried"))
    print(f"SIGKILL after epoch {killed_after}/{EPOCHS}, retried and resumed: final {final}")


def test_interrupted_run_resumes_when_rerun(workdir, reference, tmp_path):
    proc = _start(workdir)
    done = _wait_for_epoch(workdir, proc)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C / scancel --signal=INT of the whole run
    proc.communicate(timeout=120)
    interrupted_after = _epochs_done(workdir)
    assert 1 <= interrupted_after < EPOCHS, interrupted_after
    assert not (workdir / TARGET).exists()
    rerun = snakemake(workdir, TARGET, *ARGS)
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    log = (workdir / LOG).read_text()
    assert f"resuming from {RUN}/checkpoints after epoch {interrupted_after} of {EPOCHS}" in log, log[-3000:]
    final = _assert_same_as(reference, _train_outputs(workdir, tmp_path / "rerun"))
    print(
        f"SIGINT after epoch {done}/{EPOCHS} (checkpoint {interrupted_after}), rerun resumed: final {final}"
    )

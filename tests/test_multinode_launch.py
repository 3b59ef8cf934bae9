"""A Snakemake ``script:`` rule with ``resources.mpi`` and ``tasks=2`` starts its tasks itself.

Real Snakemake, real TensorFlow workers; the launcher is tests/slurm/local_srun.py, a stand-in
for ``srun`` that starts the tasks on this machine with the variables Slurm sets in a step
(so the workers find each other through dlrepro.cluster's Slurm resolver, not TF_CONFIG).
Checked: the rule's log holds the launcher's line and the chief's training log, the outputs
are the chief's, the non-chief's log and temporary directories are gone; a task that fails
ends the job with the runner's one line naming that task's error.  What this does not cover:
the real ``srun`` and several nodes (docs/multinode.md).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import REPO, snakemake

LOCAL_SRUN = Path(__file__).with_name("slurm") / "local_srun.py"

SNAKEFILE = """
LAUNCHER = config["launcher"]

rule all:
    input: "out/model.keras", "out/history.json"

rule train:
    output: model="out/model.keras", history="out/history.json"
    log: "logs/train.log"
    threads: 1
    resources: mpi=LAUNCHER, tasks=2, nodes=1
    script: "train.py"

rule fail:
    output: "out/fail.txt"
    log: "logs/fail.log"
    resources: mpi=LAUNCHER, tasks=2
    script: "fail.py"
"""

TRAIN = """
import numpy as np
from dlrepro import cluster, training
from dlrepro.io import write_json
from dlrepro.runner import run

def build():
    import keras
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    return model

def main(snakemake, log):
    training.configure_threads(snakemake.threads)
    x = np.random.default_rng(0).normal(size=(128, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0)]
    model, history = training.fit(build, x, y, epochs=2, batch_size=32, seed=1,
                                  workdir="out/checkpoints", logger=log, checkpoint_epochs=1)
    training.save_model(model, snakemake.output.model)
    write_json({"rank": cluster.task_rank(), "history": history}, snakemake.output.history)
    training.clear_checkpoints("out/checkpoints")

run(main, snakemake)
"""

FAIL = """
import time
from dlrepro import cluster
from dlrepro.errors import DataError
from dlrepro.runner import run

def main(snakemake, log):
    if cluster.task_rank() == 1:
        raise DataError("fail.py: task 1 refuses its input (test)")
    time.sleep(600)  # the chief waits, as for a collective op, until the launcher kills it

run(main, snakemake)
"""


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    work = tmp_path_factory.mktemp("launch")
    (work / "Snakefile").write_text(SNAKEFILE)
    (work / "train.py").write_text(TRAIN)
    (work / "fail.py").write_text(FAIL)
    tmp = work / "tmp"
    tmp.mkdir()
    env = {"PYTHONPATH": str(REPO / "scripts"), "TMPDIR": str(tmp), "CUDA_VISIBLE_DEVICES": ""}
    env = {**env, **{k: "" for k in os.environ if k.startswith("SLURM_") or k == "TF_CONFIG"}}
    launcher = f"{sys.executable} {LOCAL_SRUN}"
    proc = snakemake(
        work, "--cores", "2", "--keep-going", "--config", f"launcher={launcher}", "--",
        "out/model.keras", "out/fail.txt", timeout=900, env=env,
    )  # fmt: skip
    return work, proc


@pytest.mark.workflow
def test_the_rule_trains_on_two_tasks_and_the_chief_writes(launched):
    work, proc = launched
    log = (work / "logs" / "train.log").read_text()
    assert re.search(
        r"starting the training tasks: .*local_srun.py --ntasks=2 --nodes=1 --cpus-per-task=1 ", log
    ), log
    assert "MultiWorkerMirroredStrategy: worker 0 of 2 (chief" in log, log
    assert "epoch 2/2 " in log
    assert "worker 1 of 2" not in log  # the other task logged elsewhere
    history = json.loads((work / "out" / "history.json").read_text())
    assert history["rank"] == 0 and len(history["history"]) == 2
    assert (work / "out" / "model.keras").is_file()
    assert not (work / "out" / "checkpoints").exists()
    assert not list((work / "logs").glob(".train.log.*")), "task log or attempts file left"
    assert not [p.name for p in (work / "tmp").iterdir() if p.name.startswith("dlrepro-worker-")]


@pytest.mark.workflow
def test_a_failing_task_ends_the_job_with_one_line(launched):
    work, proc = launched
    assert proc.returncode != 0  # the fail rule
    line = re.search(r"^ERROR: training tasks failed \(.*\): (.*)$", proc.stderr, re.M)
    assert line, proc.stderr[-3000:]
    assert line.group(1) == ".fail.log.task1: fail.py: task 1 refuses its input (test)"
    log = (work / "logs" / "fail.log").read_text()
    assert "==== .fail.log.task1 ====" in log and "task 1 refuses" in log
    assert not list((work / "logs").glob(".fail.log.task*"))


# ----------------------------------------------------------------------------- the profile example


def _example_block() -> str:
    """The commented multinode block at the end of profiles/slurm/config.yaml, uncommented."""
    text = (REPO / "profiles/slurm/config.yaml").read_text()
    block = text.split("# >>> multinode example", 1)[1].split("# <<< multinode example", 1)[0]
    lines = block.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("# set-threads:"))
    return "\n".join(line[2:] for line in lines[first:] if line.startswith("# "))


def test_the_profile_example_gives_two_nodes_and_one_task_per_node():
    import yaml
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    from dlrepro import cluster, slurm

    example = _example_block()
    doc = (REPO / "docs/multinode.md").read_text()
    assert f"```yaml\n{example}\n```" in doc, "docs/multinode.md and the profile's example differ"
    profile = (REPO / "profiles/slurm/config.yaml").read_text()
    merged = yaml.safe_load(profile + "\n" + example)  # the example's keys replace the profile's
    resources = merged["set-resources"]["train_indian_pines"]
    threads = merged["set-threads"]["train_indian_pines"]

    class Resources(dict):
        __getattr__ = dict.__getitem__

    job = SimpleNamespace(resources=Resources(resources), threads=threads)
    params = {"run_uuid": "u", "slurm_logfile": "l", "comment_str": "rule_train_indian_pines",
              "account": "", "partition": f"-p {resources['slurm_partition']}", "workdir": "/w"}  # fmt: skip
    sbatch = get_submit_command(job, params) + set_gres_string(job)
    for option in ("--nodes=2", "--ntasks=2", "--cpus-per-task=48", "--gres=gpu:4", "--mem 64000", "-t 720"):
        assert f" {option}" in sbatch, (option, sbatch)
    assert "--ntasks-per-gpu" not in sbatch and "--gpus" not in sbatch and "--cpus-per-gpu" not in sbatch, (
        sbatch
    )
    assert "mpi" in resources  # the jobstep plugin's condition for not wrapping the job in srun -n1
    preflight = slurm.sbatch_test_args(resources)  # the run's sbatch --test-only asks for 2 nodes
    assert "--nodes=2" in preflight and "--ntasks=2" in preflight and "--gres=gpu:4" in preflight
    assert cluster.launch_request(job, env={}) == [
        "srun", "--gres=gpu:4", "--ntasks=2", "--nodes=2", "--cpus-per-task=48", "--kill-on-bad-exit=1",
    ]  # fmt: skip

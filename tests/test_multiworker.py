"""Several workers: dlrepro.training.fit under tf.distribute.MultiWorkerMirroredStrategy.

Two CPU worker processes on localhost, joined by TF_CONFIG (free ports), train a small model
on deterministic data with one ``model.fit`` call each; a third process trains the same model
alone with the same global batch.  Both workers must end with identical weights, and weights
and per-epoch metrics must equal the single-worker run within ``TOLERANCE`` (the two runs add
the same per-example gradients in a different order: float32 rounding only).  The global batch
divides the data, so every replica gets equal halves (an uneven last batch would weight its
halves equally, unlike one worker: see docs/multinode.md).  The workers also stop after one
epoch and resume from the chief's checkpoint, which must give the uninterrupted weights.

Not tested here: a real multi-node Slurm step (the Slurm variables are parsed by
``dlrepro.cluster.slurm_layout``, unit-tested below against hand-written environments).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from dlrepro import cluster
from dlrepro.errors import ConfigError

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
TOLERANCE = 1e-5  # max |difference| of weights and metrics, two workers vs one
RUN_TIMEOUT = 900  # s for the processes together (measured: see docs/multinode.md)

WORKER = """
import json, logging, os, sys
import numpy as np
from dlrepro import training

training.configure_threads(1)  # creates the multi-worker strategy first when TF_CONFIG says so
logging.basicConfig(level=logging.INFO, stream=sys.stderr)

def build():
    import keras
    model = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model

if os.environ.get("TF_CONFIG") and training.cluster.is_chief():
    # a slow shared file system: the chief's checkpoints land 2 s late, so the other worker
    # reaches its next fit first (the resume below then needs fit's barrier)
    import time
    _write = training._checkpoint
    training._checkpoint = lambda *a, **k: (time.sleep(2), _write(*a, **k))[1]

rng = np.random.default_rng(0)
x = rng.normal(size=(512, 8)).astype("float32")
y = np.eye(3, dtype="float32")[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0)]
kw = dict(epochs=3, batch_size=64, seed=4, checkpoint_seconds=None, checkpoint_epochs=1)
shared = sys.argv[2]  # checkpoints: a directory all workers see (a shared file system)
full, history = training.fit(build, x, y, workdir=f"{shared}/run-full", **kw)
training.save_model(full, "model.keras")
out = {"history": history, "weights": [w.tolist() for w in full.get_weights()],
       "chief": training.cluster.is_chief(), "rank": training.cluster.task_rank()}
if os.environ.get("TF_CONFIG"):
    training.fit(build, x, y, workdir=f"{shared}/run-resumed", stop_after=2, **kw)
    if training.cluster.is_chief():  # the newest checkpoint truncated (fit's barrier waits for this)
        newest = f"{shared}/run-resumed/checkpoint-00002.keras"
        with open(newest, "rb") as fh:
            head = fh.read(100)
        with open(newest, "wb") as fh:
            fh.write(head)
    resumed, history_resumed = training.fit(build, x, y, workdir=f"{shared}/run-resumed", **kw)
    out["resumed"] = [w.tolist() for w in resumed.get_weights()]
    out["history_resumed"] = history_resumed
    # the chief sees its checkpoint of epoch 2, the other worker an empty directory: both refuse
    mine = "run-full" if training.cluster.is_chief() else "run-elsewhere"
    try:
        training.fit(build, x, y, workdir=f"{shared}/{mine}", **kw)
    except training.DlReproError as exc:
        out["mismatch"] = str(exc)
with open(sys.argv[1], "w") as fh:
    json.dump(out, fh)
"""


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _start(tmp: Path, name: str, tf_config: dict | None, shared: Path):
    cwd = tmp / name
    cwd.mkdir()
    env = {**os.environ, "PYTHONPATH": str(SCRIPTS), "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    env.pop("TF_CONFIG", None)
    if tf_config:
        env["TF_CONFIG"] = json.dumps(tf_config)
    stderr = open(tmp / f"{name}.err", "w")  # noqa: SIM115 (closed in _wait)
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(tmp / f"{name}.json"), str(shared)],
        cwd=cwd,
        env=env,
        stderr=stderr,
    )
    return SimpleNamespace(name=name, proc=proc, stderr=stderr, cwd=cwd, out=tmp / f"{name}.json")


def _wait(runs, tmp: Path) -> None:
    """Wait for all; if one fails, stop the others at once (a lone worker waits forever)."""
    deadline = time.monotonic() + RUN_TIMEOUT
    try:
        while any(r.proc.poll() is None for r in runs):
            failed = [r for r in runs if r.proc.poll() not in (None, 0)]
            assert not failed and time.monotonic() < deadline, "\n".join(
                f"{r.name}: exit {r.proc.poll()}\n{(tmp / f'{r.name}.err').read_text()[-4000:]}" for r in runs
            )
            time.sleep(0.5)
        for r in runs:
            assert r.proc.returncode == 0, f"{r.name}:\n{(tmp / f'{r.name}.err').read_text()[-4000:]}"
    finally:
        for r in runs:
            if r.proc.poll() is None:
                r.proc.kill()
                r.proc.wait()
            r.stderr.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("multiworker")
    ports = _free_ports(2)
    workers = [f"localhost:{p}" for p in ports]
    tic = time.monotonic()
    shared = tmp / "shared"
    started = [
        _start(
            tmp,
            f"worker{i}",
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}},
            shared,
        )
        for i in range(2)
    ]
    started.append(_start(tmp, "single", None, tmp / "single-checkpoints"))
    _wait(started, tmp)
    seconds = time.monotonic() - tic
    results = {r.name: json.loads(r.out.read_text()) for r in started}
    logs = {r.name: (tmp / f"{r.name}.err").read_text() for r in started}
    dirs = {r.name: r.cwd for r in started} | {"shared": shared}
    print(f"two workers + one single-worker run: {seconds:.0f} s wall")
    return SimpleNamespace(results=results, logs=logs, dirs=dirs)


def _max_difference(a, b) -> float:
    return max(float(np.max(np.abs(np.asarray(u) - np.asarray(v)))) for u, v in zip(a, b, strict=True))


def test_two_workers_end_with_the_same_weights(runs):
    w0, w1 = runs.results["worker0"], runs.results["worker1"]
    assert "MultiWorkerMirroredStrategy: worker 0 of 2 (chief" in runs.logs["worker0"]
    assert "MultiWorkerMirroredStrategy: worker 1 of 2, 2 replicas in sync" in runs.logs["worker1"]
    assert (w0["chief"], w0["rank"], w1["chief"], w1["rank"]) == (True, 0, False, 1)
    assert _max_difference(w0["weights"], w1["weights"]) == 0.0
    assert w0["history"] == w1["history"] or all(
        abs(a[k] - b[k]) == 0
        for a, b in zip(w0["history"], w1["history"], strict=True)
        for k in a
        if k != "seconds"
    )


def test_two_workers_equal_one_worker_with_the_same_global_batch(runs):
    single, w0 = runs.results["single"], runs.results["worker0"]
    assert "MultiWorkerMirroredStrategy" not in runs.logs["single"]
    weights = _max_difference(single["weights"], w0["weights"])
    metrics = max(
        abs(a[k] - b[k])
        for a, b in zip(single["history"], w0["history"], strict=True)
        for k in ("loss", "accuracy")
    )
    print(f"two workers vs one: max |weight difference| {weights:.2e}, max |metric difference| {metrics:.2e}")
    assert len(single["history"]) == len(w0["history"]) == 3
    assert single["history"][-1]["loss"] < single["history"][0]["loss"]
    assert weights <= TOLERANCE and metrics <= TOLERANCE


def test_only_the_chief_writes(runs):
    chief, other = runs.dirs["worker0"], runs.dirs["worker1"]
    assert (chief / "model.keras").is_file()
    assert not (other / "model.keras").exists() and not list(other.iterdir())
    # checkpoint_epochs=1: the chief's checkpoint of epoch 2 is in the shared directory
    state = json.loads((runs.dirs["shared"] / "run-full" / "state.json").read_text())
    assert state["epoch"] == 2 and [e["epoch"] for e in state["previous"]] == [1]
    assert len(list((runs.dirs["shared"] / "run-full").glob("*.keras"))) == 2  # the newest two


def test_workers_resume_from_the_chiefs_checkpoint(runs):
    """Stopped after epoch 2 (stop_after) and the newest checkpoint truncated: both workers skip
    it (only the chief sets it aside), resume from the chief's checkpoint of epoch 1 in the
    shared directory and end with the weights of the uninterrupted run."""
    w0, w1 = runs.results["worker0"], runs.results["worker1"]
    shared = runs.dirs["shared"] / "run-resumed"
    assert (
        "set aside as checkpoint-00002.keras.corrupt, resuming from checkpoint-00001.keras (epoch 1)"
        in (runs.logs["worker0"])
    )
    assert "resuming from checkpoint-00001.keras (epoch 1)" in runs.logs["worker1"]
    assert "set aside as" not in runs.logs["worker1"]
    assert (shared / "checkpoint-00002.keras.corrupt").is_file()
    for name in ("worker0", "worker1"):
        assert "unreadable checkpoint" in runs.logs[name]
        assert "run-resumed after epoch 1 of 3" in runs.logs[name]
    assert _max_difference(w0["resumed"], w0["weights"]) == 0.0
    assert _max_difference(w1["resumed"], w0["weights"]) == 0.0


# ----------------------------------------------------------------------------- strategy choice


def test_multi_worker_kind_from_the_environment():
    two = json.dumps({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}})
    one = json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 0}})
    chief = json.dumps(
        {"cluster": {"chief": ["a:1"], "worker": ["b:2"]}, "task": {"type": "worker", "index": 0}}
    )
    assert cluster.multi_worker_kind({}) is None
    assert cluster.multi_worker_kind({"TF_CONFIG": one}) is None
    assert cluster.multi_worker_kind({"TF_CONFIG": two}) == "tf_config"
    assert cluster.task_rank({"TF_CONFIG": two}) == 1 and not cluster.is_chief_process({"TF_CONFIG": two})
    assert cluster.task_rank({"TF_CONFIG": chief}) == 1  # the named chief is rank 0
    step = {"SLURM_PROCID": "3", "SLURM_STEP_NUM_TASKS": "4"}
    assert cluster.multi_worker_kind(step) == "slurm" and cluster.task_rank(step) == 3
    # Snakemake's jobstep (srun -n1) and a batch script: one process
    assert (
        cluster.multi_worker_kind({"SLURM_PROCID": "0", "SLURM_STEP_NUM_TASKS": "1", "SLURM_NTASKS": "8"})
        is None
    )
    assert cluster.multi_worker_kind({"SLURM_NTASKS": "8", "SLURM_JOB_ID": "7"}) is None
    assert cluster.multi_worker_kind({"SLURM_PROCID": "0", "SLURM_NTASKS": "8"}) is None
    launched = {"SLURM_PROCID": "0", "SLURM_NTASKS": "8", cluster.WORKER_ENV: "1"}
    assert cluster.multi_worker_kind(launched) == "slurm"


def test_malformed_tf_config_is_one_line():
    with pytest.raises(ConfigError, match=r"TF_CONFIG: not valid JSON .*expected \{\"cluster\""):
        cluster.multi_worker_kind({"TF_CONFIG": "{worker: [a]}"})
    with pytest.raises(ConfigError, match='TF_CONFIG: expected an object with "cluster" and "task"'):
        cluster.multi_worker_kind({"TF_CONFIG": '{"cluster": {"worker": ["a:1"]}}'})
    with pytest.raises(ConfigError, match="SLURM_STEP_NUM_TASKS: 'x', expected an integer"):
        cluster.multi_worker_kind({"SLURM_PROCID": "0", "SLURM_STEP_NUM_TASKS": "x"})


# ----------------------------------------------------------------------------- Slurm parsing

STEP = {
    "SLURM_JOB_ID": "4711",
    "SLURM_STEP_ID": "0",
    "SLURM_PROCID": "5",
    "SLURM_LOCALID": "1",
    "SLURMD_NODENAME": "gpu10",
    "SLURM_STEP_NUM_TASKS": "8",
    "SLURM_STEP_NODELIST": "gpu[09-10]",
    "SLURM_STEP_TASKS_PER_NODE": "4(x2)",
    "SLURM_NTASKS": "8",
}


def test_slurm_layout_keeps_slurms_node_order():
    layout = cluster.slurm_layout(STEP)
    base = layout.port_base
    assert layout.hosts == ("gpu09", "gpu10") and layout.tasks_per_node == (4, 4)
    assert layout.addresses() == [f"gpu09:{base + k}" for k in range(4)] + [
        f"gpu10:{base + k}" for k in range(4)
    ]
    assert layout.placement(5) == ("gpu10", 1)
    # node[9-10]: Slurm's order is node9, node10; sorting the names (as the stock resolver
    # does) would put node10 first and give task 0 the other node's address
    nine = {**STEP, "SLURM_STEP_NODELIST": "node[9-10]", "SLURM_PROCID": "1", "SLURM_LOCALID": "1",
            "SLURMD_NODENAME": "node9", "SLURM_STEP_TASKS_PER_NODE": "2,6"}  # fmt: skip
    layout = cluster.slurm_layout(nine)
    assert layout.addresses()[:3] == [f"node9:{base}", f"node9:{base + 1}", f"node10:{base}"]


def test_slurm_port_base_is_per_job_and_overridable():
    a = cluster.port_base(STEP)
    assert a == cluster.port_base(dict(STEP, SLURM_PROCID="0"))  # the same for every task
    assert a != cluster.port_base(dict(STEP, SLURM_JOB_ID="4712"))
    assert cluster.PORT_RANGE[0] <= a and a + 64 <= cluster.PORT_RANGE[1]
    assert cluster.port_base(dict(STEP, DLREPRO_PORT_BASE="31000")) == 31000
    with pytest.raises(ConfigError, match="DLREPRO_PORT_BASE: 80, expected a port"):
        cluster.port_base(dict(STEP, DLREPRO_PORT_BASE="80"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SLURMD_NODENAME": "gpu09"}, r"task 5 runs on gpu09 .* block distribution puts it on gpu10"),
        ({"SLURM_STEP_TASKS_PER_NODE": "4,3"}, r"8 tasks .* places 7"),
        ({"SLURM_STEP_TASKS_PER_NODE": "8"}, "expected one task count per node"),
        ({"SLURM_STEP_NODELIST": "gpu[09-"}, "Slurm step variables: Invalid hostlist"),
        ({"SLURM_STEP_TASKS_PER_NODE": "four"}, "Slurm step variables: Invalid tasks-per-node"),
    ],
)
def test_slurm_layout_errors_are_one_line(change, message):
    with pytest.raises(ConfigError, match=message):
        cluster.slurm_layout({**STEP, **change})


def test_slurm_resolver_gives_tensorflow_the_layout(monkeypatch):
    monkeypatch.setattr(os, "environ", {**STEP})  # no SLURM_* of this machine leaks in
    resolver = cluster.slurm_resolver(STEP)
    spec = resolver.cluster_spec().as_dict()
    assert spec == {"worker": cluster.slurm_layout(STEP).addresses()}
    assert resolver.get_task_info() == ("worker", 5)
    assert resolver.master() == f"grpc://gpu10:{cluster.port_base(STEP) + 1}"
    assert resolver.num_accelerators() == {"GPU": 0}  # what TensorFlow sees (no GPU here)


# ----------------------------------------------------------------------------- Snakemake launch


def _job(resources, threads=12):
    return SimpleNamespace(resources=resources, threads=threads)


def test_launch_request_from_the_rules_resources():
    assert cluster.launch_request(_job({}), env={}) is None
    assert cluster.launch_request(_job({"mpi": "srun", "tasks": 1}), env={}) is None
    assert cluster.launch_request(_job({"tasks": 8, "nodes": 2}), env={}) is None  # no launcher
    two_nodes = _job({"mpi": "srun --gpus-per-node=4", "tasks": 2, "nodes": 2}, threads=48)
    assert cluster.launch_request(two_nodes, env={}) == [
        "srun", "--gpus-per-node=4", "--ntasks=2", "--nodes=2", "--cpus-per-task=48", "--kill-on-bad-exit=1",
    ]  # fmt: skip
    assert cluster.launch_request(two_nodes, env={cluster.WORKER_ENV: "1"}) is None  # a started task


def test_the_keras_patch_targets_exist_and_single_worker_is_untouched():
    """The two work-arounds patch these Keras names (a Keras release that renames them fails
    here, not in a hang); under a one-worker strategy nothing is patched."""
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer

    from dlrepro import keras_multiworker

    before = (trainer.TensorFlowTrainer._maybe_symbolic_build, trainer.reduce_per_replica)
    assert callable(before[0]) and callable(before[1])
    with keras_multiworker.patched(tf.distribute.get_strategy()):
        assert (trainer.TensorFlowTrainer._maybe_symbolic_build, trainer.reduce_per_replica) == before
    assert not keras_multiworker.is_multi_worker(tf.distribute.get_strategy())


def test_workers_that_see_different_checkpoints_refuse_to_start(runs):
    """A worker that cannot see the chief's checkpoint (no shared file system) would resume
    from another epoch and run other collectives: every worker refuses with one line instead."""
    w0, w1 = runs.results["worker0"], runs.results["worker1"]
    shared = runs.dirs["shared"]
    assert w0["mismatch"] == (
        f"{shared}/run-full: worker 0 finds a checkpoint after epoch 2 there, the other workers do not all find the same; "
        "every worker must see the chief's checkpoint directory (a shared file system; docs/multinode.md)"
    )
    assert w1["mismatch"] == (
        f"{shared}/run-elsewhere: worker 1 finds no checkpoint there, the other workers do not all find the same; "
        "every worker must see the chief's checkpoint directory (a shared file system; docs/multinode.md)"
    )

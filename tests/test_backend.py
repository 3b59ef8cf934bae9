"""training.backend: jax — every training guarantee on JAX's CPU build, and no TensorFlow.

The pytest process itself runs Keras on TensorFlow (a process cannot switch backends), so
the JAX checks run in fresh processes with ``KERAS_BACKEND=jax`` and a ``tensorflow``
package on ``PYTHONPATH`` that records who imported it and refuses: a JAX job that imports
TensorFlow anywhere (Keras seeding, a data adapter, our code) fails these tests.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import copy_workflow, snakemake
from dlrepro import backend
from dlrepro.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts"

pytest.importorskip("jax", reason="JAX is not installed (pip install -r requirements.lock)")

BLOCKER = """
import os, traceback
with open(os.environ["DLREPRO_TF_IMPORTS"], "a") as fh:
    fh.write("".join(traceback.format_stack()) + "\\n----\\n")
raise ImportError("tensorflow must not be imported on the JAX backend")
"""


def jax_env(tmp_path: Path) -> dict:
    """Environment of a JAX process in which importing TensorFlow fails and is recorded."""
    blocked = tmp_path / "no-tensorflow"
    (blocked / "tensorflow").mkdir(parents=True, exist_ok=True)
    (blocked / "tensorflow" / "__init__.py").write_text(BLOCKER)
    env = dict(os.environ)
    env.update(
        KERAS_BACKEND="jax",
        PYTHONPATH=os.pathsep.join([str(blocked), str(SCRIPTS), str(REPO / "tests")]),
        DLREPRO_TF_IMPORTS=str(tmp_path / "tensorflow-imports.txt"),
        JAX_PLATFORMS="cpu",
    )
    return env


def tf_imports(tmp_path: Path) -> str:
    path = tmp_path / "tensorflow-imports.txt"
    return path.read_text() if path.exists() else ""


def test_unknown_backend_and_a_switch_after_import_are_refused_in_one_line():
    with pytest.raises(
        ConfigError, match=r"config key training.backend: 'torch', expected one of tensorflow, jax"
    ):
        backend.check("torch")
    import keras  # this pytest process: TensorFlow

    assert keras.backend.backend() == "tensorflow"
    with pytest.raises(ConfigError, match="already imported with the 'tensorflow' backend"):
        backend.select("jax", key="resources keras_backend of rule train_mnist")


@pytest.mark.parametrize("feed", ["device", "host"])
def test_training_guarantees_hold_on_jax_without_tensorflow(tmp_path, feed):
    """The backend-neutral tests of tests/test_training.py, run on JAX, with both ways of
    feeding batches (device: index blocks scanned on the device, as on a GPU; host: batch by
    batch, as on a CPU): same seed twice gives the same weights, a resumed run (stop_after,
    SIGTERM) equals an uninterrupted one bit for bit, a checkpoint of other settings is not
    resumed, one model.fit call, checkpoints only when due."""
    tests = [
        "test_resume_equals_uninterrupted_run",
        "test_same_seed_gives_the_same_weights",
        "test_different_seeds_differ",
        "test_checkpoint_of_other_settings_is_not_resumed",
        "test_sigterm_checkpoints_then_resume_is_bit_exact",
        "test_one_model_fit_call_and_checkpoints_only_when_due",
        "test_truncated_newest_checkpoint_resumes_from_the_previous_one",
        "test_only_checkpoint_corrupt_starts_afresh",
    ]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_training.py",
            "-k",
            " or ".join(tests),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env={**jax_env(tmp_path), "DLREPRO_JAX_FEED": feed},
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    assert f"{len(tests)} passed" in proc.stdout, proc.stdout[-2000:]
    assert not tf_imports(tmp_path), tf_imports(tmp_path)[-3000:]


KILL_SCRIPT = textwrap.dedent(
    """
    import logging
    import sys
    import numpy as np
    import keras
    from dlrepro import backend, training
    from test_training import _build
    assert backend.name() == "jax", backend.name()
    logging.basicConfig(level=logging.INFO)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8)).astype("float32")
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
    model, history = training.fit(_build, x, y, epochs=4, batch_size=32, seed=5, workdir=sys.argv[1], checkpoint_seconds=None)
    np.savez(sys.argv[2], *model.get_weights())
    print("LOSSES", [h["loss"] for h in history])
    print("PROVENANCE", __import__("json").dumps(backend.provenance()))
    """
)


@pytest.mark.parametrize("feed", ["device", "host"])
def test_kill_9_then_resume_is_bit_exact_on_jax(tmp_path, feed):
    """kill -9 right after epoch 2's checkpoint, rerun: the same weights and history as an
    uninterrupted run with the same seed."""
    env = {**jax_env(tmp_path), "DLREPRO_JAX_FEED": feed}

    def run(workdir, out, fault=""):
        return subprocess.run(
            [sys.executable, "-c", KILL_SCRIPT, str(tmp_path / workdir), str(tmp_path / out)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            env={**env, "DLREPRO_FAULT": fault} if fault else env,
        )

    full = run("full", "full.npz")
    assert full.returncode == 0, full.stderr[-3000:]
    killed = run("killed", "never.npz", fault="SIGKILL@2")
    assert killed.returncode == -9, (killed.returncode, killed.stderr[-2000:])
    assert json.loads((tmp_path / "killed" / "state.json").read_text())["epoch"] == 2
    resumed = run("killed", "resumed.npz")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from" in resumed.stderr
    losses = [line for line in full.stdout.splitlines() if line.startswith("LOSSES")]
    assert losses == [line for line in resumed.stdout.splitlines() if line.startswith("LOSSES")]
    a, b = np.load(tmp_path / "full.npz"), np.load(tmp_path / "resumed.npz")
    assert a.files == b.files
    for name in a.files:
        np.testing.assert_array_equal(a[name], b[name])
    prov = json.loads(
        next(line for line in full.stdout.splitlines() if line.startswith("PROVENANCE")).split(" ", 1)[1]
    )
    assert prov["backend"] == "jax" and prov["device"].startswith("CPU ") and prov["deterministic"] is True
    assert prov["jax"] and prov["keras"] and "tensorflow" not in prov
    assert not tf_imports(tmp_path), tf_imports(tmp_path)[-3000:]


@pytest.mark.workflow
def test_tiny_profile_on_jax_imports_no_tensorflow(tmp_path):
    """The tiny profile on JAX (one seed, one Indian Pines split: JAX's CPU Conv3D is slow):
    exit 0, the reproduction table, every run's metrics naming jax, and no process of the
    run (data, training, evaluation, prediction, tables, report) imported TensorFlow."""
    wf = copy_workflow(tmp_path / "wf")
    env = jax_env(tmp_path)
    env["PYTHONPATH"] = env["PYTHONPATH"].split(os.pathsep)[0]  # only the blocker: as a user's run
    proc = snakemake(
        wf,
        "--profile",
        "profiles/tiny",
        "--config",
        "training={backend: jax}",
        "seeds=[1]",
        "indian_pines={splits: [random]}",
        "max_epochs=1",
        timeout=2400,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    assert not tf_imports(tmp_path), tf_imports(tmp_path)[-3000:]
    metrics = sorted(wf.glob("results/**/metrics*.json"))
    assert metrics, "no metrics written"
    for path in metrics:
        runtime = json.loads(path.read_text()).get("runtime")
        if runtime is not None or "baseline" not in path.name:
            assert runtime and runtime["backend"] == "jax", path
    table = (wf / "results" / "tables" / "reproduction.md").read_text()
    assert "jax 0" in table and "on CPU" in table


def test_a_job_that_sees_two_devices_trains_on_one_with_the_same_weights(tmp_path):
    """Several GPUs: one training per GPU (docs/gpu.md). A job that sees two devices (here two
    host devices, XLA_FLAGS=--xla_force_host_platform_device_count=2) trains on one of them and
    gives the weights of a one-device run with the same seed."""
    env = {**jax_env(tmp_path), "DLREPRO_JAX_FEED": "device"}
    runs = {}
    for devices in (1, 2):
        flags = f"--xla_force_host_platform_device_count={devices}"
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                KILL_SCRIPT,
                str(tmp_path / f"w{devices}"),
                str(tmp_path / f"w{devices}.npz"),
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            env={**env, "XLA_FLAGS": flags},
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs[devices] = np.load(tmp_path / f"w{devices}.npz")
    check = subprocess.run(
        [sys.executable, "-c", "import jax; print(len(jax.devices()))"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"},
    )
    assert check.stdout.strip() == "2", check.stderr[-2000:]
    assert runs[1].files == runs[2].files
    for name in runs[1].files:
        np.testing.assert_array_equal(runs[1][name], runs[2][name])
    assert not tf_imports(tmp_path), tf_imports(tmp_path)[-3000:]

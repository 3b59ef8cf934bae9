"""More than one device: dlrepro.training.fit trains with tf.distribute.MirroredStrategy.

No GPU here, so the CPU is split into 2 logical devices. That device configuration must
happen before TensorFlow initialises and cannot be undone, so every check runs in its own
Python subprocess (nothing leaks into the other tests).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"

PRELUDE = """
import json, logging, sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)
from dlrepro import training

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
DEVICES = [d.name for d in tf.config.list_logical_devices("CPU")]

def build():
    import keras
    model = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

rng = np.random.default_rng(0)
x = rng.normal(size=(512, 8)).astype("float32")
y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
"""


def _run(body: str, tmp_path: Path) -> tuple[dict, str]:
    code = PRELUDE + textwrap.dedent(body)
    env = {**os.environ, "PYTHONPATH": str(SCRIPTS), "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory):
    """One subprocess (one TensorFlow start-up) for the MirroredStrategy runs."""
    return _run(
        """
        assert len(DEVICES) == 2, DEVICES
        strategy = training.distribution_strategy(DEVICES)
        full, hist_full = training.fit(build, x, y, epochs=3, batch_size=64, seed=4,
                                       workdir="a", devices=DEVICES)
        variable = full.trainable_variables[0]
        training.fit(build, x, y, epochs=3, batch_size=64, seed=4, workdir="b",
                     devices=DEVICES, stop_after=1)
        resumed, hist_resumed = training.fit(build, x, y, epochs=3, batch_size=64, seed=4,
                                             workdir="b", devices=DEVICES)
        same = all(np.array_equal(a, b) for a, b in zip(full.get_weights(), resumed.get_weights()))
        print(json.dumps({
            "replicas": strategy.num_replicas_in_sync,
            "strategy": type(strategy).__name__,
            "mirrored_variable": type(getattr(variable, "value", variable)).__name__,
            "losses_full": [h["loss"] for h in hist_full],
            "accuracy": hist_full[-1]["accuracy"],
            "same_weights": bool(same),
            "losses_resumed": [h["loss"] for h in hist_resumed],
        }))
        """,
        tmp_path_factory.mktemp("mirrored"),
    )


def test_fit_uses_mirrored_strategy_over_two_devices(mirrored):
    result, log = mirrored
    assert result["strategy"] == "MirroredStrategy" and result["replicas"] == 2
    assert "MirroredStrategy over 2 replicas" in log
    assert result["mirrored_variable"] == "MirroredVariable"  # weights kept on both devices
    assert result["losses_full"][-1] < result["losses_full"][0]
    assert 0 <= result["accuracy"] <= 1


def test_mirrored_training_resumes_bit_exact(mirrored):
    result, log = mirrored
    assert "resuming from b after epoch 1 of 3" in log
    assert result["losses_resumed"] == result["losses_full"]
    assert result["same_weights"]


def test_strategy_choice_by_visible_gpus(tmp_path):
    """One device: the default strategy; several GPUs: MirroredStrategy over all of them."""
    result, _ = _run(
        """
        single = training.distribution_strategy()
        calls = []
        real_list = tf.config.list_logical_devices
        tf.config.list_logical_devices = lambda kind=None: (
            ["/gpu:0", "/gpu:1"] if kind == "GPU" else real_list(kind))
        tf.distribute.MirroredStrategy = lambda *a, **k: calls.append((a, k)) or "mirrored"
        several = training.distribution_strategy()
        print(json.dumps({
            "single_replicas": single.num_replicas_in_sync,
            "single": type(single).__name__,
            "several": several,
            "calls": len(calls),
        }))
        """,
        tmp_path,
    )
    assert result["single_replicas"] == 1 and result["single"] != "MirroredStrategy"
    assert result["several"] == "mirrored" and result["calls"] == 1


def test_logical_devices_do_not_leak_into_this_process():
    import tensorflow as tf

    # the subprocesses above split their CPU; this process still has its single CPU device
    assert len(tf.config.list_logical_devices("CPU")) == 1

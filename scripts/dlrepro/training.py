"""Deterministic, resumable Keras training shared by every experiment.

* :func:`set_determinism` seeds Python, NumPy and TensorFlow
  (``keras.utils.set_random_seed``) and enables TensorFlow op determinism.
* :func:`distribution_strategy` uses ``tf.distribute.MirroredStrategy`` when the job sees
  more than one GPU (or when devices are given), the default strategy otherwise.
* :func:`fit` trains epoch by epoch.  After every epoch the model (with its optimizer
  state) and the history are checkpointed atomically into ``workdir``; a rerun after a
  kill, a time limit or a preemption resumes from the last completed epoch.  Data order
  and dropout masks are derived from ``(seed, epoch)`` alone, so a resumed run ends with
  the same weights as an uninterrupted run with the same seed.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .io import atomic_path, read_json, write_json

log = logging.getLogger("dlrepro")

STATE_FILE = "state.json"


def set_determinism(seed: int) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


def epoch_seed(seed: int, epoch: int) -> int:
    """A 31-bit seed that depends only on the run seed and the epoch."""
    return int(np.random.SeedSequence([int(seed), int(epoch)]).generate_state(1)[0] & 0x7FFFFFFF)


def distribution_strategy(devices: list[str] | None = None):
    """MirroredStrategy over ``devices`` or over all GPUs when there are several."""
    import tensorflow as tf

    if devices:
        return tf.distribute.MirroredStrategy(devices=devices)
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _reset_seed_generators(model, seed: int) -> None:
    """Put every layer's random-seed state (dropout masks) at a value fixed by ``seed``."""
    for index, layer in enumerate(model._flatten_layers(include_self=True, recursive=True)):
        for j, generator in enumerate(getattr(layer, "_seed_generators", []) or []):
            state = generator.state
            value = np.array([(seed + 7919 * index + 104729 * j) & 0x7FFFFFFF, 0])
            state.assign(value.astype(state.dtype))


def _load_state(workdir: Path, fingerprint: dict, logger: logging.Logger):
    state_path = workdir / STATE_FILE
    if not state_path.exists():
        return None
    state = read_json(state_path)
    if state.get("fingerprint") != fingerprint:
        logger.warning("%s: checkpoint was made with other settings; starting afresh", workdir)
        return None
    if not (workdir / state["checkpoint"]).exists():
        return None
    return state


def fit(
    build_model: Callable[[], object],
    x,
    y,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    workdir: str | os.PathLike,
    validation_data: tuple | None = None,
    shuffle: bool = True,
    logger: logging.Logger = log,
    devices: list[str] | None = None,
    stop_after: int | None = None,
    fingerprint: dict | None = None,
):
    """Train ``build_model()`` (a compiled Keras model) and return ``(model, history)``.

    ``history`` is a list of dicts, one per epoch (``epoch`` counts from 1, plus the
    Keras logs and ``seconds``).  ``stop_after`` ends the call after that many epochs
    in this process (used by tests to simulate a kill).  ``fingerprint`` (any JSON-able
    description of model, data and hyper-parameters) must match for a checkpoint to be
    resumed, so a checkpoint left by a different configuration is never continued.
    """
    import keras

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    set_determinism(seed)
    strategy = distribution_strategy(devices)
    if strategy.num_replicas_in_sync > 1:
        logger.info("MirroredStrategy over %d replicas", strategy.num_replicas_in_sync)

    fingerprint = {"seed": int(seed), "batch_size": int(batch_size), "n": len(x), **(fingerprint or {})}
    fingerprint = json.loads(json.dumps(fingerprint, sort_keys=True, default=str))
    state = _load_state(workdir, fingerprint, logger)
    with strategy.scope():
        if state is None:
            model = build_model()
            start, history = 0, []
        else:
            model = keras.models.load_model(workdir / state["checkpoint"])
            start, history = int(state["epoch"]), list(state["history"])
            logger.info("resuming from %s after epoch %d of %d", workdir, start, epochs)

    n = len(x)
    done_here = 0
    for epoch in range(start, epochs):
        eseed = epoch_seed(seed, epoch)
        keras.utils.set_random_seed(eseed)
        _reset_seed_generators(model, eseed)
        if shuffle:
            order = np.random.default_rng(eseed).permutation(n)
            xe, ye = x[order], y[order]
        else:
            xe, ye = x, y
        tic = time.perf_counter()
        result = model.fit(
            xe,
            ye,
            batch_size=batch_size,
            epochs=1,
            shuffle=False,
            validation_data=validation_data,
            verbose=0,
        )
        row = {"epoch": epoch + 1}
        row.update({k: float(v[-1]) for k, v in result.history.items()})
        row["seconds"] = round(time.perf_counter() - tic, 3)
        history.append(row)
        logger.info(
            "epoch %d/%d %s",
            epoch + 1,
            epochs,
            " ".join(f"{k}={v:.4f}" for k, v in row.items() if k != "epoch"),
        )
        _checkpoint(model, workdir, epoch + 1, history, fingerprint)
        done_here += 1
        if stop_after is not None and done_here >= stop_after and epoch + 1 < epochs:
            logger.info("stopping after %d epochs in this process (stop_after)", done_here)
            break
    return model, history


def _checkpoint(model, workdir: Path, epoch: int, history: list[dict], fingerprint: dict) -> None:
    """Save model+optimizer and history; the state file is the atomic commit point."""
    name = f"checkpoint-{epoch:05d}.keras"
    with atomic_path(workdir / name, suffix=".keras") as tmp:
        model.save(tmp)
    state = {"epoch": epoch, "checkpoint": name, "history": history, "fingerprint": fingerprint}
    write_json(state, workdir / STATE_FILE)
    for old in workdir.glob("checkpoint-*.keras"):
        if old.name != name:
            old.unlink(missing_ok=True)


def clear_checkpoints(workdir: str | os.PathLike) -> None:
    shutil.rmtree(workdir, ignore_errors=True)


def save_model(model, path: str | os.PathLike) -> None:
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)


def history_frame(history: list[dict]):
    """Per-epoch history as a table, columns ``epoch``, the Keras logs (sorted), ``seconds``.

    A fixed column order: rows restored from a checkpoint's state.json come with sorted keys,
    so a resumed run writes the same history.csv as an uninterrupted one.
    """
    import pandas as pd

    keys = {k for row in history for k in row}
    middle = sorted(keys - {"epoch", "seconds"})
    columns = [k for k in ("epoch", *middle, "seconds") if k in keys]
    return pd.DataFrame(history, columns=columns)


def count_params(model) -> int:
    return int(model.count_params())


def configure_threads(threads: int) -> None:
    """Use ``threads`` CPU threads in TensorFlow (call before any TensorFlow op)."""
    import tensorflow as tf

    threads = max(1, int(threads))
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
    except RuntimeError:  # already initialised (e.g. in tests)
        pass

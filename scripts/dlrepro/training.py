"""Deterministic, resumable Keras training shared by every experiment, on TensorFlow or JAX.

* The backend (config key ``training.backend``) is chosen before Keras is imported
  (:mod:`dlrepro.backend`); on JAX nothing here imports TensorFlow.
* :func:`set_determinism` seeds Python, NumPy and the backend and makes its ops
  deterministic (:func:`dlrepro.backend.set_determinism`).
* TensorFlow: :func:`distribution_strategy` uses ``tf.distribute.MultiWorkerMirroredStrategy`` when the
  process is one of several workers (TF_CONFIG, or a multi-task Slurm step: see
  :mod:`dlrepro.cluster`), ``tf.distribute.MirroredStrategy`` when the job sees more than one
  GPU (or when devices are given), the default strategy otherwise.  With several workers only
  the chief writes checkpoints and models; the others write into a temporary directory.
* :func:`fit` trains with **one** ``model.fit`` call; on TensorFlow over a ``tf.data`` pipeline built once
  (on JAX over index blocks of device copies of the arrays, :mod:`dlrepro.batches`):
  the training arrays become tensors once, and every epoch's batches are gathered from
  them in an order derived from ``(seed, epoch)`` alone (no per-epoch copy of the data, no
  per-epoch data adapter).  A callback resets the layers' random-seed state (dropout masks)
  at the start of every epoch from the same ``(seed, epoch)``, so a run resumed from a
  checkpoint ends with the same weights as an uninterrupted run with the same seed.
* Checkpoints (model + optimizer state + history, written atomically into ``workdir``) are
  taken at most every ``checkpoint_seconds`` (and/or every ``checkpoint_epochs``), so their
  cost stays a small fraction of training time, and always when the process receives
  SIGTERM, SIGUSR1 (what Slurm sends before a time limit or a preemption, see
  ``docs/cluster.md``) or SIGINT (Ctrl-C): the current epoch is finished, checkpointed,
  and the job ends with :class:`TrainingInterrupted`; a rerun resumes from there.
  The newest two checkpoints are kept; one that cannot be read (truncated, CRC error) is
  reported in one warning line, renamed ``<name>.corrupt`` by the chief, and the job resumes
  from the newest readable one, or starts afresh when none is left.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import math
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import backend, batches, cluster, keras_multiworker
from .batches import epoch_seed
from .checkpoints import STATE_FILE, kept, load_state, resume_point, unreadable  # noqa: F401 (STATE_FILE: API)
from .checkpoints import write as _checkpoint  # a module global: tests/test_multiworker.py delays it
from .errors import ConfigError, DlReproError
from .interrupts import FAULT_ENV, StopRequest, TrainingInterrupted, fault_for, format_seconds  # noqa: F401
from .io import atomic_path, read_json, write_json  # noqa: F401 (read_json, write_json: dlrepro.training's API)
from .tf_data import eval_dataset, shard_by_data, training_dataset

log = logging.getLogger("dlrepro")

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def set_determinism(seed: int) -> None:
    backend.set_determinism(seed)


def distribution_strategy(devices: list[str] | None = None):
    """TensorFlow: MultiWorkerMirroredStrategy for one of several workers; else
    MirroredStrategy over ``devices`` or over all GPUs when there are several; else the
    default strategy.  JAX: None (one device; several GPUs: one training per GPU, docs/gpu.md)."""
    kind = cluster.multi_worker_kind()
    if backend.name() == "jax":
        if kind:
            raise ConfigError(
                "config key training.backend: jax runs one training per process; multi-task jobs "
                "(resources tasks/mpi > 1) use TensorFlow's MultiWorkerMirroredStrategy: "
                "set training.backend: tensorflow for them (docs/multinode.md)"
            )
        return None
    import tensorflow as tf

    if kind:
        return cluster.multi_worker_strategy(kind)
    if devices:
        return tf.distribute.MirroredStrategy(devices=devices)
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def cpu_flags() -> set[str]:
    """The CPU feature flags of this machine (empty where /proc/cpuinfo is absent)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def check_precision(precision: str, gpus: int | None = None) -> None:
    """Refuse, in one line, a precision the hardware cannot run fast (config key training.precision)."""
    if precision not in PRECISIONS:
        raise ConfigError(f"config key training.precision: {precision!r}, expected one of {PRECISIONS}")
    if precision == "float32":
        return
    if gpus is None:
        gpus = len(backend.gpus())
    if gpus:
        return
    if precision == "mixed_float16":
        raise ConfigError(
            "config key training.precision: mixed_float16 needs a GPU (none visible); "
            "use float32, or mixed_bfloat16 on a CPU with AVX512-BF16/AMX"
        )
    if not cpu_flags() & {"avx512_bf16", "amx_bf16"}:
        raise ConfigError(
            "config key training.precision: mixed_bfloat16 needs a GPU or a CPU with AVX512-BF16 or "
            "AMX-BF16 (this CPU has neither); use float32"
        )


def set_precision(precision: str) -> None:
    """Keras' global dtype policy for the models built next (``float32`` = the lecture)."""
    import keras

    check_precision(precision)
    keras.mixed_precision.set_global_policy("float32" if precision == "float32" else precision)


def _reset_seed_generators(model, seed: int) -> None:
    """Put every layer's random-seed state (dropout masks) at a value fixed by ``seed``."""
    for index, layer in enumerate(model._flatten_layers(include_self=True, recursive=True)):
        for j, generator in enumerate(getattr(layer, "_seed_generators", []) or []):
            state = generator.state
            value = np.array([(seed + 7919 * index + 104729 * j) & 0x7FFFFFFF, 0])
            state.assign(value.astype(state.dtype))


def _make_callback(
    *,
    seed: int,
    epochs: int,
    history: list[dict],
    workdir: Path,
    fingerprint: dict,
    logger: logging.Logger,
    stop: StopRequest,
    stop_after: int | None,
    checkpoint_seconds: float | None,
    checkpoint_epochs: int | None,
    agree: Callable[[list[bool]], list[bool]] | None = None,
):
    """The Keras callback that seeds, times, logs and checkpoints every epoch.

    ``agree`` (several workers): makes every worker take the same checkpoint/stop decision
    (set on any worker = set on all), since saving and stopping must happen on all of them."""
    import keras

    fault = os.environ.get(FAULT_ENV, "")

    class EpochControl(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.started = time.perf_counter()
            self.last_checkpoint = self.started
            self.done_here = 0
            self.interrupted_after: int | None = None
            self.signalled = False  # a stop signal reached this or (several workers) another worker

        def on_epoch_begin(self, epoch, logs=None):
            # only the layers' seed state: keras.utils.set_random_seed here would change
            # TensorFlow's global seed and so retrace the train function every epoch
            # (measured: 2x the CPU per LSTM epoch)
            _reset_seed_generators(self.model, epoch_seed(seed, epoch))
            self.tic = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            row = {"epoch": epoch + 1}
            row.update({k: float(v) for k, v in (logs or {}).items()})
            row["seconds"] = round(now - self.tic, 3)
            history.append(row)
            self.done_here += 1
            elapsed = now - self.started
            eta = elapsed / self.done_here * (epochs - epoch - 1)
            logger.info(
                "epoch %d/%d %s elapsed=%s eta=%s",
                epoch + 1,
                epochs,
                " ".join(f"{k}={v:.4f}" for k, v in row.items() if k != "epoch"),
                format_seconds(elapsed),
                format_seconds(eta),
            )
            last = epoch + 1 >= epochs
            limit = stop_after is not None and self.done_here >= stop_after and not last
            self._fault(epoch + 1)
            due = (checkpoint_epochs and (epoch + 1) % checkpoint_epochs == 0) or (
                checkpoint_seconds is not None and now - self.last_checkpoint >= checkpoint_seconds
            )
            signalled = bool(stop.signum)
            if agree is not None and not last:
                due, limit, signalled = agree([bool(due), limit, signalled])
            if not last and (due or limit or signalled):
                _checkpoint(self.model, workdir, epoch + 1, history, fingerprint)
                self.last_checkpoint = time.perf_counter()
            if not last and (limit or signalled):
                self.signalled = signalled
                self.model.stop_training = True
                self.interrupted_after = epoch + 1
                if limit:
                    logger.info("stopping after %d epochs in this process (stop_after)", self.done_here)

        def _fault(self, epoch_done: int) -> None:
            """Test-only fault injection (``DLREPRO_FAULT``), see the module constants."""
            what = fault_for(fault, workdir, epoch_done)
            if not what:
                return
            if what == "PAUSE":
                (workdir / "paused").write_text(str(epoch_done))
                stop.event.wait(600)
            elif what == "SIGKILL":
                _checkpoint(self.model, workdir, epoch_done, history, fingerprint)
                os.kill(os.getpid(), signal.SIGKILL)
            else:
                os.kill(os.getpid(), getattr(signal, what))

    return EpochControl()


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
    callbacks: list | None = None,
    checkpoint_seconds: float | None = 60.0,
    checkpoint_epochs: int | None = None,
    precision: str = "float32",
):
    """Train ``build_model()`` (a compiled Keras model) and return ``(model, history)``.

    ``history`` is a list of dicts, one per epoch (``epoch`` counts from 1, plus the
    Keras logs and ``seconds``, the epoch's wall time).  ``stop_after`` ends the call after
    that many epochs in this process (tests use it to simulate a kill).  ``fingerprint``
    (any JSON-able description of model, data and hyper-parameters) must match for a
    checkpoint to be resumed, so a checkpoint left by another configuration is never
    continued.  ``callbacks`` are extra Keras callbacks (e.g. a benchmark's timer).
    A checkpoint is written when ``checkpoint_seconds`` have passed since the last one,
    every ``checkpoint_epochs`` epochs (when set), and on SIGTERM/SIGUSR1/SIGINT, after
    which :class:`TrainingInterrupted` is raised.  ``precision`` is Keras' dtype policy
    (``float32``, the lecture's; ``mixed_bfloat16``; ``mixed_float16`` on GPUs).
    """
    import keras

    workdir = Path(workdir)
    if cluster.multi_worker_kind():
        distribution_strategy(devices)  # before any other TensorFlow op
    set_determinism(seed)
    set_precision(precision)
    strategy = distribution_strategy(devices)
    multi = keras_multiworker.is_multi_worker(strategy)
    chief = not multi or bool(strategy.extended.should_checkpoint)
    if multi:
        logger.info(
            "MultiWorkerMirroredStrategy: worker %d of %d%s, %d replicas in sync",
            cluster.task_rank(),
            strategy.extended._num_workers,
            " (chief: writes checkpoints and outputs)" if chief else "",
            strategy.num_replicas_in_sync,
        )
    elif strategy is not None and strategy.num_replicas_in_sync > 1:
        logger.info("MirroredStrategy over %d replicas", strategy.num_replicas_in_sync)
    # a non-chief worker reads the chief's checkpoints but writes its own into a temp dir
    savedir = workdir if chief else Path(tempfile.mkdtemp(prefix="dlrepro-worker-"))
    if not chief:
        atexit.register(shutil.rmtree, savedir, True)
    savedir.mkdir(parents=True, exist_ok=True)

    fingerprint = {"seed": int(seed), "batch_size": int(batch_size), "n": len(x), **(fingerprint or {})}
    if precision != "float32":
        fingerprint["precision"] = precision
    if backend.name() != "tensorflow":  # another order of batches: never resume across backends
        fingerprint["backend"] = backend.name()
    fingerprint = json.loads(json.dumps(fingerprint, sort_keys=True, default=str))
    if multi:  # the chief has finished writing its last checkpoint before anyone reads
        cluster.barrier(strategy)
    state = load_state(workdir, fingerprint, logger, chief=chief)
    if multi:  # before any variable exists: the epoch each worker will resume from (whole archives)
        expected = next((e["epoch"] for e in kept(state) if unreadable(workdir / e["checkpoint"]) is None), 0)
        _same_start(strategy, workdir, expected)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model, resumed = resume_point(workdir, state, logger, chief=chief, load=keras.models.load_model)
        if resumed is None:
            model = build_model()
            start, history = 0, []
        else:
            start, history = resumed["epoch"], resumed["history"]
    if multi:  # the same after loading (a whole archive that Keras cannot load is skipped too)
        _same_start(strategy, workdir, start)
    if resumed is not None:
        logger.info("resuming from %s after epoch %d of %d", workdir, start, epochs)
    if start >= epochs:
        return model, history[:epochs]

    inputs = _inputs(model, x, y, validation_data, batch_size, seed, start, epochs, shuffle, multi)
    with StopRequest(logger) as stop, keras_multiworker.patched(strategy):
        control = _make_callback(
            seed=seed,
            epochs=epochs,
            history=history,
            workdir=savedir,
            fingerprint=fingerprint,
            logger=logger,
            stop=stop,
            stop_after=stop_after,
            checkpoint_seconds=checkpoint_seconds,
            checkpoint_epochs=checkpoint_epochs,
            agree=(lambda flags: cluster.any_worker(strategy, flags)) if multi else None,
        )
        model.fit(
            **inputs,
            epochs=epochs,
            initial_epoch=start,
            shuffle=False,
            callbacks=[control, *(callbacks or [])],
            verbose=0,
        )
    if control.signalled and control.interrupted_after is not None:
        raise TrainingInterrupted(
            f"training stopped by {stop.name or 'a signal to another worker'} after epoch "
            f"{control.interrupted_after} of {epochs}; "
            f"checkpoint saved in {workdir}; rerun the workflow to resume from it"
        )
    return model, history


def _same_start(strategy, workdir: Path, start: int) -> None:
    """Every worker resumes after the same epoch (``0``: none), or one line says why not."""
    if not cluster.same_on_every_worker(strategy, start):
        # workers resuming from different epochs would run different collectives and hang or fail
        raise DlReproError(
            f"{workdir}: worker {cluster.task_rank()} finds "
            + (f"a checkpoint after epoch {start}" if start else "no checkpoint")
            + " there, the other workers do not all find the same; every worker must see the chief's checkpoint directory"
            " (a shared file system; docs/multinode.md)"
        )


def _inputs(model, x, y, validation_data, batch_size, seed, start, epochs, shuffle, multi) -> dict:
    """The data keywords of ``model.fit``: TensorFlow, a ``tf.data`` pipeline; JAX, index
    blocks of device copies of the arrays (:func:`dlrepro.batches.attach`), or host batches
    for a training set too large to copy whole.  Same epochs, same batches either way."""
    order = {
        "batch_size": batch_size,
        "seed": seed,
        "first_epoch": start,
        "epochs": epochs,
        "shuffle": shuffle,
    }
    if backend.name() == "tensorflow":
        train = training_dataset(x, y, **order)
        validation = None
        if validation_data is not None:
            validation = eval_dataset(validation_data[0], validation_data[1], batch_size)
        if multi:  # every worker builds the same batches; each takes its replicas' share of them
            train = shard_by_data(train)
            validation = None if validation is None else shard_by_data(validation)
        return {"x": train, "validation_data": validation, "steps_per_epoch": math.ceil(len(x) / batch_size)}
    jax_inputs = {"validation_batch_size": max(batch_size, batches.EVAL_BATCH), "validation_data": None}
    if validation_data is not None:
        jax_inputs["validation_data"] = tuple(batches.as_array(a) for a in validation_data)
    if batches.on_device(x):
        batches.attach(model, x, y)
        x_in, steps = batches.index_blocks(len(x), **order), batches.blocks_per_epoch(len(x), batch_size)
    else:
        x_in, steps = batches.host_batches(x, y, **order), math.ceil(len(x) / batch_size)
    return {"x": x_in, "steps_per_epoch": steps, **jax_inputs}


def clear_checkpoints(workdir: str | os.PathLike) -> None:
    if cluster.is_chief():
        shutil.rmtree(workdir, ignore_errors=True)


def save_model(model, path: str | os.PathLike) -> None:
    """Save atomically to ``path``; a non-chief worker saves too (all workers must) but into
    a temporary directory that is removed."""
    if not cluster.is_chief():
        with tempfile.TemporaryDirectory(prefix="dlrepro-worker-") as tmp:
            model.save(Path(tmp) / "model.keras")
        return
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


def configure_threads(threads: int) -> int:
    """Use exactly ``threads`` CPU threads in TensorFlow (call before any TensorFlow op).

    ``threads`` is what the job was given (Snakemake's ``threads``: ``--cores``,
    ``--set-threads``, Slurm's CPUs per task/GPU).  Returns the number set.
    """
    threads = backend.configure_threads(threads)
    if cluster.multi_worker_kind():  # one of several workers: the strategy comes first
        distribution_strategy()
    return threads


def runtime_summary(threads: int) -> str:
    """One log line: backend, threads, devices, determinism (what this job actually runs on)."""
    return backend.summary(threads)


def training_options(params) -> dict:
    """The ``fit`` keywords from a rule's ``training`` params (config section ``training``)."""
    params = dict(params or {})
    return {
        "checkpoint_seconds": params.get("checkpoint_seconds", 60.0),
        "checkpoint_epochs": params.get("checkpoint_epochs"),
        "precision": params.get("precision", "float32"),
    }

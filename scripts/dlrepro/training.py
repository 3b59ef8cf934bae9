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
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import backend, cluster, keras_multiworker
from .batches import epoch_seed
from .errors import ConfigError, DlReproError
from .io import atomic_path, read_json, write_json

log = logging.getLogger("dlrepro")

STATE_FILE = "state.json"
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
#: signals that make a training job checkpoint at the end of the current epoch and stop
STOP_SIGNALS = ("SIGTERM", "SIGUSR1", "SIGINT")
#: fault injection for the tests: ``SIGNAME@EPOCH`` makes the training process send itself
#: that signal right after that epoch (e.g. ``SIGKILL@2``, ``SIGTERM@3``); ``PAUSE@EPOCH``
#: makes it write ``<workdir>/paused`` after that epoch and wait (up to 10 min) for a signal.
#: ``WHAT@EPOCH:TEXT`` applies only to trainings whose checkpoint directory contains TEXT;
#: several faults are separated by commas (the Slurm test pauses one training per experiment).
FAULT_ENV = "DLREPRO_FAULT"


class TrainingInterrupted(DlReproError):
    """Training stopped on a signal after a checkpoint; rerunning resumes it."""


def fault_for(spec: str, workdir: Path | str, epoch_done: int) -> str | None:
    """The fault of ``DLREPRO_FAULT`` (``spec``) due after ``epoch_done`` in ``workdir``."""
    for item in filter(None, (s.strip() for s in spec.split(","))):
        what, _, rest = item.partition("@")
        at, _, where = rest.partition(":")
        if at.isdigit() and int(at) == epoch_done and where in str(workdir):
            return what
    return None


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


def _load_state(workdir: Path, fingerprint: dict, logger: logging.Logger, *, chief: bool = True):
    """The state of ``workdir``'s checkpoints, or None (none there, or made with other settings).

    ``state.json`` describes the newest checkpoint at its top level (``epoch``, ``checkpoint``,
    ``history``: the format of a single checkpoint, which older directories have) and the older
    one still kept under ``previous`` (a list of the same three keys)."""
    state_path = workdir / STATE_FILE
    if not state_path.exists():
        return None
    try:
        state = read_json(state_path)
        _kept(state)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        why = _one_line(exc)
        aside = _set_aside(state_path) if chief else None
        logger.warning(
            "%s: unreadable checkpoint state (%s); %s, starting afresh",
            state_path,
            why,
            f"set aside as {aside.name}" if aside else "skipped (the chief worker sets it aside)",
        )
        return None
    if state.get("fingerprint") != fingerprint:
        logger.warning("%s: checkpoint was made with other settings; starting afresh", workdir)
        return None
    return state


def _kept(state: dict | None) -> list[dict]:
    """The checkpoints that ``state`` keeps, newest first: ``{epoch, checkpoint, history}``."""
    if not state:
        return []
    entries = [state, *state.get("previous", [])]
    return [
        {"epoch": int(e["epoch"]), "checkpoint": str(e["checkpoint"]), "history": list(e["history"])}
        for e in entries
    ]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _unreadable(path: Path) -> str | None:
    """Why the ``.keras`` archive ``path`` cannot be a checkpoint (missing, truncated, a member
    that fails its CRC), or None when it looks whole."""
    if not path.is_file():
        return "file missing"
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = sorted({"config.json", "model.weights.h5"} - names)
            if missing:
                return f"archive lacks {', '.join(missing)}"
            bad = archive.testzip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        return f"not a whole .keras zip archive, {size} bytes: {_one_line(exc)}"
    if bad is not None:
        return f"member {bad} fails its CRC check"
    return None


def _set_aside(path: Path) -> Path:
    """Rename ``path`` to ``<name>.corrupt`` (``.corrupt-2``, ... if taken); never deletes."""
    aside = path.with_name(path.name + ".corrupt")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{n}")
    os.replace(path, aside)
    return aside


def _resume_point(workdir: Path, state: dict | None, logger: logging.Logger, *, chief: bool, load):
    """Load the newest readable checkpoint that ``state`` keeps: ``(model, entry)``, or
    ``(None, None)`` when none is left.  Each unreadable one is reported in one warning line and,
    by the chief only, set aside (renamed ``.corrupt``) and dropped from ``state.json``; other
    workers skip it.  The choice depends only on the directory's content, so every worker of a
    multi-worker job makes the same one."""
    kept = _kept(state)
    bad: list[tuple[dict, str]] = []
    model, chosen = None, None
    for entry in kept:
        path = workdir / entry["checkpoint"]
        why = _unreadable(path)
        if why is None:
            try:
                model = load(path)
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
                why = f"{type(exc).__name__}: {_one_line(exc)}"
        if why is None:
            chosen = entry
            break
        bad.append((entry, why))
    if not bad:
        return model, chosen
    outcome = (
        f"resuming from {chosen['checkpoint']} (epoch {chosen['epoch']})" if chosen else "starting afresh"
    )
    for entry, why in bad:
        path = workdir / entry["checkpoint"]
        if not path.exists():
            aside = "nothing to set aside"
        elif chief:
            aside = f"set aside as {_set_aside(path).name}"
        else:
            aside = "skipped (the chief worker sets it aside)"
        logger.warning("%s: unreadable checkpoint (%s); %s, %s", path, why, aside, outcome)
    if chief:  # state.json keeps only what is left (none left: no state)
        left = kept[kept.index(chosen) :] if chosen else []
        if left:
            write_json(
                {**left[0], "fingerprint": state["fingerprint"], "previous": left[1:]}, workdir / STATE_FILE
            )
        else:
            (workdir / STATE_FILE).unlink(missing_ok=True)
    return model, chosen


def training_dataset(
    x, y, *, batch_size: int, seed: int, first_epoch: int, epochs: int, shuffle: bool = True
):
    """Batches of ``(x, y)`` for epochs ``first_epoch .. epochs-1``, one ``tf.data`` pipeline.

    The arrays are converted to tensors once; each epoch's order is a stateless shuffle
    seeded by :func:`epoch_seed` ``(seed, epoch)``, so any epoch's batches are the same
    whether the run started at epoch 0 or resumed later.  Every epoch has
    ``ceil(n / batch_size)`` batches (the last one smaller), as ``model.fit`` on arrays.
    The pipeline uses no parallel ``map``: with op determinism on, TensorFlow 2.21
    rewrites parallel maps and logs a ``use_unbounded_threadpool`` error per epoch.
    """
    import tensorflow as tf

    n = len(x)
    seeds = np.array([[epoch_seed(seed, e), 0] for e in range(first_epoch, epochs)], dtype=np.int64)

    def one_epoch(epoch_seeds):
        order = tf.range(n, dtype=tf.int64)
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(order, seed=epoch_seeds)
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    batches = tf.data.Dataset.from_tensor_slices(seeds.reshape(-1, 2)).flat_map(one_epoch)
    return _gather(x, y, batches)


def _gather(x, y, batches):
    """``(x[i], y[i])`` for every index batch ``i`` (the arrays become tensors once; a
    sequential ``map``, see :func:`training_dataset`), prefetched.  An ``x`` with a
    ``tf_gather(index)`` method (a streamed patch array) gathers its own batches."""
    import tensorflow as tf

    yt = tf.convert_to_tensor(y)
    if hasattr(x, "tf_gather"):  # windows cut per batch (dlrepro.hyperspectral.streaming)
        return batches.map(lambda i: (x.tf_gather(i), tf.gather(yt, i))).prefetch(tf.data.AUTOTUNE)
    xt = tf.convert_to_tensor(x)
    return batches.map(lambda i: (tf.gather(xt, i), tf.gather(yt, i))).prefetch(tf.data.AUTOTUNE)


def eval_dataset(x, y, batch_size: int):
    """Batches of ``(x, y)`` in order (validation, evaluation), without a parallel ``map``."""
    import tensorflow as tf

    return _gather(x, y, tf.data.Dataset.range(len(x)).batch(batch_size))


class _StopRequest:
    """Signal handlers that ask the training to stop at the end of the current epoch.

    A second SIGINT stops at once (``KeyboardInterrupt``), as users expect of Ctrl-C twice.
    Installed only in the main thread; the previous handlers are restored on exit.
    """

    def __init__(self, logger: logging.Logger):
        self.logger = logger
        self.signum: int | None = None
        self.event = threading.Event()
        self._previous: dict[int, object] = {}

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""

    def _handle(self, signum, frame):
        if self.signum == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum
        self.event.set()
        self.logger.warning(
            "received %s: finishing this epoch, then checkpointing and stopping",
            signal.Signals(signum).name,
        )

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for name in STOP_SIGNALS:
                signum = getattr(signal, name, None)
                if signum is not None:
                    self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        return False


def _format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _make_callback(
    *,
    seed: int,
    epochs: int,
    history: list[dict],
    workdir: Path,
    fingerprint: dict,
    logger: logging.Logger,
    stop: _StopRequest,
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
                _format_seconds(elapsed),
                _format_seconds(eta),
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
    state = _load_state(workdir, fingerprint, logger, chief=chief)
    if multi:  # before any variable exists: the epoch each worker will resume from (whole archives)
        expected = next(
            (e["epoch"] for e in _kept(state) if _unreadable(workdir / e["checkpoint"]) is None), 0
        )
        _same_start(strategy, workdir, expected)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model, resumed = _resume_point(workdir, state, logger, chief=chief, load=keras.models.load_model)
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
    with _StopRequest(logger) as stop, keras_multiworker.patched(strategy):
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
            train = _shard_by_data(train)
            validation = None if validation is None else _shard_by_data(validation)
        return {"x": train, "validation_data": validation, "steps_per_epoch": math.ceil(len(x) / batch_size)}
    from . import batches

    validation = None
    if validation_data is not None:
        validation = tuple(batches.as_array(a) for a in validation_data)
    if batches.on_device(x):
        batches.attach(model, x, y)
        return {
            "x": batches.index_blocks(len(x), **order),
            "steps_per_epoch": batches.blocks_per_epoch(len(x), batch_size),
            "validation_data": validation,
            "validation_batch_size": max(batch_size, batches.EVAL_BATCH),
        }
    return {
        "x": batches.host_batches(x, y, **order),
        "steps_per_epoch": math.ceil(len(x) / batch_size),
        "validation_data": validation,
        "validation_batch_size": max(batch_size, batches.EVAL_BATCH),
    }


def _checkpoint(model, workdir: Path, epoch: int, history: list[dict], fingerprint: dict) -> None:
    """Save model+optimizer and history; the state file is the atomic commit point.

    The newest two checkpoints are kept (the older one, with its history, under ``previous``
    in ``state.json``), so a newest one that turns out unreadable still leaves one to resume
    from; older ones are deleted once the new state is written."""
    name = f"checkpoint-{epoch:05d}.keras"
    with atomic_path(workdir / name, suffix=".keras") as tmp:
        model.save(tmp)
    try:
        old = read_json(workdir / STATE_FILE)
        earlier = _kept(old) if old.get("fingerprint") == fingerprint else []
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        earlier = []
    previous = [
        e
        for e in earlier
        if e["epoch"] < epoch and e["checkpoint"] != name and (workdir / e["checkpoint"]).is_file()
    ][:1]
    state = {
        "epoch": epoch,
        "checkpoint": name,
        "history": list(history),
        "fingerprint": fingerprint,
        "previous": previous,
    }
    write_json(state, workdir / STATE_FILE)
    keep = {name, *(e["checkpoint"] for e in previous)}
    for stale in workdir.glob("checkpoint-*.keras"):
        if stale.name not in keep:
            stale.unlink(missing_ok=True)


def _shard_by_data(dataset):
    """Split each global batch across the workers' replicas (not files: there are none)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


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

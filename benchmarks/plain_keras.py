"""The plain reference of the training benchmark: a lecture-style Keras script.

In-memory NumPy arrays, one ``model.fit(epochs=N)``, nothing else: no checkpoints, no
resume, no per-epoch reseeding.  :func:`train` is what ``benchmarks/training.py`` runs
as the "plain" side; it records each epoch's wall time (``time.perf_counter``) and CPU
time of the process (``time.process_time``) with a small Keras callback.

The backend is Keras' own choice (``KERAS_BACKEND``, default TensorFlow), as in a plain
script; on a backend other than TensorFlow nothing here imports TensorFlow (see :func:`set_seed`).

Usage (one model on its benchmark data, see ``benchmarks/workloads.py``)::

    .venv/bin/python benchmarks/plain_keras.py --model lenet --epochs 3 [--samples 2000]
    KERAS_BACKEND=jax .venv/bin/python benchmarks/plain_keras.py --model lenet --epochs 3
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # before TensorFlow is imported
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import time  # noqa: E402

import keras  # noqa: E402


class EpochClock(keras.callbacks.Callback):
    """Wall and process-CPU time stamps at the start of training and after every epoch.

    ``reset_on_train_begin=False``: the caller sets the first stamp (``stamps = [...]``)
    before a training loop that may call ``model.fit`` more than once.
    """

    def __init__(self, reset_on_train_begin: bool = True):
        super().__init__()
        self.reset_on_train_begin = reset_on_train_begin
        self.stamps: list[tuple[float, float]] = []

    def on_train_begin(self, logs=None):
        if self.reset_on_train_begin or not self.stamps:
            self.stamps = [(time.perf_counter(), time.process_time())]

    def on_epoch_end(self, epoch, logs=None):
        self.stamps.append((time.perf_counter(), time.process_time()))

    def per_epoch(self) -> tuple[list[float], list[float]]:
        """(wall seconds, CPU seconds) of each epoch: differences of consecutive stamps."""
        wall = [b[0] - a[0] for a, b in zip(self.stamps, self.stamps[1:], strict=False)]
        cpu = [b[1] - a[1] for a, b in zip(self.stamps, self.stamps[1:], strict=False)]
        return wall, cpu


def set_seed(value: int) -> None:
    """``keras.utils.set_random_seed``, the lecture's seeding.  On JAX (or any backend other
    than TensorFlow) Keras would also import TensorFlow, when installed, to seed it: it is told
    that TensorFlow is absent first, so a Keras-on-JAX run never loads it (as on a machine
    without TensorFlow; the same as ``dlrepro.backend.set_determinism``)."""
    if keras.backend.backend() != "tensorflow":
        from keras.src.utils import module_utils

        module_utils.tensorflow._available = False
    keras.utils.set_random_seed(int(value))


def train(build_model, x, y, *, epochs, batch_size, seed, validation_data=None, shuffle=True) -> dict:
    """Seed, build, one ``model.fit``; return per-epoch wall/CPU seconds and the Keras history."""
    set_seed(seed)
    model = build_model()
    clock = EpochClock()
    history = model.fit(
        x,
        y,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=validation_data,
        shuffle=shuffle,
        verbose=0,
        callbacks=[clock],
    )
    wall, cpu = clock.per_epoch()
    return {"model": model, "wall": wall, "cpu": cpu, "history": history.history}


def train_workload(work, *, epochs: int, seed: int) -> dict:
    """:func:`train` on a ``workloads.Workload``: its data, batch size and validation part."""
    return train(
        work.build,
        work.x,
        work.y,
        epochs=epochs,
        batch_size=work.batch_size,
        seed=seed,
        validation_data=work.validation,
    )


def main(argv=None) -> None:
    from workloads import MODELS, load

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=MODELS, required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=None, help="training samples (default: all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--synthetic", action="store_true", help="the synthetic generators, not real data")
    args = parser.parse_args(argv)
    work = load(args.model, args.samples, args.synthetic)
    print(f"{args.model}: {work.n_train} training samples, batch {work.batch_size}, data {work.data}")
    result = train_workload(work, epochs=args.epochs, seed=args.seed)
    for i, (wall, cpu) in enumerate(zip(result["wall"], result["cpu"], strict=True), start=1):
        logs = " ".join(f"{k}={v[i - 1]:.4f}" for k, v in result["history"].items())
        print(f"epoch {i}: {wall:.2f} s wall, {cpu:.2f} s CPU, {logs}")


if __name__ == "__main__":
    main()

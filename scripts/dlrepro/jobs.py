"""What every training script does around its model, in one place.

A training job (``scripts/*_train.py``, ``scripts/sweep_train_*.py``) reads its data, builds its
model and then always does the same: set the threads and log the runtime line (:func:`start`),
one resumable :func:`dlrepro.training.fit` with the rule's checkpoint directory and training
options, logging how long it took (:func:`fit`), and write the model, the per-epoch history and
(for sweep points) the metrics before the checkpoints go (:func:`finish`: a job stopped between
those writes resumes from its checkpoint instead of training again).
"""

from __future__ import annotations

import time

from . import training
from .io import write_csv, write_json


def start(snakemake, log) -> int:
    """Threads of the job (``threads:`` of the rule), and the runtime line in the log."""
    threads = training.configure_threads(snakemake.threads)
    log.info("%s", training.runtime_summary(threads))
    return threads


def fit(snakemake, log, build, x, y, *, seed: int, epochs: int, batch_size: int, fingerprint: dict, **kwargs):
    """:func:`dlrepro.training.fit` with the rule's ``params.checkpoints`` and
    ``params.training``; returns ``(model, history)`` and logs the time and parameters."""
    tic = time.perf_counter()
    model, history = training.fit(
        build,
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        seed=int(seed),
        workdir=snakemake.params.checkpoints,
        logger=log,
        **training.training_options(snakemake.params.training),
        fingerprint=fingerprint,
        **kwargs,
    )
    seconds = time.perf_counter() - tic
    log.info(
        "trained in %.1f s (%.2f s per epoch), %d parameters",
        seconds,
        seconds / max(len(history), 1),
        model.count_params(),
    )
    return model, history


def finish(snakemake, model, history, metrics: dict | None = None) -> None:
    """Write ``output.model``, ``output.history`` (and ``output.metrics``), then drop the
    checkpoints."""
    training.save_model(model, snakemake.output.model)
    write_csv(training.history_frame(history), snakemake.output.history)
    if metrics is not None:
        write_json(metrics, snakemake.output.metrics)
    training.clear_checkpoints(snakemake.params.checkpoints)

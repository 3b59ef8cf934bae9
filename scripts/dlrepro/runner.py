"""Run a Snakemake script's ``main`` with logging to the rule's log file.

Usage inside ``scripts/<name>.py``::

    from dlrepro.runner import run

    def main(snakemake, log):
        ...

    run(main, snakemake)  # noqa: F821 (snakemake is injected)

Expected failures (:class:`dlrepro.errors.DlReproError`, and file-system conditions such
as a full disk or a read-only directory, see :func:`dlrepro.io.output_error`) are reported
as one line ``ERROR: <message>`` on stderr and in the log, and the job exits with status 1.
Anything else keeps its full traceback (that is a bug, not bad input).

Logs of every attempt are kept.  Snakemake deletes a job's log before it runs the job
again (a retry, a rerun after Ctrl-C, a resubmission after a Slurm time limit), so each
attempt also appends to a hidden companion ``<log dir>/.<log name>.attempts``; a new
attempt first copies what earlier attempts wrote into the log, then a line
``==== attempt N (the log of attempts 1..N-1 is above) ====``.  The companion is removed
when the job succeeds, so the next successful run starts a clean log.

Multi-task jobs (``resources.mpi`` and ``resources.tasks`` > 1, see :mod:`dlrepro.cluster` and
docs/multinode.md): this process becomes the launcher and starts the script once per task; in
the tasks, the chief (task 0) appends to the rule's log, the others log to a hidden
``.<log>.task<N>`` and write their outputs into a temporary directory that is removed.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

from . import backend, cluster
from .errors import DlReproError
from .io import output_error

ATTEMPT_MARK = "==== attempt "


def attempts_path(log_path: str | os.PathLike) -> Path:
    """The hidden companion of a rule log that keeps the earlier attempts' lines."""
    log_path = Path(log_path)
    return log_path.with_name(f".{log_path.name}.attempts")


def _start_attempt(log_path: str) -> None:
    """Put the earlier attempts' lines (if any) and this attempt's header at the top of the log."""
    previous = attempts_path(log_path)
    earlier = previous.read_text(encoding="utf-8", errors="replace") if previous.exists() else ""
    number = earlier.count(ATTEMPT_MARK) + 1 if earlier else 1
    header = (
        f"{ATTEMPT_MARK}{number} started {time.strftime('%Y-%m-%d %H:%M:%S')} on {socket.gethostname()}"
        f" (pid {os.getpid()}{', the log of the earlier attempts is above' if earlier else ''}) ====\n"
    )
    Path(log_path).write_text(earlier + header, encoding="utf-8")
    with open(previous, "a", encoding="utf-8") as fh:
        fh.write(header)


def get_logger(log_path: str | None = None, name: str = "dlrepro", companion: bool = True) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(fmt)
    logger.addHandler(stream)
    if log_path:
        for path in (log_path, attempts_path(log_path)) if companion else (log_path,):
            fileh = logging.FileHandler(path, mode="a", encoding="utf-8")
            fileh.setFormatter(fmt)
            logger.addHandler(fileh)
    logger.propagate = False
    return logger


def _fail(logger: logging.Logger, message: str) -> None:
    logger.error("%s", message)
    for handler in logger.handlers:
        handler.flush()
    print(f"ERROR: {message}", file=sys.stderr)
    sys.exit(1)


def run(main: Callable, snakemake) -> None:
    log_path = str(snakemake.log[0]) if len(snakemake.log) else None
    worker = bool(os.environ.get(cluster.WORKER_ENV))  # one of the tasks a launcher started
    rank, scratch = (cluster.task_rank() if worker else 0), None
    if rank and log_path:  # a non-chief task: its own hidden log, outputs into a temp dir
        log_path = str(cluster.task_log(log_path, rank))
    if rank:
        scratch = cluster.redirect_outputs(snakemake)
    elif log_path and not worker:
        _start_attempt(log_path)
    logger = get_logger(log_path, companion=not rank)
    try:
        backend.select(*job_backend(snakemake))
        command = None if worker else cluster.launch_request(snakemake)
        if command:
            cluster.launch_workers(command, log_path, logger)
        else:
            main(snakemake, logger)
    except DlReproError as exc:
        _fail(logger, with_user_origin(str(exc)))
    except Exception as exc:
        error = output_error(_first_output(snakemake), exc) if isinstance(exc, OSError) else None
        if error is not None:
            _fail(logger, str(error))
        logger.exception("unexpected error (a bug, please report it with this log)")
        raise
    finally:
        if scratch is not None:
            cluster.remove_tree(scratch)
    if log_path and not worker:
        for handler in logger.handlers:
            handler.close()
        logger.handlers.clear()
        attempts_path(log_path).unlink(missing_ok=True)


def job_backend(snakemake) -> tuple[str | None, str]:
    """The Keras backend of this job and the key that chose it: the rule's resource
    ``keras_backend`` (a profile's per-rule choice), else the config key ``training.backend``
    (the rule's ``training`` params), else ``$KERAS_BACKEND`` (set by the workflow)."""
    resources = getattr(snakemake, "resources", None)
    chosen = getattr(resources, "keras_backend", None) if resources is not None else None
    if chosen:
        return str(chosen), f"resources keras_backend of rule {getattr(snakemake, 'rule', '?')}"
    params = getattr(snakemake, "params", None)
    training = getattr(params, "training", None) if params is not None else None
    if isinstance(training, dict) and training.get("backend"):
        return str(training["backend"]), "training.backend"
    return None, "training.backend"


def with_user_origin(message: str) -> str:
    """``message`` with, when it begins with the path of a copied user file
    (``resources/<dataset>/<name>`` whose manifest says ``via: user``), the file it copies:
    the user edits their own file, not the copy."""
    import json

    path = Path(message.split(": ", 1)[0])
    try:
        manifest = json.loads((path.parent / "manifest.json").read_text())
        entry = manifest["files"][path.name]
    except (OSError, ValueError, KeyError, TypeError):
        return message
    if entry.get("via") != "user" or not entry.get("origin"):
        return message
    key = f"datasets.{manifest.get('dataset', path.parent.name)}.path"
    return f"{message} ({path} is the copy of your file {entry['origin']}, config {key})"


def _first_output(snakemake) -> str:
    try:
        return str(snakemake.output[0])
    except (AttributeError, IndexError):
        return "."

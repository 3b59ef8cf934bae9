"""Run a Snakemake script's ``main`` with logging to the rule's log file.

Usage inside ``scripts/<name>.py``::

    from dlrepro.runner import run

    def main(snakemake, log):
        ...

    run(main, snakemake)  # noqa: F821 (snakemake is injected)

Expected failures (:class:`dlrepro.errors.DlReproError`) are reported as one line
``ERROR: <message>`` on stderr and in the log, and the job exits with status 1.
Anything else keeps its full traceback (that is a bug, not bad input).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from .errors import DlReproError


def get_logger(log_path: str | None = None, name: str = "dlrepro") -> logging.Logger:
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(fmt)
    logger.addHandler(stream)
    if log_path:
        fileh = logging.FileHandler(log_path, mode="w", encoding="utf-8")
        fileh.setFormatter(fmt)
        logger.addHandler(fileh)
    logger.propagate = False
    return logger


def run(main: Callable, snakemake) -> None:
    log_path = str(snakemake.log[0]) if len(snakemake.log) else None
    logger = get_logger(log_path)
    try:
        main(snakemake, logger)
    except DlReproError as exc:
        logger.error("%s", exc)
        for handler in logger.handlers:
            handler.flush()
        print(f"ERROR: {exc}", file=sys.stderr)
        sys.exit(1)
    except Exception:
        logger.exception("unexpected error (a bug, please report it with this log)")
        raise

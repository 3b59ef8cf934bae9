"""Stopping a training cleanly: the signals that make it checkpoint and end, and the fault
injection the tests use (``DLREPRO_FAULT``)."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from .errors import DlReproError

#: fault injection for the tests: ``SIGNAME@EPOCH`` makes the training process send itself
#: that signal right after that epoch (e.g. ``SIGKILL@2``, ``SIGTERM@3``); ``PAUSE@EPOCH``
#: makes it write ``<workdir>/paused`` after that epoch and wait (up to 10 min) for a signal.
#: ``WHAT@EPOCH:TEXT`` applies only to trainings whose checkpoint directory contains TEXT;
#: several faults are separated by commas (the Slurm test pauses one training per experiment).
FAULT_ENV = "DLREPRO_FAULT"


#: signals that make a training job checkpoint at the end of the current epoch and stop
STOP_SIGNALS = ("SIGTERM", "SIGUSR1", "SIGINT")


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


class StopRequest:
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


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"

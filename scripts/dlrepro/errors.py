"""Errors that end a job with one clear line (see :func:`dlrepro.runner.run`)."""


class DlReproError(Exception):
    """Base class: an expected failure whose message is shown to the user as is.

    The message must name the file or config key concerned and what was expected.
    """


class DataError(DlReproError):
    """Bad or missing input data: checksum mismatch, malformed line, wrong shape."""


class DataUnavailableError(DataError):
    """No source could provide a dataset's files (one line per missing file)."""


class ConfigError(DlReproError):
    """A configuration value that cannot be used."""


class OutputError(DlReproError):
    """An output cannot be written: disk full, quota, permission denied, read-only file system."""

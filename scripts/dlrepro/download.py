"""Downloading one URL (pooch, with retries and back-off; a definite failure is not retried)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path


def download_url(url: str, dest: Path, retries: int = 3, timeout: float = 60.0) -> None:
    """Download ``url`` to ``dest`` with pooch, retrying with back-off."""
    import pooch

    downloader = pooch.HTTPDownloader(timeout=timeout, progressbar=False)
    last: Exception | None = None
    for attempt in range(1, retries + 1):
        try:
            with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
                fetched = pooch.retrieve(
                    url, known_hash=None, fname=dest.name, path=tmp, downloader=downloader
                )
                os.replace(fetched, dest)
            return
        except Exception as exc:  # network errors come in many types
            last = exc
            text = str(exc)
            if any(marker in text for marker in _DEFINITE_FAILURES):
                break  # a definite "no" (no such host, not found): retrying cannot help
            if attempt < retries:
                time.sleep(min(2**attempt, 10))
    raise ConnectionError(_short_reason(last))


_DEFINITE_FAILURES = (
    "Failed to resolve",
    "Name or service not known",
    "404 Client Error",
    "403 Client Error",
)


def _short_reason(exc: Exception | None) -> str:
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    for marker in _DEFINITE_FAILURES:
        if marker in text:
            return f"{type(exc).__name__}: {marker.lower()}"
    return text[:200]

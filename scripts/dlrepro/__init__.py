"""dl-repro: the importable logic behind the Snakemake workflow.

Snakemake scripts in ``scripts/`` stay thin: they read ``snakemake.input``/``params``,
call functions from this package and write ``snakemake.output``.  Everything here is
plain Python, importable without Snakemake, and unit-tested in ``tests/``.

Importing this package (before TensorFlow) turns TensorFlow's oneDNN kernels on for x86
CPUs: TensorFlow 2.21 enables them by itself only on some CPUs (AVX-512 ones), and on
AVX2-only CPUs its default Eigen kernels cost about 3.5x more CPU per 3-D CNN epoch.
An explicit ``TF_ENABLE_ONEDNN_OPTS`` in the environment (e.g. ``0``) is respected.
"""

import os
import platform

__version__ = "0.1.0"


def enable_fast_cpu_kernels() -> None:
    """Set ``TF_ENABLE_ONEDNN_OPTS=1`` on x86 CPUs unless the user set it (call before TF)."""
    if platform.machine().lower() in ("x86_64", "amd64", "i686", "x86"):
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


enable_fast_cpu_kernels()

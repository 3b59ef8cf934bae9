"""The Keras backend of a job: TensorFlow (the default) or JAX.

* :func:`select` sets ``KERAS_BACKEND`` (and, for JAX, the XLA flags that make GPU runs
  deterministic and keep JAX from taking all GPU memory) before Keras is imported; the
  workflow calls it in every job (:mod:`dlrepro.runner`), from the config key
  ``training.backend`` or the rule's resource ``keras_backend`` (a profile's per-rule choice).
* On JAX nothing here imports TensorFlow: a JAX job never loads it.
* :func:`set_determinism`, :func:`configure_threads`, :func:`gpus` and :func:`provenance`
  hide what differs between the backends; :func:`provenance` is what every run's metrics
  record (backend, device, versions, whether the run was deterministic).
"""

from __future__ import annotations

import contextlib
import os
import sys
from functools import cache
from importlib import metadata

from .errors import ConfigError

BACKENDS = ("tensorflow", "jax")
DEFAULT = "tensorflow"
#: XLA flag that makes JAX's GPU kernels deterministic (scatter, reductions, convolutions)
JAX_GPU_DETERMINISM = "--xla_gpu_deterministic_ops=true"


def check(chosen, key: str = "training.backend") -> str:
    """``chosen`` if it is a known backend, else a one-line ConfigError naming ``key``."""
    if chosen not in BACKENDS:
        raise ConfigError(f"config key {key}: {chosen!r}, expected one of {', '.join(BACKENDS)}")
    return chosen


def select(chosen: str | None = None, key: str = "training.backend") -> str:
    """Make ``chosen`` (default: ``$KERAS_BACKEND``, else TensorFlow) this process's backend.

    Must run before Keras is imported; once Keras is loaded, asking for another backend is
    refused in one line (a job cannot switch)."""
    chosen = check(chosen or os.environ.get("KERAS_BACKEND") or DEFAULT, key)
    if "keras" in sys.modules:
        loaded = sys.modules["keras"].backend.backend()
        if loaded != chosen:
            raise ConfigError(
                f"config key {key}: {chosen!r} asked for, but Keras was already imported with the "
                f"{loaded!r} backend in this process (set KERAS_BACKEND before importing keras)"
            )
    os.environ["KERAS_BACKEND"] = chosen
    if chosen == "jax":
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_gpu_deterministic_ops" not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} {JAX_GPU_DETERMINISM}".strip()
        # several jobs may share a GPU: allocate as needed, not 75 % of the card up front
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    return chosen


def export(chosen: str) -> None:
    """Make ``chosen`` the backend of every job the calling process starts (the workflow's
    ``KERAS_BACKEND``; jobs started by Snakemake inherit its environment)."""
    os.environ["KERAS_BACKEND"] = check(chosen)


def name() -> str:
    import keras

    return keras.backend.backend()


def set_determinism(seed: int) -> None:
    """Seed Python, NumPy and the backend; TensorFlow: op determinism (JAX: see :func:`deterministic`)."""
    import keras

    if name() != "tensorflow":
        # keras.utils.set_random_seed also seeds TensorFlow "if available", importing it
        from keras.src.utils import module_utils

        module_utils.tensorflow._available = False
    keras.utils.set_random_seed(int(seed))
    if name() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def deterministic() -> tuple[bool, str]:
    """Whether this process's runs are deterministic, and by what.

    TensorFlow: op determinism (set by :func:`set_determinism`).  JAX on the CPU: XLA's CPU
    kernels are deterministic.  JAX on a GPU: only with ``--xla_gpu_deterministic_ops=true``
    in ``XLA_FLAGS`` (:func:`select` sets it unless the user's XLA_FLAGS say otherwise)."""
    if name() == "tensorflow":
        return True, "tf.config.experimental.enable_op_determinism"
    if not gpus():
        return True, "XLA CPU"
    on = "xla_gpu_deterministic_ops=true" in os.environ.get("XLA_FLAGS", "")
    return on, "XLA_FLAGS " + (
        "--xla_gpu_deterministic_ops=true" if on else "without --xla_gpu_deterministic_ops"
    )


def gpus() -> list[str]:
    """Names of the GPUs this process's backend sees (empty on a CPU)."""
    if name() == "tensorflow":
        import tensorflow as tf

        found = tf.config.list_physical_devices("GPU")
        names = []
        for device in found:
            with contextlib.suppress(Exception):
                names.append(
                    tf.config.experimental.get_device_details(device).get("device_name", device.name)
                )
        return names or [d.name for d in found]
    import jax

    return [d.device_kind for d in jax.devices() if d.platform == "gpu"]


def configure_threads(threads: int) -> int:
    """Use ``threads`` CPU threads (Snakemake's ``threads``: ``--cores``, ``--set-threads``,
    Slurm's CPUs per task/GPU); returns the number.

    TensorFlow: its intra-op pool gets ``threads`` (inter-op at most 2).  JAX has no such
    setting: XLA sizes its CPU pool from the CPUs the process may run on (its affinity, which
    Slurm and cgroups set to the allocation); the number returned is then that count."""
    threads = max(1, int(threads))
    if name() == "tensorflow":
        import tensorflow as tf

        with contextlib.suppress(RuntimeError):  # already initialised (e.g. in tests)
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
        return threads
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or threads


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown CPU"


def device() -> str:
    """``GPU <name>`` (``N x`` when several) or ``CPU <model>``: where this job computes."""
    found = gpus()
    if found:
        return f"GPU {found[0]}" if len(found) == 1 else f"{len(found)} x GPU {found[0]}"
    return f"CPU {cpu_model()}"


def _version(package: str) -> str | None:
    with contextlib.suppress(metadata.PackageNotFoundError):
        return metadata.version(package)
    return None


@cache
def _cuda_version() -> str | None:
    """The CUDA version the backend runs with, where it tells (None on a CPU)."""
    if name() == "jax":
        with contextlib.suppress(Exception):
            import jax
            import jax.extend

            if any(d.platform == "gpu" for d in jax.devices()):
                version = getattr(jax.extend.backend.get_backend(), "platform_version", "") or ""
                if version:
                    return version
                for package in (
                    "nvidia-cuda-runtime",
                    "nvidia-cuda-runtime-cu13",
                    "nvidia-cuda-runtime-cu12",
                ):
                    if _version(package):
                        return f"CUDA runtime {_version(package)}"
                return "unknown"
        return None
    with contextlib.suppress(Exception):
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            return tf.sysconfig.get_build_info().get("cuda_version")
    return None


def provenance() -> dict:
    """Backend, device, framework versions and determinism of this process (JSON-able)."""
    backend = name()
    on, how = deterministic()
    record = {
        "backend": backend,
        "device": device(),
        "keras": _version("keras"),
        "deterministic": on,
        "determinism": how,
    }
    if backend == "jax":
        record["jax"] = _version("jax")
        record["jaxlib"] = _version("jaxlib")
    else:
        record["tensorflow"] = _version("tensorflow") or _version("tensorflow-cpu")
    cuda = _cuda_version() if gpus() else None
    if cuda:
        record["cuda"] = cuda
    return record


def summary(threads: int) -> str:
    """One log line: backend and version, threads, devices, determinism."""
    backend = name()
    on, how = deterministic()
    if backend == "tensorflow":
        onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "TensorFlow default")
        head = f"TensorFlow {_version('tensorflow') or _version('tensorflow-cpu')}: {threads} CPU thread(s), TF_ENABLE_ONEDNN_OPTS={onednn}"
    else:
        head = f"JAX {_version('jax')} (Keras {_version('keras')}): {threads} CPU thread(s)"
    found = gpus()
    return f"{head}, {'GPUs ' + ', '.join(found) if found else 'no GPU'}, deterministic: {'yes' if on else 'no'} ({how})"

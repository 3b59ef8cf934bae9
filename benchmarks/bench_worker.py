"""The worker side of ``benchmarks/training.py``: one training run in its own fresh process.

The driver (``training.py``) re-runs ``training.py --worker plain|pipeline ...`` for every run;
that process calls :func:`prepare_worker` (before Keras is imported) and :func:`worker`, which
trains one model once and returns its figures as a JSON-able dict.

Per run: the wall and process-CPU seconds of every epoch (differences of time stamps
taken after each epoch, so whatever the loop does between epochs - checkpoints, data
copies - is counted), the final accuracy (validation accuracy where the pipeline
validates, training accuracy for the 3-D CNN), a SHA-256 of the final weights (two runs with
equal digests trained identical weights), the peak RSS and, for the CNNs, a float32
``tf.matmul`` GEMM (2048 x 2048, median of 5) measured in the same process, per wall second
and per CPU second.  The runtime (backend version, device, oneDNN state, XLA flags) is
recorded with the figures.

``--backend jax``: the GEMM reference is a jitted float32 ``jnp.matmul`` (2048 x 2048 on
the CPU, 8192 x 8192 on a GPU), blocked until ready; oneDNN does not apply (``n/a``); with
``--threads`` below the CPUs available both sides' CPU affinity is narrowed to that many (XLA
sizes its CPU pool from the affinity).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # before TensorFlow is imported (as training.py)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import hashlib  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import workloads  # noqa: E402

CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
GEMM_SIZE = 2048
GEMM_SIZE_GPU = 8192  # JAX on a GPU: 2048^3 takes ~0.1 ms there, too short to time
#: what the workflow adds to XLA_FLAGS on JAX (dlrepro.backend.JAX_GPU_DETERMINISM)
XLA_DETERMINISM = "--xla_gpu_deterministic_ops=true"


class BenchmarkError(Exception):
    """A run that failed or a setting that cannot be used (shown as one line)."""


# --------------------------------------------------------------------------- machine


def cpu_info() -> dict:
    """CPU model name and the flags that matter for TensorFlow's kernels (Linux /proc/cpuinfo)."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and name in ("", platform.machine(), platform.processor()):
            name = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    return {"cpu": name, "flags": [f for f in CPU_FLAGS if f in flags]}


def default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def check_precision(precision: str, flags: list[str], gpus: list[str]) -> None:
    """Refuse, in one line, a mixed precision this machine cannot run fast."""
    if precision == "mixed_float16" and not gpus:
        raise BenchmarkError("--precision mixed_float16 needs a GPU; TensorFlow sees none")
    if precision == "mixed_bfloat16" and not gpus and not {"avx512_bf16", "amx_bf16"} & set(flags):
        raise BenchmarkError(
            "--precision mixed_bfloat16 needs a GPU or a CPU with avx512_bf16/amx_bf16; this CPU has "
            + (", ".join(flags) or "neither")
        )


# --------------------------------------------------------------------------- one run (worker)


def measure_gemm(tf, n: int = GEMM_SIZE, repeats: int = 5) -> tuple[float, float]:
    """A float32 ``n x n`` ``tf.matmul``: (GFLOP per wall second, GFLOP per CPU second), each
    the median of ``repeats`` after a warm-up.  Per CPU second is steadier on a busy machine."""
    a = tf.random.uniform((n, n), dtype=tf.float32, seed=1)
    b = tf.random.uniform((n, n), dtype=tf.float32, seed=2)
    wall, cpu = [], []
    for i in range(repeats + 1):
        tic, cpu_tic = time.perf_counter(), time.process_time()
        c = tf.matmul(a, b)
        float(c[0, 0].numpy())  # waits for the product (also on a GPU)
        if i:
            wall.append(time.perf_counter() - tic)
            cpu.append(time.process_time() - cpu_tic)
    gflop = 2.0 * n**3 / 1e9
    return gflop / statistics.median(wall), gflop / max(statistics.median(cpu), 1e-9)


def measure_gemm_jax(n: int = GEMM_SIZE, repeats: int = 5) -> tuple[float, float]:
    """:func:`measure_gemm` on JAX (no TensorFlow): a jitted float32 ``n x n`` ``jnp.matmul``
    at JAX's default precision (the one the models train with), each product
    ``block_until_ready`` (also on a GPU, where the call returns before the work is done)."""
    import jax
    import jax.numpy as jnp

    key_a, key_b = jax.random.split(jax.random.PRNGKey(1))
    a = jax.random.uniform(key_a, (n, n), dtype=jnp.float32)
    b = jax.random.uniform(key_b, (n, n), dtype=jnp.float32)
    matmul = jax.jit(jnp.matmul)
    matmul(a, b).block_until_ready()  # compiles
    wall, cpu = [], []
    for i in range(repeats + 1):
        tic, cpu_tic = time.perf_counter(), time.process_time()
        matmul(a, b).block_until_ready()
        if i:
            wall.append(time.perf_counter() - tic)
            cpu.append(time.process_time() - cpu_tic)
    gflop = 2.0 * n**3 / 1e9
    return gflop / statistics.median(wall), gflop / max(statistics.median(cpu), 1e-9)


def xla_deterministic() -> bool:
    """Whether this process's ``XLA_FLAGS`` turn XLA's deterministic GPU ops on."""
    return "xla_gpu_deterministic_ops=true" in os.environ.get("XLA_FLAGS", "")


def narrow_affinity(threads: int) -> None:
    """JAX: XLA sizes its CPU thread pool from the CPUs this process may run on, so
    ``--threads`` below that count narrows the affinity (as ``taskset``; both sides alike)."""
    if hasattr(os, "sched_getaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        if 0 < threads < len(cpus):
            os.sched_setaffinity(0, cpus[:threads])


def prepare_worker(args) -> None:
    """Before Keras is imported in a run's process: its backend.  The pipeline side selects it
    as every workflow job does (``dlrepro.backend.select``: on JAX also the XLA flags); the
    plain side takes ``KERAS_BACKEND`` alone, as a plain script run with it."""
    if args.backend == "jax":
        narrow_affinity(args.threads)
    if args.side == "pipeline":
        from dlrepro import backend

        backend.select(args.backend)
    else:
        os.environ["KERAS_BACKEND"] = args.backend


def _runtime_tensorflow(info: dict) -> dict:
    """TensorFlow's version, GPUs and oneDNN state (the TensorFlow backend only)."""
    import tensorflow as tf
    from tensorflow.python.util import _pywrap_util_port

    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        gpus.append(details.get("device_name", device.name))
    return {
        "backend_version": tf.__version__,
        "tensorflow": tf.__version__,
        "gpus": gpus,
        "device": (f"GPU {gpus[0]}" if len(gpus) == 1 else f"{len(gpus)} x GPU {gpus[0]}")
        if gpus
        else f"CPU {info['cpu']}",
        "onednn_env": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        "onednn_active": bool(_pywrap_util_port.IsMklEnabled()),
        "xla_deterministic_ops": None,
    }


def _runtime_jax(info: dict) -> dict:
    """JAX's version and device (``jax.devices()[0]``); oneDNN does not apply."""
    from importlib import metadata

    import jax

    first = jax.devices()[0]
    gpus = [d.device_kind for d in jax.devices() if d.platform == "gpu"]
    if first.platform == "gpu":
        device = f"GPU {first.device_kind}" if len(gpus) == 1 else f"{len(gpus)} x GPU {first.device_kind}"
    else:
        device = f"{first.platform.upper()} {info['cpu'] if first.platform == 'cpu' else first.device_kind}"
    try:
        jaxlib = metadata.version("jaxlib")
    except metadata.PackageNotFoundError:
        jaxlib = None
    return {
        "backend_version": jax.__version__,
        "jaxlib": jaxlib,
        "gpus": gpus,
        "device": device,
        "onednn_env": None,
        "onednn_active": None,
        "xla_deterministic_ops": xla_deterministic(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "preallocate": os.environ.get("XLA_PYTHON_CLIENT_PREALLOCATE", "JAX default"),
    }


def pipeline_fit(work, epochs: int, seed: int, workdir: str, precision: str = "float32"):
    """``dlrepro.training.fit`` as the train scripts call it; per-epoch (wall, CPU) stamps."""
    import inspect
    import logging

    from plain_keras import EpochClock

    from dlrepro import training

    class EpochLog(logging.Handler):
        """Stamps at each "epoch i/N" log line of fit (when fit takes no callbacks)."""

        def __init__(self):
            super().__init__(logging.INFO)
            self.stamps = []

        def emit(self, record):
            if re.match(r"epoch \d+/\d+", record.getMessage()):
                self.stamps.append((time.perf_counter(), time.process_time()))

    logger = logging.getLogger("dlrepro.benchmark")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = EpochLog()
    logger.addHandler(handler)
    clock = EpochClock(reset_on_train_begin=False)
    parameters = inspect.signature(training.fit).parameters
    kwargs = {}
    if hasattr(training, "training_options"):  # checkpoint interval etc. of config.yaml, as the rules
        kwargs.update(training.training_options(workloads.read_config().get("training")))
    kwargs = {k: v for k, v in kwargs.items() if k in parameters}
    if "callbacks" in parameters:
        kwargs["callbacks"] = [clock]
    if "precision" in parameters:  # else the global Keras policy set by the worker applies
        kwargs["precision"] = precision
    start = (time.perf_counter(), time.process_time())
    clock.stamps = [start]
    model, history = training.fit(
        work.build,
        work.x,
        work.y,
        validation_data=work.validation,
        epochs=epochs,
        batch_size=work.batch_size,
        seed=seed,
        workdir=workdir,
        logger=logger,
        fingerprint={"benchmark": work.model},
        **kwargs,
    )
    end = (time.perf_counter(), time.process_time())
    logger.removeHandler(handler)
    sources = {"callback": clock.stamps, "log": [start, *handler.stamps]}
    how = next((name for name, stamps in sources.items() if len(stamps) == epochs + 1), "history")
    if how == "history":  # history seconds, CPU spread evenly
        wall = [float(row["seconds"]) for row in history]
        cpu = [(end[1] - start[1]) / max(len(history), 1)] * len(history)
    else:
        stamps = sources[how]
        wall = [b[0] - a[0] for a, b in zip(stamps, stamps[1:], strict=False)]
        cpu = [b[1] - a[1] for a, b in zip(stamps, stamps[1:], strict=False)]
    keys = {k for row in history for k in row} - {"epoch", "seconds"}
    logs = {k: [row.get(k) for row in history] for k in sorted(keys)}
    return model, wall, cpu, logs, how


def weights_digest(model) -> str:
    """SHA-256 of the model's weights (float bytes in order): equal digests, identical weights."""
    digest = hashlib.sha256()
    for w in model.get_weights():
        digest.update(str(w.shape).encode())
        digest.update(w.tobytes())
    return digest.hexdigest()


def worker(args) -> dict:
    """One training run in this (fresh) process; returns the figures as a JSON-able dict.
    Call :func:`prepare_worker` first (before anything imports Keras)."""
    import keras

    from dlrepro import training

    if keras.backend.backend() != args.backend:
        raise BenchmarkError(f"this run's Keras backend is {keras.backend.backend()}, not {args.backend}")
    info = cpu_info()
    runtime = _runtime_tensorflow(info) if args.backend == "tensorflow" else _runtime_jax(info)
    gpus = runtime["gpus"]
    check_precision(args.precision, info["flags"], gpus)
    threads = training.configure_threads(args.threads)
    if args.precision != "float32":
        keras.mixed_precision.set_global_policy(args.precision)
    work = workloads.load(args.model, args.samples, args.synthetic)
    feed = None
    if args.backend == "jax" and args.side == "pipeline":
        from dlrepro import batches

        feed = "device" if batches.on_device(work.x) else "host"
    if args.side == "plain":
        from plain_keras import train_workload

        result = train_workload(work, epochs=args.epochs, seed=args.seed)
        model, wall, cpu, logs, how = (
            result["model"],
            result["wall"],
            result["cpu"],
            result["history"],
            "callback",
        )
    else:
        with tempfile.TemporaryDirectory(prefix="bench-fit-") as workdir:
            model, wall, cpu, logs, how = pipeline_fit(work, args.epochs, args.seed, workdir, args.precision)
    accuracy_key = "val_accuracy" if "val_accuracy" in logs else "accuracy"
    out = {
        "side": args.side,
        "model": args.model,
        "wall": wall,
        "cpu": cpu,
        "timing": how,
        "accuracy": float(logs[accuracy_key][-1]),
        "accuracy_on": "validation" if accuracy_key == "val_accuracy" else "train",
        "weights_sha256": weights_digest(model),
        "n_train": work.n_train,
        "n_validation": work.n_validation,
        "batch_size": work.batch_size,
        "full_train": work.full_train,
        "data": work.data,
        "epoch_flops": workloads.epoch_flops(model, work.n_train, work.n_validation),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
        "threads": threads if args.backend == "jax" else args.threads,
        "precision": args.precision,
        "backend": args.backend,
        "keras": keras.__version__,
        "jax_feed": feed,
        "jax_feed_env": os.environ.get("DLREPRO_JAX_FEED"),
        **runtime,
    }
    out["gemm_size"] = GEMM_SIZE_GPU if args.backend == "jax" and gpus else GEMM_SIZE
    gemm = (None, None)
    if args.model in workloads.CNNS:
        if args.backend == "jax":
            gemm = measure_gemm_jax(out["gemm_size"])
        else:
            import tensorflow as tf

            gemm = measure_gemm(tf)
    out["gemm_gflops"], out["gemm_cpu_gflops"] = gemm
    if gpus:  # the GPU's work costs the process next to no CPU time: a ratio without meaning
        out["gemm_cpu_gflops"] = None
    return out

"""Benchmark: the pipeline's training against a plain lecture-style Keras script, side by side.

Usage::

    .venv/bin/python benchmarks/training.py [--quick] [--models perceptron,mlp,lenet,lstm,cnn3d]
        [--epochs N] [--reps R] [--threads T] [--onednn 0|1] [--precision float32|mixed_bfloat16|mixed_float16]
        [--synthetic] [--samples N] [--out results/benchmarks]
    .venv/bin/python benchmarks/training.py --backend jax [--deterministic-plain] [--jax-feed device|host] ...
    .venv/bin/python benchmarks/training.py --compare-onednn [--quick] [--models cnn3d]

For every model the same work (model builder, data, epochs, batch size, seed) is trained
by the plain reference (``benchmarks/plain_keras.py``: in-memory NumPy, one
``model.fit(epochs=N)``) and by the pipeline (``dlrepro.training.fit`` called as the
``scripts/*_train.py`` scripts call it: the ``training`` options of ``config.yaml``, a temporary
checkpoint directory), alternating plain and pipeline runs (A B A B ...).  Each run is a
fresh Python process (fresh TensorFlow, its own peak RSS) with the same environment
(``TF_ENABLE_ONEDNN_OPTS``, threads, precision).

``--backend jax``: both sides run Keras on JAX (``KERAS_BACKEND=jax`` in every run's process
before Keras is imported) and nothing imports TensorFlow, so it runs where TensorFlow is not
installed.  The pipeline side selects the backend as every workflow job does
(``dlrepro.backend.select``: ``XLA_FLAGS=--xla_gpu_deterministic_ops=true``,
``XLA_PYTHON_CLIENT_PREALLOCATE=false``) and is fed as the workflow feeds JAX
(``dlrepro.batches``: index blocks of device copies on a GPU, host batches on the CPU;
``DLREPRO_JAX_FEED`` or ``--jax-feed`` force one way); the plain side is a plain Keras-on-JAX
script in the inherited environment (no XLA flag added; ``--deterministic-plain`` adds the
same deterministic-ops flag, to separate its effect).  The header says for each side whether
the flag was set.  The GEMM reference is then a jitted float32 ``jnp.matmul`` (2048 x 2048 on
the CPU, 8192 x 8192 on a GPU), blocked until ready; oneDNN does not apply (``n/a``); with
``--threads`` below the CPUs available both sides' CPU affinity is narrowed to that many (XLA
sizes its CPU pool from the affinity).

Per run: the wall and process-CPU seconds of every epoch (differences of time stamps
taken after each epoch, so whatever the loop does between epochs - checkpoints, data
copies - is counted), the median over the epochs after the first (the first carries
tracing and start-up), the final accuracy (validation accuracy where the pipeline
validates, training accuracy for the 3-D CNN), the peak RSS and, for the CNNs, the
achieved GFLOP/s (forward + backward = 3 x forward MACs x 2 FLOPs, counted from the layer
shapes) against a float32 ``tf.matmul`` GEMM (2048 x 2048, median of 5; JAX: ``jnp.matmul``) measured in the
same process, per wall second and per CPU second (``of GEMM per CPU-s``: FLOPs per second of
process CPU time, training vs GEMM, which other load on the machine disturbs much less).  Per model the medians over repetitions go into
``results/benchmarks/training.csv`` and ``training.md``.  The estimate of the full default
reproduction (``config.yaml``: seeds, epochs, splits), on the backend and device measured,
scales the per-epoch figures to the full training-set sizes when a subset was trained
(``--quick``).  The CSV names the backend, its version and the device of every row.

Real data from the shared data directory when present (``../shared/data`` or
``$DLREPRO_SHARED_DATA``), else the project's synthetic generators; the table says which.
This is a benchmark, not a test: nothing is asserted; speed targets live here.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # inherited by every run's process
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import workloads  # noqa: E402

ROOT = workloads.ROOT
DEFAULT_OUT = ROOT / "results" / "benchmarks"
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
BACKENDS = ("tensorflow", "jax")
BACKEND_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX"}
GEMM_SIZE = 2048
GEMM_SIZE_GPU = 8192  # JAX on a GPU: 2048^3 takes ~0.1 ms there, too short to time
#: what the workflow adds to XLA_FLAGS on JAX (dlrepro.backend.JAX_GPU_DETERMINISM)
XLA_DETERMINISM = "--xla_gpu_deterministic_ops=true"
COLUMNS = [
    "model",
    "data",
    "n_train",
    "n_validation",
    "epochs",
    "batch_size",
    "plain_s_per_epoch",
    "pipeline_s_per_epoch",
    "ratio",
    "plain_cpu_s_per_epoch",
    "pipeline_cpu_s_per_epoch",
    "cpu_ratio",
    "plain_accuracy",
    "pipeline_accuracy",
    "accuracy_on",
    "plain_gflops",
    "gflops",
    "gemm_gflops",
    "gemm_fraction",
    "cpu_gflops",
    "gemm_cpu_gflops",
    "cpu_gemm_fraction",
    "plain_peak_rss_mb",
    "peak_rss_mb",
    "full_scale",
    "plain_full_s_per_epoch",
    "pipeline_full_s_per_epoch",
    "reps",
    "pipeline_timing",
    "precision",
    "onednn",
    "threads",
    "backend",
    "backend_version",
    "device",
    "plain_xla_deterministic_ops",
    "pipeline_xla_deterministic_ops",
    "jax_feed",
]


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


def _pipeline_fit(work, epochs: int, seed: int, workdir: str, precision: str = "float32"):
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
            model, wall, cpu, logs, how = _pipeline_fit(work, args.epochs, args.seed, workdir, args.precision)
    accuracy_key = "val_accuracy" if "val_accuracy" in logs else "accuracy"
    out = {
        "side": args.side,
        "model": args.model,
        "wall": wall,
        "cpu": cpu,
        "timing": how,
        "accuracy": float(logs[accuracy_key][-1]),
        "accuracy_on": "validation" if accuracy_key == "val_accuracy" else "train",
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


# --------------------------------------------------------------------------- driver


def samples_for(model: str, args) -> int | None:
    """Training samples of ``model``: ``--samples``, else the quick subset, else all (None)."""
    if args.samples is not None:
        return args.samples
    return workloads.QUICK_TRAIN[model] if args.quick else None


def worker_env(side: str, args, onednn: str) -> dict:
    """The environment of one run's process: ``KERAS_BACKEND`` for both sides; TensorFlow:
    ``TF_ENABLE_ONEDNN_OPTS``; JAX: ``--deterministic-plain`` adds the deterministic-ops XLA
    flag to the plain side's ``XLA_FLAGS``, ``--jax-feed`` sets the pipeline's
    ``DLREPRO_JAX_FEED`` (the pipeline's own XLA flags come from ``dlrepro.backend.select``)."""
    env = {**os.environ, "KERAS_BACKEND": args.backend}
    if args.backend == "tensorflow":
        env["TF_ENABLE_ONEDNN_OPTS"] = onednn
        return env
    if side == "plain" and args.deterministic_plain:
        flags = env.get("XLA_FLAGS", "")
        if "xla_gpu_deterministic_ops" not in flags:
            env["XLA_FLAGS"] = f"{flags} {XLA_DETERMINISM}".strip()
    if side == "pipeline" and args.jax_feed:
        env["DLREPRO_JAX_FEED"] = args.jax_feed
    return env


def spawn(side: str, model: str, args, onednn: str) -> dict:
    """Run one training in a fresh Python process; its figures, or a one-line error."""
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        result_path = Path(tmp) / "result.json"
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            side,
            "--result",
            str(result_path),
            "--models",
            model,
            "--epochs",
            str(args.epochs),
            "--seed",
            str(args.seed),
            "--threads",
            str(args.threads),
            "--precision",
            args.precision,
            "--backend",
            args.backend,
        ]
        samples = samples_for(model, args)
        if samples is not None:
            command += ["--samples", str(samples)]
        if args.synthetic:
            command.append("--synthetic")
        env = worker_env(side, args, onednn)
        proc = subprocess.run(command, env=env, capture_output=True, text=True)
        if proc.returncode != 0 or not result_path.exists():
            lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
            raise BenchmarkError(f"{model} {side} run failed: {lines[-1] if lines else proc.returncode}")
        return json.loads(result_path.read_text())


def after_first(values: list[float]) -> float:
    """Median of the epochs after the first (the only epoch when there is one)."""
    return statistics.median(values[1:] if len(values) > 1 else values)


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else math.nan


def summarise(model: str, runs: list[dict]) -> dict:
    """One table row from the plain and pipeline runs of ``model``."""
    plain = [r for r in runs if r["side"] == "plain"]
    pipe = [r for r in runs if r["side"] == "pipeline"]
    first = runs[0]
    row = {
        "model": model,
        "data": first["data"].split(" ")[0],
        "n_train": first["n_train"],
        "n_validation": first["n_validation"],
        "epochs": len(first["wall"]),
        "batch_size": first["batch_size"],
    }
    for side, side_runs in (("plain", plain), ("pipeline", pipe)):
        row[f"{side}_s_per_epoch"] = _median([after_first(r["wall"]) for r in side_runs])
        row[f"{side}_cpu_s_per_epoch"] = _median([after_first(r["cpu"]) for r in side_runs])
        row[f"{side}_accuracy"] = side_runs[-1]["accuracy"]
        row[f"{side}_peak_rss_mb"] = max(r["peak_rss_mb"] for r in side_runs)
    row["ratio"] = row["pipeline_s_per_epoch"] / row["plain_s_per_epoch"]
    row["cpu_ratio"] = row["pipeline_cpu_s_per_epoch"] / row["plain_cpu_s_per_epoch"]
    row["accuracy_on"] = first["accuracy_on"]
    row["peak_rss_mb"] = row.pop("pipeline_peak_rss_mb")
    gemm = _median([r["gemm_gflops"] for r in runs])
    flops = first["epoch_flops"] if model in workloads.CNNS else None
    row["plain_gflops"] = flops / row["plain_s_per_epoch"] / 1e9 if flops else math.nan
    row["gflops"] = flops / row["pipeline_s_per_epoch"] / 1e9 if flops else math.nan
    row["gemm_gflops"] = gemm
    row["gemm_fraction"] = row["gflops"] / gemm if flops and gemm == gemm else math.nan
    # the same per CPU second (GFLOP per second of process CPU time), steadier under other load
    gemm_cpu = _median([r.get("gemm_cpu_gflops") for r in runs])
    row["cpu_gflops"] = flops / row["pipeline_cpu_s_per_epoch"] / 1e9 if flops else math.nan
    row["gemm_cpu_gflops"] = gemm_cpu
    row["cpu_gemm_fraction"] = row["cpu_gflops"] / gemm_cpu if flops and gemm_cpu == gemm_cpu else math.nan
    scale = first["full_train"] / first["n_train"]
    row["full_scale"] = scale
    row["plain_full_s_per_epoch"] = row["plain_s_per_epoch"] * scale
    row["pipeline_full_s_per_epoch"] = row["pipeline_s_per_epoch"] * scale
    row["reps"] = min(len(plain), len(pipe))
    row["pipeline_timing"] = pipe[0]["timing"]
    row["precision"] = first["precision"]
    row["threads"] = first["threads"]
    row["backend"] = first["backend"]
    row["backend_version"] = first["backend_version"]
    row["device"] = first["device"]
    if first["backend"] == "tensorflow":
        row["onednn"] = f"{first['onednn_env']} ({'on' if first['onednn_active'] else 'off'})"
        row["plain_xla_deterministic_ops"] = row["pipeline_xla_deterministic_ops"] = "n/a"
        row["jax_feed"] = "n/a"
    else:
        row["onednn"] = "n/a"
        for side, side_runs in (("plain", plain), ("pipeline", pipe)):
            row[f"{side}_xla_deterministic_ops"] = yes_no(r["xla_deterministic_ops"] for r in side_runs)
        row["jax_feed"] = "/".join(sorted({r["jax_feed"] for r in pipe}))
    return {c: row[c] for c in COLUMNS}


def yes_no(values) -> str:
    """``yes``, ``no`` or (runs that differ) ``mixed``."""
    values = set(values)
    return "mixed" if len(values) > 1 else ("yes" if values.pop() else "no")


def reproduction_runs(config: dict) -> dict[str, int]:
    """Epochs trained per benchmark model by the full default reproduction (all seeds, splits)."""
    cap = config.get("max_epochs")

    def epochs(e: int) -> int:
        return min(int(e), int(cap)) if cap else int(e)

    def seeds(section: str) -> int:
        return len(config[section].get("seeds") or config["seeds"])

    experiments = config.get("experiments", {})
    total = {}
    if experiments.get("mnist", True):
        for name, settings in config["mnist"]["models"].items():
            total[name] = seeds("mnist") * sum(epochs(e) for e in settings["epochs"])
    if experiments.get("sentiment", True):
        cfg = config["sentiment"]
        total["lstm"] = seeds("sentiment") * len(cfg["splits"]) * epochs(cfg["epochs"])
    if experiments.get("indian_pines", True):
        cfg = config["indian_pines"]
        total["cnn3d"] = seeds("indian_pines") * len(cfg["splits"]) * epochs(cfg["epochs"])
    return total


def estimate(rows: list[dict], config: dict) -> dict:
    """Training hours of the full default reproduction, from the full-size per-epoch figures."""
    runs = reproduction_runs(config)
    measured = {r["model"]: r for r in rows}
    out = {"epochs": runs, "missing": sorted(set(runs) - set(measured)), "scaled": False}
    for side in ("plain", "pipeline"):
        out[side] = sum(n * measured[m][f"{side}_full_s_per_epoch"] for m, n in runs.items() if m in measured)
    out["scaled"] = any(abs(measured[m]["full_scale"] - 1.0) > 1e-9 for m in runs if m in measured)
    return out


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:  # not available on this platform
        return math.nan


def backend_label(first: dict) -> str:
    """``TensorFlow 2.21.0`` / ``JAX 0.10.2``: the backend a run measured, with its version."""
    return f"{BACKEND_NAMES[first['backend']]} {first['backend_version']}"


def header_lines(
    first: dict, sources: dict[str, str], load: tuple[float, float], runs: list[dict] | None = None
) -> list[str]:
    """The machine and software a table was measured with; ``sources``: data per model;
    ``load``: the 1-minute load average at the start and at the end; ``runs``: every run
    (JAX: which side had the deterministic-ops flag, how the pipeline was fed)."""
    info = cpu_info()
    cpu = f"CPU: {info['cpu']} (flags: {', '.join(info['flags']) or 'none of ' + ', '.join(CPU_FLAGS)})"
    load_line = (
        f"load average {load[0]:.1f} at the start, {load[1]:.1f} at the end, {os.cpu_count()} CPUs "
        "(other load makes wall times noisy; CPU seconds much less so)"
    )
    data = "data: " + "; ".join(f"{m} {d}" for m, d in sources.items())
    if first["backend"] == "tensorflow":
        gpus = ", ".join(first["gpus"]) or "none seen by TensorFlow"
        return [
            cpu,
            f"TF_ENABLE_ONEDNN_OPTS={first['onednn_env']} (oneDNN {'on' if first['onednn_active'] else 'off'}), "
            f"threads {first['threads']}, precision {first['precision']}",
            load_line,
            f"TensorFlow {first['tensorflow']}, Keras {first['keras']}, Python {platform.python_version()}; GPU: {gpus}",
            data,
        ]
    runs = runs or [first]
    on_gpu = bool(first["gpus"])

    def flag(side: str) -> str:
        side_runs = [r for r in runs if r["side"] == side]
        return yes_no(r["xla_deterministic_ops"] for r in side_runs) if side_runs else "not run"

    feeds = sorted({r["jax_feed"] for r in runs if r["side"] == "pipeline"})
    env_feed = next((r["jax_feed_env"] for r in runs if r["side"] == "pipeline" and r["jax_feed_env"]), None)
    preallocate = {r["side"]: r["preallocate"] for r in runs}
    names = {"device": "index blocks of device copies", "host": "host batches"}
    feed_text = "/".join(names[f] for f in feeds) or "not run"
    env_text = (
        f"DLREPRO_JAX_FEED={env_feed}"
        if env_feed
        else "DLREPRO_JAX_FEED unset: device on a GPU, host on the CPU"
    )
    lines = [
        cpu,
        f"backend JAX {first['backend_version']} (jaxlib {first.get('jaxlib') or '?'}), Keras {first['keras']}, "
        f"Python {platform.python_version()}; device: {first['device']}; oneDNN: n/a (TensorFlow's)",
        f"threads {first['threads']} (XLA's CPU pool: the CPUs of the process's affinity), "
        f"precision {first['precision']}",
        f"XLA deterministic ops ({XLA_DETERMINISM}): pipeline {flag('pipeline')} (dlrepro.backend.select, "
        f"as every workflow job), plain {flag('plain')} (a plain script: the inherited XLA_FLAGS; "
        "--deterministic-plain adds the flag)"
        + ("" if on_gpu else "; no effect on the CPU (XLA:CPU is deterministic)"),
        f"pipeline's JAX input (dlrepro.batches): {feed_text} ({env_text}); XLA_PYTHON_CLIENT_PREALLOCATE: "
        f"pipeline {preallocate.get('pipeline', '-')}, plain {preallocate.get('plain', '-')}",
    ]
    if any(r.get("gemm_gflops") for r in runs):
        lines.append(
            f"GEMM reference: jitted float32 {first['gemm_size']} x {first['gemm_size']} jnp.matmul "
            "(JAX's default precision), block_until_ready, median of 5"
            + ("; per CPU-s columns left empty on a GPU" if on_gpu else "")
        )
    return [*lines, load_line, data]


def estimate_lines(est: dict, threads: int, first: dict | None = None) -> list[str]:
    """The estimate in words; ``first``: a run (names the backend and device measured)."""
    parts = ", ".join(f"{m} {n} epochs" for m, n in est["epochs"].items())
    where = f"{threads} threads"
    if first is not None:
        where = f"{backend_label(first)}, {first['device']}" + (
            "" if first["gpus"] else f", {threads} threads"
        )
    lines = [
        f"Estimated training time of the full default reproduction (config.yaml: {parts}), "
        f"one job at a time on {where}: pipeline {est['pipeline'] / 3600:.1f} h, "
        f"plain Keras {est['plain'] / 3600:.1f} h"
    ]
    if est["scaled"]:
        lines.append(
            "  (scaled: per-epoch times of the subsets multiplied by full size / subset size: "
            + ", ".join(f"{m} {n:,}" for m, n in workloads.FULL_TRAIN.items())
            + " training samples)"
        )
    if est["missing"]:
        lines.append(f"  (not measured, not counted: {', '.join(est['missing'])})")
    return lines


def fmt(value, digits: int = 6) -> str:
    """A CSV cell: floats to ``digits`` significant digits, NaN empty."""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{digits}g}"
    return str(value)


TABLE = [  # (row key, column title, format)
    ("model", "model", "{}"),
    ("data", "data", "{}"),
    ("n_train", "train", "{:,}"),
    ("plain_s_per_epoch", "plain s/ep", "{:.3g}"),
    ("pipeline_s_per_epoch", "pipe s/ep", "{:.3g}"),
    ("ratio", "ratio", "{:.2f}"),
    ("plain_cpu_s_per_epoch", "plain CPU s/ep", "{:.3g}"),
    ("pipeline_cpu_s_per_epoch", "pipe CPU s/ep", "{:.3g}"),
    ("cpu_ratio", "CPU ratio", "{:.2f}"),
    ("plain_accuracy", "plain acc", "{:.4f}"),
    ("pipeline_accuracy", "pipe acc", "{:.4f}"),
    ("gflops", "GFLOP/s", "{:.1f}"),
    ("gemm_gflops", "GEMM GFLOP/s", "{:.1f}"),
    ("gemm_fraction", "of GEMM", "{:.0%}"),
    ("cpu_gemm_fraction", "of GEMM per CPU-s", "{:.0%}"),
    ("peak_rss_mb", "RSS MB", "{:.0f}"),
]


def markdown_table(rows: list[dict], columns=TABLE) -> str:
    """A Markdown table of ``rows`` with the ``(key, title, format)`` columns (NaN: empty)."""

    def cell(value, form):
        if isinstance(value, float) and math.isnan(value):
            return ""
        return form.format(value)

    lines = ["| " + " | ".join(title for _, title, _ in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(cell(row[key], form) for key, _, form in columns) + " |")
    return "\n".join(lines)


def write_results(rows: list[dict], text: str, out: Path, name: str, columns=COLUMNS) -> None:
    """``<name>.csv`` (one row per model) and ``<name>.md`` (the printed text) under ``out``."""
    import csv

    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"{name}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: fmt(v) for k, v in row.items()})
    (out / f"{name}.md").write_text(text + "\n")


def benchmark(args) -> str:
    """Plain vs pipeline for every model (A B A B ...); writes the CSV/Markdown, returns the text."""
    rows, first, sources, load, every = [], None, {}, load_average(), []
    for model in args.models:
        runs = []
        for rep in range(1, args.reps + 1):
            for side in ("plain", "pipeline"):
                run = spawn(side, model, args, args.onednn)
                runs.append(run)
                print(
                    f"  {model} {side} {rep}/{args.reps}: {after_first(run['wall']):.3f} s/epoch, "
                    f"{after_first(run['cpu']):.3f} CPU s/epoch, accuracy {run['accuracy']:.4f}",
                    file=sys.stderr,
                    flush=True,
                )
        first = first or runs[0]
        every += runs
        sources[model] = runs[0]["data"]
        rows.append(summarise(model, runs))
    mode = "quick" if args.quick else "full"
    est = estimate(rows, workloads.read_config())
    text = "\n".join(
        [
            f"# Training benchmark ({mode} mode, {backend_label(first)} on {first['device']}): "
            "pipeline (dlrepro.training.fit) vs plain Keras",
            "",
            *[f"- {line}" for line in header_lines(first, sources, (load, load_average()), every)],
            f"- {args.epochs} epochs per run, {args.reps} plain + {args.reps} pipeline runs per model "
            "alternating, per-epoch figures = median of the epochs after the first, median over runs; "
            "ratio = pipeline / plain",
            "",
            markdown_table(rows),
            "",
            *estimate_lines(est, first["threads"], first),
        ]
    )
    write_results(rows, text, Path(args.out), "training")
    return text


ONEDNN_COLUMNS = ["model", "n_train", "epochs", "off_cpu_s_per_epoch", "on_cpu_s_per_epoch", "cpu_ratio"]
ONEDNN_COLUMNS += ["off_s_per_epoch", "on_s_per_epoch", "off_accuracy", "on_accuracy", "threads"]


def compare_onednn(args) -> str:
    """The plain script with oneDNN off and on, alternating; CPU s/epoch off / on per model."""
    rows, first, sources, load = [], None, {}, load_average()
    for model in args.models:
        runs = {"0": [], "1": []}
        for _ in range(args.reps):
            for flag in ("0", "1"):
                run = spawn("plain", model, args, flag)
                if run["onednn_active"] != (flag == "1"):
                    print(
                        f"  note: TF_ENABLE_ONEDNN_OPTS={flag} but oneDNN active is {run['onednn_active']}",
                        file=sys.stderr,
                    )
                runs[flag].append(run)
                first, sources[model] = first or run, run["data"]
        row = {
            "model": model,
            "n_train": runs["1"][0]["n_train"],
            "epochs": args.epochs,
            "threads": args.threads,
        }
        for flag, name in (("0", "off"), ("1", "on")):
            row[f"{name}_cpu_s_per_epoch"] = _median([after_first(r["cpu"]) for r in runs[flag]])
            row[f"{name}_s_per_epoch"] = _median([after_first(r["wall"]) for r in runs[flag]])
            row[f"{name}_accuracy"] = runs[flag][-1]["accuracy"]
        row["cpu_ratio"] = row["off_cpu_s_per_epoch"] / row["on_cpu_s_per_epoch"]
        rows.append(row)
    columns = [
        ("model", "model", "{}"),
        ("n_train", "train", "{:,}"),
        ("off_cpu_s_per_epoch", "oneDNN off CPU s/ep", "{:.3g}"),
        ("on_cpu_s_per_epoch", "oneDNN on CPU s/ep", "{:.3g}"),
        ("cpu_ratio", "off / on", "{:.2f}"),
        ("off_s_per_epoch", "off s/ep", "{:.3g}"),
        ("on_s_per_epoch", "on s/ep", "{:.3g}"),
        ("off_accuracy", "off acc", "{:.4f}"),
        ("on_accuracy", "on acc", "{:.4f}"),
    ]
    text = "\n".join(
        [
            "# oneDNN off vs on (plain Keras script, TF_ENABLE_ONEDNN_OPTS=0 / 1 alternating)",
            "",
            *[
                f"- {line}"
                for i, line in enumerate(header_lines(first, sources, (load, load_average())))
                if i != 1
            ],
            f"- threads {args.threads}, precision {args.precision}, {args.epochs} epochs per run, "
            f"{args.reps} runs per setting; CPU s/ep = median of the epochs after the first",
            "",
            markdown_table(rows, columns),
        ]
    )
    write_results(rows, text, Path(args.out), "onednn", ONEDNN_COLUMNS)
    return text


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small subsets (a few minutes on 2 cores)")
    parser.add_argument("--models", help="comma-separated subset (default: all; cnn3d with --compare-onednn)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (default 3)")
    parser.add_argument("--reps", type=int, default=2, help="runs per side and model (default 2)")
    parser.add_argument("--samples", type=int, default=None, help="training samples of every model")
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--onednn", choices=("0", "1"), default=os.environ["TF_ENABLE_ONEDNN_OPTS"])
    parser.add_argument("--precision", choices=PRECISIONS, default="float32")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--synthetic", action="store_true", help="synthetic data even when real data exists")
    parser.add_argument("--compare-onednn", action="store_true", help="plain runs with oneDNN off vs on")
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="tensorflow",
        help="Keras backend of both sides (default tensorflow)",
    )
    parser.add_argument(
        "--deterministic-plain",
        action="store_true",
        help=f"JAX: the plain side also gets XLA_FLAGS={XLA_DETERMINISM} (the pipeline always has it)",
    )
    parser.add_argument(
        "--jax-feed",
        choices=("device", "host"),
        help="JAX: DLREPRO_JAX_FEED of the pipeline side (default: inherited; unset = device on a GPU, host on the CPU)",
    )
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output directory")
    parser.add_argument("--worker", choices=("plain", "pipeline"), help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.models is None:
        args.models = "cnn3d" if args.compare_onednn else ",".join(workloads.MODELS)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(args.models) - set(workloads.MODELS))
    if unknown:
        parser.error(
            f"--models: unknown {', '.join(unknown)}; expected some of {', '.join(workloads.MODELS)}"
        )
    if args.epochs < 1 or args.reps < 1:
        parser.error("--epochs and --reps must be >= 1")
    if args.backend != "jax" and (args.deterministic_plain or args.jax_feed):
        parser.error("--deterministic-plain and --jax-feed are for --backend jax")
    if args.backend != "tensorflow" and args.compare_onednn:
        parser.error("--compare-onednn compares TensorFlow's oneDNN kernels: not with --backend jax")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.worker:
            args.side, args.model = args.worker, args.models[0]
            prepare_worker(args)  # before Keras is imported
            Path(args.result).write_text(json.dumps(worker(args)))
            return 0
        text = compare_onednn(args) if args.compare_onednn else benchmark(args)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

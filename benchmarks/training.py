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
the flag was set.  The GEMM reference and the CPU affinity on JAX: ``bench_worker.py``.

What a run measures (in its own process, ``training.py --worker ...``): ``bench_worker.py``;
the table, the CSV/Markdown (``results/benchmarks/training.csv`` and ``training.md``) and the
estimate of the full default reproduction: ``bench_report.py``.

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
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import workloads  # noqa: E402
from bench_report import (  # noqa: E402
    ONEDNN_COLUMNS,
    after_first,
    backend_label,
    estimate,
    estimate_lines,
    header_lines,
    load_average,
    markdown_table,
    median_or_nan,
    summarise,
    write_results,
)
from bench_worker import (  # noqa: E402
    XLA_DETERMINISM,
    BenchmarkError,
    default_threads,
    prepare_worker,
    worker,
)

ROOT = workloads.ROOT
DEFAULT_OUT = ROOT / "results" / "benchmarks"
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
BACKENDS = ("tensorflow", "jax")


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
            row[f"{name}_cpu_s_per_epoch"] = median_or_nan([after_first(r["cpu"]) for r in runs[flag]])
            row[f"{name}_s_per_epoch"] = median_or_nan([after_first(r["wall"]) for r in runs[flag]])
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

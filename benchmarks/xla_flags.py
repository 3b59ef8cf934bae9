"""Benchmark: the pipeline on JAX under XLA's determinism flags - speed and same weights per seed.

Usage::

    KERAS_BACKEND=jax python benchmarks/xla_flags.py [--models cnn3d,lenet,lstm] [--epochs 5]
        [--reps 2] [--variants deterministic,exclude,none] [--seed 1] [--samples N] [--synthetic] [--out DIR]

The workflow sets ``XLA_FLAGS=--xla_gpu_deterministic_ops=true`` on JAX (``dlrepro.backend``).
That flag also turns off XLA's autotuning of convolutions and GEMMs, so it may cost speed
beyond the deterministic kernels themselves.  For every model and flag variant this trains
the pipeline (``dlrepro.training.fit`` as the workflow's scripts call it, fed as on the
workflow: index blocks of device copies on a GPU) ``--reps`` times with the same seed, each
run a fresh process (``training.py --worker pipeline``), alternating the variants, and prints
per model and variant: the median seconds per epoch after the first, the first epoch
(compilation included), the final accuracy, and whether every run of the variant ended with
identical weights (SHA-256 of the weights):

* ``deterministic``: ``--xla_gpu_deterministic_ops=true`` (the workflow's default);
* ``exclude``: ``--xla_gpu_exclude_nondeterministic_ops=true`` (deterministic kernels,
  autotuning on);
* ``none``: ``--xla_gpu_deterministic_ops=false``.

On the CPU every variant is the same program (XLA:CPU is deterministic; the flags are for the
GPU): a check of this script, not a measurement.  Writes ``xla_flags.md``/``.csv`` to
``--out`` (default ``results/benchmarks``).  Nothing is asserted: a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import training  # noqa: E402  (the benchmark's driver: spawn, options)
import workloads  # noqa: E402
from bench_report import after_first, load_average  # noqa: E402
from bench_worker import BenchmarkError, cpu_info  # noqa: E402

VARIANTS = {
    "deterministic": "--xla_gpu_deterministic_ops=true",
    "exclude": "--xla_gpu_deterministic_ops=false --xla_gpu_exclude_nondeterministic_ops=true",
    "none": "--xla_gpu_deterministic_ops=false",
}
COLUMNS = [
    "model",
    "variant",
    "xla_flags",
    "runs",
    "s_per_epoch",
    "first_epoch_s",
    "accuracy",
    "identical",
    "as_first_variant",
]


def summarise(model: str, variant: str, runs: list[dict], reference: str) -> dict:
    """One row: medians over the variant's runs, whether their weights were identical, and
    whether its first run's weights equal ``reference`` (the first variant's first run)."""
    digests = {r["weights_sha256"] for r in runs}
    return {
        "model": model,
        "variant": variant,
        "xla_flags": runs[0].get("xla_flags", ""),  # as the run's process had them
        "runs": len(runs),
        "s_per_epoch": statistics.median(after_first(r["wall"]) for r in runs),
        "first_epoch_s": statistics.median(r["wall"][0] for r in runs),
        "accuracy": " ".join(f"{r['accuracy']:.4f}" for r in runs),
        "accuracy_on": runs[0]["accuracy_on"],
        "identical": ("yes" if len(digests) == 1 else f"no ({len(digests)} different)")
        if len(runs) > 1
        else "-",
        "as_first_variant": "yes" if runs[0]["weights_sha256"] == reference else "no",
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| model | variant | runs | s/epoch (median after the 1st) | 1st epoch s | final accuracy per run "
        "| same weights | = 1st variant |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['variant']} | {r['runs']} | {r['s_per_epoch']:.4f} | {r['first_epoch_s']:.2f} "
            f"| {r['accuracy']} ({r['accuracy_on']}) | {r['identical']} | {r['as_first_variant']} |"
        )
    return "\n".join(lines)


def report(args, rows: list[dict], first: dict, sources: dict, load: float) -> str:
    """The table so far, with its header; also written to ``--out`` (after every model, so an
    interrupted run keeps what it measured)."""
    on_gpu = bool(first["gpus"])
    text = "\n".join(
        [
            f"# XLA determinism flags: the pipeline on JAX {first['backend_version']}, {first['device']}",
            "",
            f"- CPU: {cpu_info()['cpu']}, {os.cpu_count()} CPUs, load {load:.1f} at the start, "
            f"{load_average():.1f} now; Keras {first['keras']}, threads {first['threads']}",
            f"- {args.epochs} epochs per run, seed {args.seed} in every run, {args.reps} runs per variant "
            f"alternating, each a fresh process; pipeline feed: {first['jax_feed']}; data: "
            + "; ".join(f"{m} {d}" for m, d in sources.items()),
            "- same weights: every run of the variant ended with the same SHA-256 of its weights; "
            f"= 1st variant: its first run's weights equal those of {args.variants[0]}'s first run"
            + ("" if on_gpu else "; on the CPU the flags change nothing (XLA:CPU is deterministic)"),
            "",
            table(rows),
        ]
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "xla_flags.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    (out / "xla_flags.md").write_text(text + "\n")
    return text


def run(args) -> str:
    load = load_average()
    options = training.parse_args(
        f"--backend jax --epochs {args.epochs} --seed {args.seed} --threads {args.threads}".split()
        + (["--samples", str(args.samples)] if args.samples else [])
        + (["--synthetic"] if args.synthetic else [])
    )
    rows, first, sources, text = [], None, {}, ""
    for model in args.models:
        runs = {v: [] for v in args.variants}
        for rep in range(1, args.reps + 1):
            for variant in args.variants:  # alternating: drifts in load hit every variant alike
                os.environ["XLA_FLAGS"] = VARIANTS[variant]  # inherited by the run's process
                result = training.spawn("pipeline", model, options, "1")
                runs[variant].append(result)
                first = first or result
                print(
                    f"  {model} {variant} {rep}/{args.reps}: {after_first(result['wall']):.4f} s/epoch, first "
                    f"{result['wall'][0]:.2f} s, accuracy {result['accuracy']:.4f}, "
                    f"weights {result['weights_sha256'][:12]}",
                    file=sys.stderr,
                    flush=True,
                )
        reference = runs[args.variants[0]][0]["weights_sha256"]
        rows += [summarise(model, v, runs[v], reference) for v in args.variants]
        sources[model] = runs[args.variants[0]][0]["data"]
        text = report(args, rows, first, sources, load)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="cnn3d,lenet,lstm")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--samples", type=int, default=None, help="training samples of every model (default: all)"
    )
    parser.add_argument("--synthetic", action="store_true", help="synthetic data even when real data exists")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--out", default=str(training.DEFAULT_OUT))
    args = parser.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    bad = sorted(set(args.models) - set(workloads.MODELS)) + sorted(set(args.variants) - set(VARIANTS))
    if bad:
        parser.error(
            f"unknown {', '.join(bad)}; models: {', '.join(workloads.MODELS)}; variants: {', '.join(VARIANTS)}"
        )
    if args.epochs < 2 or args.reps < 1:
        parser.error("--epochs must be >= 2 (the first epoch compiles) and --reps >= 1")
    try:
        print(run(args))
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

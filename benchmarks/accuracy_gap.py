"""Test accuracy of a plain lecture-style Keras script and of the pipeline, same everything else.

The LeNet question (docs/results.md): does the pipeline's training (``dlrepro.training.fit``:
the batch order of each epoch seeded by (seed, epoch), op determinism, checkpoints) give a
different test accuracy than a plain ``model.fit`` of the same model on the same data with the
same seed?  Both sides train :mod:`workloads`' model (the project's builder, the pipeline's
preprocessing: /255, the tail 20 % held out for validation) for the lecture's epochs, each
run in a fresh process, and are evaluated on the 10,000 MNIST test images.

    .venv/bin/python benchmarks/accuracy_gap.py --model lenet --seeds 1,2,3
    .venv/bin/python benchmarks/accuracy_gap.py --model mlp --epochs 20 --sides plain,pipeline,plain-deterministic

Sides: ``plain`` (benchmarks/plain_keras.py: ``keras.utils.set_random_seed``, one
``model.fit(shuffle=True)``), ``plain-deterministic`` (the same with TensorFlow's op
determinism, or on JAX (``KERAS_BACKEND=jax``) XLA's deterministic GPU ops, as the pipeline
runs), ``pipeline`` (``dlrepro.training.fit`` as the training
scripts call it).  Prints one line per run and a table (mean ± sample std over seeds), headed by
the CPU model, backend, versions and load; the runs alternate sides (A B A B).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import workloads  # noqa: E402
from sweep_dry_run import cpu_model  # noqa: E402

SIDES = ("plain", "plain-deterministic", "pipeline")


def worker(side: str, model: str, epochs: int, seed: int, threads: int) -> dict:
    """One training + test evaluation in this (fresh) process."""
    import keras
    import numpy as np

    from dlrepro import mnist

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        if side == "plain-deterministic":
            tf.config.experimental.enable_op_determinism()
    work = workloads.load(model)
    tic = time.perf_counter()
    if side == "pipeline":
        from bench_worker import pipeline_fit  # dlrepro.training.fit as the training scripts call it

        with tempfile.TemporaryDirectory(prefix="gap-") as workdir:
            trained, _, _, logs, _ = pipeline_fit(work, epochs, seed, workdir)
        val = float(logs["val_accuracy"][-1])
    else:
        from plain_keras import train_workload

        result = train_workload(work, epochs=epochs, seed=seed)
        trained, val = result["model"], float(result["history"]["val_accuracy"][-1])
    wall = time.perf_counter() - tic
    directory = workloads.shared_data() / "mnist"
    images, labels = mnist.load_part(directory, "test")
    x_test = images.astype(np.float32) / np.float32(255.0)
    _, test = trained.evaluate(x_test, labels.astype(np.int16), batch_size=1000, verbose=0)
    return {
        "side": side,
        "seed": seed,
        "test": float(test),
        "validation": val,
        "wall": wall,
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "data": work.data,
    }


def spawn(side: str, args, seed: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="gap-run-") as tmp:
        out = Path(tmp) / "result.json"
        command = [
            sys.executable,
            __file__,
            "--worker",
            side,
            "--result",
            str(out),
            "--model",
            args.model,
            "--epochs",
            str(args.epochs),
            "--seeds",
            str(seed),
            "--threads",
            str(args.threads),
        ]
        env = dict(os.environ)
        if side == "plain-deterministic" and env.get("KERAS_BACKEND") == "jax":  # as dlrepro.backend sets it
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_gpu_deterministic_ops=true").strip()
        proc = subprocess.run(command, capture_output=True, text=True, env=env)
        if proc.returncode or not out.exists():
            tail = [line for line in proc.stderr.splitlines() if line.strip()][-3:]
            raise SystemExit(f"accuracy_gap: {side} seed {seed} failed: {' | '.join(tail)}")
        return json.loads(out.read_text())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet", choices=("perceptron", "mlp", "lenet"))
    parser.add_argument("--epochs", type=int, default=None, help="default: the lecture's (config.yaml)")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--sides", default="plain,pipeline")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = int(workloads.read_config()["mnist"]["models"][args.model]["epochs"][0])
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.worker:
        Path(args.result).write_text(
            json.dumps(worker(args.worker, args.model, args.epochs, seeds[0], args.threads))
        )
        return 0
    sides = args.sides.split(",")
    unknown = set(sides) - set(SIDES)
    if unknown:
        parser.error(f"--sides: unknown {sorted(unknown)}; expected some of {SIDES}")
    load = os.getloadavg()[0]
    print(
        f"# {args.model}, {args.epochs} epochs, seeds {seeds}, sides {sides}; CPU {cpu_model()}, "
        f"{args.threads} threads, KERAS_BACKEND={os.environ.get('KERAS_BACKEND', 'tensorflow')}, "
        f"TF_ENABLE_ONEDNN_OPTS={os.environ['TF_ENABLE_ONEDNN_OPTS']}, load {load:.1f}",
        flush=True,
    )
    runs = []
    for seed in seeds:
        for side in sides:
            run = spawn(side, args, seed)
            runs.append(run)
            print(
                f"{side:20s} seed {seed}: test {100 * run['test']:.2f} %, validation "
                f"{100 * run['validation']:.2f} %, {run['wall']:.0f} s ({run['backend']}, "
                f"Keras {run['keras']}, {run['data']})",
                flush=True,
            )
    print(
        f"\n| side | seeds | test accuracy % (per seed) | mean ± std | validation % mean |  (load {load:.1f} -> "
        f"{os.getloadavg()[0]:.1f})\n|---|---|---|---|---|"
    )
    for side in sides:
        mine = [r for r in runs if r["side"] == side]
        tests = [100 * r["test"] for r in mine]
        std = statistics.stdev(tests) if len(tests) > 1 else float("nan")
        vals = statistics.mean(100 * r["validation"] for r in mine)
        print(
            f"| {side} | {','.join(str(r['seed']) for r in mine)} | {', '.join(f'{t:.2f}' for t in tests)} "
            f"| {statistics.mean(tests):.2f} ± {std:.2f} | {vals:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

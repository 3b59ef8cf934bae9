"""Benchmark: CPU time of a Snakemake dry-run with a large sweep (DAG building must stay quick).

Usage:  .venv/bin/python benchmarks/sweep_dry_run.py [--points 100] [--seeds 3] [--reps 3]

Copies the workflow to a temporary directory (nothing computed there) and dry-runs the tiny
profile (synthetic data: availability known at parse time, no network) without any sweep (the
baseline) and with one MNIST sweep of ``--points`` points (a learning-rate x
batch-size grid) x ``--seeds`` seeds, i.e. points x seeds training jobs plus the comparison; and, for scale, a one-rule workflow (Snakemake's own start-up).
Prints, per case, the median over ``--reps`` runs of the CPU time (user + sys) of the
``snakemake`` process and its children, and of the wall time, with the CPU model and load.
This is a benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("Snakefile", "config.yaml", "rules", "scripts", "schemas", "envs", "profiles", "report")
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def grid(points: int) -> dict:
    """A learning_rate x batch_size grid of about ``points`` points."""
    rows = max(1, int(math.sqrt(points)))
    cols = math.ceil(points / rows)
    rates = [round(10 ** (-4 + 3 * i / max(rows - 1, 1)), 6) for i in range(rows)]
    sizes = [16 * (i + 1) for i in range(cols)]
    return {"learning_rate": rates, "batch_size": sizes}


def setup(directory: Path, points: int, seeds: int) -> tuple[list[str], list[str], int]:
    for part in PARTS:
        src = ROOT / part
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, directory / part)
    tiny = directory / "profiles/tiny/workflow-config.yaml"
    config = yaml.safe_load(tiny.read_text())
    config.pop("sweeps", None)
    tiny.write_text(yaml.safe_dump(config))
    parameters = grid(points)
    n = math.prod(len(v) for v in parameters.values())
    sweep = {
        "sweeps": {
            "bench": {
                "experiment": "mnist",
                "model": "mlp",
                "parameters": parameters,
                "seeds": list(range(1, seeds + 1)),
            }
        }
    }
    (directory / "bench.yaml").write_text(yaml.safe_dump(sweep))
    base = ["-n", "--profile", "profiles/tiny"]
    with_sweep = [*base, "--configfile", "profiles/tiny/workflow-config.yaml", "bench.yaml"]
    return base, with_sweep, n


def measure(directory: Path, args: list[str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    tic = time.perf_counter()
    proc = subprocess.run([SNAKEMAKE, *args], cwd=directory, capture_output=True, text=True)
    wall = time.perf_counter() - tic
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    total = [line for line in proc.stdout.splitlines() if line.startswith("total")]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, total[0].split()[-1] if total else "?"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        directory = Path(tmp)
        base, with_sweep, n = setup(directory, args.points, args.seeds)
        empty = directory / "empty"
        empty.mkdir()
        (empty / "Snakefile").write_text('rule all:\n    output: "a"\n    shell: "touch {output}"\n')
        measure(directory, base)  # warm the file cache and .snakemake/ once
        print(f"CPU: {cpu_model()} ({os.cpu_count()} CPUs); load average {os.getloadavg()[0]:.1f}")
        print(f"snakemake dry-run of the tiny profile, median of {args.reps} runs\n")
        print("| case | jobs | CPU s (user+sys) | wall s |")
        print("|---|---|---|---|")
        cases = (
            ("a one-rule workflow (Snakemake's start-up)", empty, ["-n", "-c1"]),
            ("no sweep (baseline)", directory, base),
            (f"{n}-point sweep x {args.seeds} seeds", directory, with_sweep),
        )
        for name, where, cmd in cases:
            runs = [measure(where, cmd) for _ in range(args.reps)]
            cpu = statistics.median(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            print(f"| {name} | {runs[0][2]} | {cpu:.2f} | {wall:.2f} |")
        print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

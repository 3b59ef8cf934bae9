"""The summary side of ``benchmarks/training.py``: the runs' figures as a table, CSV and estimate.

From the runs of a model (each a dict from ``bench_worker.worker``): the median over the
epochs after the first (the first carries tracing and start-up), the median over repetitions,
and for the CNNs the achieved GFLOP/s (forward + backward = 3 x forward MACs x 2 FLOPs,
counted from the layer shapes) against the GEMM measured in the same process, per wall second
and per CPU second (``of GEMM per CPU-s``: FLOPs per second of process CPU time, training vs
GEMM, which other load on the machine disturbs much less).  Per model the medians over
repetitions go into ``results/benchmarks/training.csv`` and ``training.md``.  The estimate of
the full default reproduction (``config.yaml``: seeds, epochs, splits), on the backend and
device measured, scales the per-epoch figures to the full training-set sizes when a subset
was trained (``--quick``).  The CSV names the backend, its version and the device of every
row.  The header names the machine and software measured (on JAX: for each side whether
XLA's deterministic-ops flag was set, how the pipeline was fed).
"""

from __future__ import annotations

import math
import os
import platform
import statistics
from pathlib import Path

import workloads
from bench_worker import CPU_FLAGS, XLA_DETERMINISM, cpu_info

BACKEND_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX"}
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


def after_first(values: list[float]) -> float:
    """Median of the epochs after the first (the only epoch when there is one)."""
    return statistics.median(values[1:] if len(values) > 1 else values)


def median_or_nan(values):
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
        row[f"{side}_s_per_epoch"] = median_or_nan([after_first(r["wall"]) for r in side_runs])
        row[f"{side}_cpu_s_per_epoch"] = median_or_nan([after_first(r["cpu"]) for r in side_runs])
        row[f"{side}_accuracy"] = side_runs[-1]["accuracy"]
        row[f"{side}_peak_rss_mb"] = max(r["peak_rss_mb"] for r in side_runs)
    row["ratio"] = row["pipeline_s_per_epoch"] / row["plain_s_per_epoch"]
    row["cpu_ratio"] = row["pipeline_cpu_s_per_epoch"] / row["plain_cpu_s_per_epoch"]
    row["accuracy_on"] = first["accuracy_on"]
    row["peak_rss_mb"] = row.pop("pipeline_peak_rss_mb")
    gemm = median_or_nan([r["gemm_gflops"] for r in runs])
    flops = first["epoch_flops"] if model in workloads.CNNS else None
    row["plain_gflops"] = flops / row["plain_s_per_epoch"] / 1e9 if flops else math.nan
    row["gflops"] = flops / row["pipeline_s_per_epoch"] / 1e9 if flops else math.nan
    row["gemm_gflops"] = gemm
    row["gemm_fraction"] = row["gflops"] / gemm if flops and gemm == gemm else math.nan
    # the same per CPU second (GFLOP per second of process CPU time), steadier under other load
    gemm_cpu = median_or_nan([r.get("gemm_cpu_gflops") for r in runs])
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


ONEDNN_COLUMNS = ["model", "n_train", "epochs", "off_cpu_s_per_epoch", "on_cpu_s_per_epoch", "cpu_ratio"]
ONEDNN_COLUMNS += ["off_s_per_epoch", "on_s_per_epoch", "off_accuracy", "on_accuracy", "threads"]

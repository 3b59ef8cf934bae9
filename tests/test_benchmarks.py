"""The training benchmark's machinery on a minuscule run (nothing here depends on timings)."""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_report as report  # noqa: E402
import bench_worker  # noqa: E402
import training as bench  # noqa: E402
import workloads  # noqa: E402


def test_forward_macs_of_lenet_match_the_layer_arithmetic():
    from dlrepro.mnist import build_model

    model = build_model("lenet", "adam")
    conv1 = 28 * 28 * 20 * (5 * 5 * 1)
    conv2 = 14 * 14 * 50 * (5 * 5 * 20)
    dense = 7 * 7 * 50 * 500 + 500 * 10
    assert workloads.forward_macs(model) == conv1 + conv2 + dense
    assert workloads.epoch_flops(model, 10, 4) == 2 * (conv1 + conv2 + dense) * (3 * 10 + 4)


def test_reproduction_epochs_follow_the_config():
    config = workloads.read_config()
    runs = report.reproduction_runs(config)
    seeds = len(config["seeds"])
    assert runs["mlp"] == seeds * sum(config["mnist"]["models"]["mlp"]["epochs"])
    ip = config["indian_pines"]
    assert runs["cnn3d"] == seeds * len(ip["splits"]) * ip["epochs"]
    capped = report.reproduction_runs({**config, "max_epochs": 2})
    assert capped["cnn3d"] == seeds * len(ip["splits"]) * 2


def test_estimate_sums_epochs_times_full_size_seconds():
    config = workloads.read_config()
    rows = [
        {"model": "cnn3d", "full_scale": 2.0, "plain_full_s_per_epoch": 1.0, "pipeline_full_s_per_epoch": 3.0}
    ]
    est = report.estimate(rows, config)
    n = report.reproduction_runs(config)["cnn3d"]
    assert est["plain"] == pytest.approx(n * 1.0) and est["pipeline"] == pytest.approx(n * 3.0)
    assert est["scaled"] and "lstm" in est["missing"] and "cnn3d" not in est["missing"]


def test_mixed_float16_is_refused_without_a_gpu():
    with pytest.raises(bench.BenchmarkError, match="mixed_float16 needs a GPU"):
        bench_worker.check_precision("mixed_float16", ["avx2"], [])
    with pytest.raises(bench.BenchmarkError, match="avx512_bf16"):
        bench_worker.check_precision("mixed_bfloat16", ["avx2"], [])
    bench_worker.check_precision("mixed_bfloat16", ["avx2", "avx512_bf16"], [])


def test_quick_benchmark_writes_one_row_per_model(tmp_path, capsys):
    """Plain and pipeline runs of LeNet on 64 synthetic samples, 1 epoch: CSV, Markdown, table."""
    out = tmp_path / "bench"
    argv = ["--quick", "--synthetic", "--models", "lenet", "--epochs", "1", "--reps", "1"]
    assert bench.main([*argv, "--samples", "64", "--threads", "1", "--out", str(out)]) == 0
    with open(out / "training.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["model"] for r in rows] == ["lenet"]
    required = {"model", "plain_s_per_epoch", "pipeline_s_per_epoch", "ratio", "plain_cpu_s_per_epoch"}
    required |= {"pipeline_cpu_s_per_epoch", "plain_accuracy", "pipeline_accuracy", "gflops", "gemm_gflops"}
    required |= {"gemm_fraction", "peak_rss_mb"}
    assert required <= set(rows[0])
    row = rows[0]
    assert row["n_train"] == "64" and row["data"] == "synthetic" and row["epochs"] == "1"
    positive = ("plain_s_per_epoch", "pipeline_s_per_epoch", "gflops", "gemm_gflops", "peak_rss_mb")
    for key in (*positive, "cpu_gflops", "gemm_cpu_gflops", "cpu_gemm_fraction"):
        assert float(row[key]) > 0, key
    assert math.isclose(
        float(row["ratio"]),
        float(row["pipeline_s_per_epoch"]) / float(row["plain_s_per_epoch"]),
        rel_tol=1e-3,
    )
    assert 0.0 <= float(row["plain_accuracy"]) <= 1.0 and 0.0 <= float(row["pipeline_accuracy"]) <= 1.0
    assert float(row["full_scale"]) == pytest.approx(workloads.FULL_TRAIN["lenet"] / 64)
    printed = capsys.readouterr().out
    assert "| lenet |" in printed and "CPU:" in printed and "TF_ENABLE_ONEDNN_OPTS=" in printed
    assert "Estimated training time of the full default reproduction" in printed and "scaled" in printed
    assert (out / "training.md").read_text().strip() == printed.strip()


def test_unknown_model_is_a_usage_error():
    with pytest.raises(SystemExit):
        bench.parse_args(["--models", "resnet"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--deterministic-plain"])  # a JAX option without --backend jax
    with pytest.raises(SystemExit):
        bench.parse_args(["--backend", "jax", "--compare-onednn"])


def test_jax_benchmark_runs_without_tensorflow(tmp_path):
    """--backend jax in a process where ``import tensorflow`` fails and is recorded (the
    approach of tests/test_backend.py): both sides train on JAX in every run's process
    (KERAS_BACKEND is not set here: the benchmark sets it), the table and CSV name the
    backend and device, and nothing tried to import TensorFlow."""
    pytest.importorskip("jax", reason="JAX is not installed (pip install -r requirements.lock)")
    from test_backend import jax_env, tf_imports

    env = jax_env(tmp_path)
    env.pop("KERAS_BACKEND")
    out = tmp_path / "bench"
    args = ["--backend", "jax", "--quick", "--models", "perceptron,lenet", "--epochs", "2", "--reps", "1"]
    args += ["--synthetic", "--samples", "64", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "training.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert tf_imports(tmp_path) == "", tf_imports(tmp_path)[-3000:]
    printed = done.stdout
    assert printed.startswith("# Training benchmark (quick mode, JAX ")
    assert "| perceptron |" in printed and "| lenet |" in printed
    assert "oneDNN: n/a" in printed and "TF_ENABLE_ONEDNN_OPTS" not in printed
    assert "XLA deterministic ops (--xla_gpu_deterministic_ops=true): pipeline yes" in printed
    assert "plain no" in printed or "plain yes" in printed  # yes where the caller's XLA_FLAGS set it
    assert "GEMM reference: jitted float32" in printed
    assert "Estimated training time of the full default reproduction" in printed and "on JAX " in printed
    with open(out / "training.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["model"] for r in rows] == ["perceptron", "lenet"]
    for row in rows:
        assert row["backend"] == "jax" and row["backend_version"] and row["onednn"] == "n/a"
        assert row["device"].startswith(("CPU ", "GPU ")) and row["device"] in printed
        assert row["pipeline_xla_deterministic_ops"] == "yes" and row["jax_feed"] in ("host", "device")
        assert row["n_train"] == "64" and row["epochs"] == "2"
        assert 0.0 <= float(row["plain_accuracy"]) <= 1.0 and 0.0 <= float(row["pipeline_accuracy"]) <= 1.0
    lenet = rows[1]
    assert float(lenet["gemm_gflops"]) > 0 and float(lenet["gflops"]) > 0


def test_jax_worker_environment():
    """The plain side gets the deterministic-ops flag only with --deterministic-plain; the
    pipeline's comes from dlrepro.backend.select in its own process; --jax-feed sets the
    pipeline's DLREPRO_JAX_FEED; TensorFlow's runs keep TF_ENABLE_ONEDNN_OPTS."""
    args = bench.parse_args(["--backend", "jax", "--jax-feed", "host"])
    plain, pipe = bench.worker_env("plain", args, "1"), bench.worker_env("pipeline", args, "1")
    assert plain["KERAS_BACKEND"] == pipe["KERAS_BACKEND"] == "jax"
    assert pipe["DLREPRO_JAX_FEED"] == "host"
    args = bench.parse_args(["--backend", "jax", "--deterministic-plain"])
    assert "--xla_gpu_deterministic_ops=true" in bench.worker_env("plain", args, "1")["XLA_FLAGS"]
    tf_env = bench.worker_env("plain", bench.parse_args(["--onednn", "0"]), "0")
    assert tf_env["KERAS_BACKEND"] == "tensorflow" and tf_env["TF_ENABLE_ONEDNN_OPTS"] == "0"


# --------------------------------------------------------------------------- scale benchmark


def test_scale_benchmark_preprocessing_stages_on_a_tiny_scene(tmp_path):
    """benchmarks/scale.py's --quick machinery at a tiny size (no TensorFlow stages): the stages
    run in their own processes, report their own peak RSS, and the index holds every labelled
    pixel and a 10 % split."""
    import json
    import subprocess

    out, work = tmp_path / "out", tmp_path / "work"
    args = ["--quick", "--rows", "40", "--cols", "33", "--bands", "12", "--classes", "5", "--labelled", "700"]
    args += [
        "--stages",
        "generate,convert,normalise,index",
        "--small-reps",
        "0",
        "--out",
        str(out),
        "--workdir",
        str(work),
    ]
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "scale.py"), *args], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    table = (out / "scale_quick.md").read_text()
    for stage in ("generate", "convert", "normalise", "index"):
        assert f"| {stage} |" in table
    assert "40 x 33 pixels (1,320) x 12 bands int16, 5 classes, 700 labelled" in table
    index = json.loads((work / "index.json").read_text())
    assert index["items"] == 700 and 65 <= index["n_train"] <= 75  # 10 % per class, rounded half up
    rows = list(csv.DictReader(open(out / "scale_quick.csv")))
    assert [r["stage"] for r in rows] == ["generate", "convert", "normalise", "index"]
    assert all(float(r["rss_mib"]) > 10 for r in rows)  # each child's own ru_maxrss (a Python process)


@pytest.mark.realdata
def test_accuracy_gap_compares_plain_and_pipeline_on_the_test_images(shared_data):
    if not (shared_data / "mnist" / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("no MNIST test images in the shared data")
    done = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "accuracy_gap.py"),
            "--model",
            "perceptron",
            "--epochs",
            "1",
            "--seeds",
            "1",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "DLREPRO_SHARED_DATA": str(shared_data)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [
        line
        for line in done.stdout.splitlines()
        if line.startswith("| plain |") or line.startswith("| pipeline |")
    ]
    assert len(rows) == 2, done.stdout
    for row in rows:  # one epoch of the perceptron on the real digits is far above chance
        test = float(row.split("|")[3])
        assert 80.0 < test < 100.0, row


def test_xla_flags_benchmark_same_seed_same_weights_on_the_cpu(tmp_path):
    """benchmarks/xla_flags.py: every run is the pipeline in a fresh process under its
    variant's XLA_FLAGS; on the CPU (XLA:CPU is deterministic, the flags are for GPUs) the same
    seed gives the same weights in every run and under every variant."""
    pytest.importorskip("jax", reason="JAX is not installed (pip install -r requirements.lock)")
    from test_backend import jax_env

    out = tmp_path / "flags"
    args = ["--models", "mlp", "--variants", "deterministic,none", "--epochs", "2", "--reps", "2"]
    args += ["--samples", "64", "--synthetic", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "xla_flags.py"), *args],
        env=jax_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("# XLA determinism flags: the pipeline on JAX ")
    assert len([line for line in done.stderr.splitlines() if line.startswith("  mlp ")]) == 4
    with open(out / "xla_flags.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["model"], r["variant"]) for r in rows] == [("mlp", "deterministic"), ("mlp", "none")]
    assert rows[0]["xla_flags"] == "--xla_gpu_deterministic_ops=true"
    assert rows[1]["xla_flags"] == "--xla_gpu_deterministic_ops=false"
    for row in rows:
        assert row["runs"] == "2" and row["identical"] == "yes" and row["as_first_variant"] == "yes"
        assert float(row["s_per_epoch"]) > 0 and float(row["first_epoch_s"]) > 0
    assert (out / "xla_flags.md").read_text().strip() == done.stdout.strip()


def test_gpu_scripts_parse():
    """The GPU session's shell scripts are valid bash (they run on a machine CI does not have)."""
    for script in ("gpu_check.sh", "gpu_session.sh", "gpu_determinism.sh", "gpu_wheels.sh", "gpu_data.sh"):
        done = subprocess.run(["bash", "-n", str(BENCHMARKS / script)], capture_output=True, text=True)
        assert done.returncode == 0, f"{script}: {done.stderr}"


def test_gpu_session_starts_only_what_its_budget_holds(tmp_path):
    """benchmarks/gpu_session.sh without a GPU or wheels: a stage that needs more time than is
    left is not started, a stage after main without main's install says so, an unknown stage
    is named; exit status 3 (some left) and session.txt in $OUT. Stages finished in an earlier
    call (markers) are skipped: exit status 0."""
    state, out = tmp_path / "state", tmp_path / "out"
    env = dict(os.environ, GPU_SESSION_STATE=str(state), OUT=str(out), GPU_SESSION_BUDGET="40")
    env.update(GPU_SESSION_STAGES="main flags bogus", GPU_CHECK_SITE=str(tmp_path / "no-site"))
    script = str(BENCHMARKS / "gpu_session.sh")
    done = subprocess.run(
        ["bash", script, str(tmp_path / "no-wheels")], env=env, capture_output=True, text=True
    )
    assert done.returncode == 3, done.stdout + done.stderr
    lines = (out / "session.txt").read_text().splitlines()
    assert lines[0].startswith("=== gpu_session: ") and "budget 40 s" in lines[0]
    assert any(line.startswith("--- main: not started (") and "needs 60)" in line for line in lines), lines
    assert any(line.startswith("--- flags: not started (needs ") for line in lines), lines
    assert "--- bogus: unknown stage (main, determinism, flags, gap)" in lines
    assert lines[-1].startswith("=== gpu_session: ") and lines[-1].endswith("done: ")
    for stage in ("main", "flags"):
        (state / f"{stage}.done").touch()
    env.update(GPU_SESSION_STAGES="main flags")
    again = subprocess.run(["bash", script], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "--- main: done in an earlier call" in again.stdout
    assert "--- flags: done in an earlier call" in again.stdout

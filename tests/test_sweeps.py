"""Sweeps: config parsing and point paths, point settings, the comparison table and plot, the
models' sweep parameters, and the workflow (dry-runs: shared preprocessing, adding / removing
a point; the tiny run's comparison)."""

import json

import pandas as pd
import pytest
import yaml

from conftest import REPO, snakemake
from dlrepro.errors import ConfigError
from dlrepro.report.sweeps import comparison_rows, plot_sweep, write_comparison
from dlrepro.sweeps import format_value, is_lecture_point, parse_sweep, parse_sweeps, point_settings

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())


def sweep(spec, name="s", seeds=(1, 2)):
    return parse_sweep(name, spec, list(seeds))


# ----------------------------------------------------------------------------- parsing


def test_grid_expands_to_readable_paths_in_order():
    s = sweep(
        {
            "experiment": "mnist",
            "model": "mlp",
            "parameters": {"optimizer": ["sgd", "adam"], "learning_rate": [None, 1e-3]},
        }
    )
    assert list(s.points) == [
        "optimizer~sgd/learning_rate~default",
        "optimizer~sgd/learning_rate~0.001",
        "optimizer~adam/learning_rate~default",
        "optimizer~adam/learning_rate~0.001",
    ]
    assert s.points["optimizer~adam/learning_rate~0.001"] == {"optimizer": "adam", "learning_rate": 0.001}
    assert s.seeds == [1, 2]


def test_explicit_points_and_list_values():
    s = sweep(
        {
            "experiment": "mnist",
            "model": "mlp",
            "points": [{"hidden": [256, 128]}, {"hidden": [64], "batch_size": 32}],
        }
    )
    assert list(s.points) == ["hidden~256x128", "hidden~64/batch_size~32"]
    more = sweep(
        {
            "experiment": "mnist",
            "model": "mlp",
            "points": [{"hidden": [256, 128]}, {"hidden": [64], "batch_size": 32}, {"optimizer": "adam"}],
        }
    )
    assert list(more.points)[:2] == list(s.points)  # a new point leaves the others' paths alone
    assert point_settings(more, "optimizer~adam", CONFIG)["hidden"] == [128, 128]
    assert point_settings(more, "hidden~64/batch_size~32", CONFIG)["optimizer"] == "sgd"
    assert format_value(1e-05) == "1e-05" and format_value(0.1) == "0.1" and format_value(None) == "default"


def test_seeds_default_to_the_experiments_then_the_global_ones():
    config = {
        "seeds": [7],
        "sentiment": {"seeds": [4, 5]},
        "sweeps": {
            "a": {"experiment": "sentiment", "parameters": {"variant": ["lstm"]}},
            "b": {"experiment": "indian_pines", "parameters": {"window": [7]}},
            "c": {"experiment": "indian_pines", "parameters": {"window": [7]}, "seeds": [9]},
        },
    }
    sweeps = parse_sweeps(config)
    assert [sweeps[n].seeds for n in "abc"] == [[4, 5], [7], [9]]
    assert parse_sweeps({"sweeps": None}) == {}


def test_command_line_strings_are_read_as_yaml():
    s = sweep(
        {
            "experiment": "mnist",
            "model": "mlp",
            "parameters": {"learning_rate": ["1e-3", "null"], "hidden": [["32", "16"]]},
            "seeds": ["3"],
        }
    )
    assert list(s.points) == ["learning_rate~0.001/hidden~32x16", "learning_rate~default/hidden~32x16"]
    assert s.seeds == [3]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"experiment": "mnist", "model": "mlp", "parameters": {"lr": [0.1]}},
            "'sweeps.s.parameters.lr': unknown mnist sweep parameter",
        ),
        (
            {"experiment": "mnist", "model": "mlp", "parameters": {"optimizer": ["nadam"]}},
            "'sweeps.s.parameters.optimizer.0': 'nadam' is not one of sgd, rmsprop, adam",
        ),
        (
            {"experiment": "indian_pines", "parameters": {"window": [9, 5]}},
            "'sweeps.s.parameters.window.1': 5 is not an odd integer >= 7",
        ),
        (
            {"experiment": "sentiment", "parameters": {"dropout": [1.5]}},
            "'sweeps.s.parameters.dropout.0': 1.5 is not a number",
        ),
        (
            {"experiment": "mnist", "parameters": {"optimizer": ["sgd"]}},
            "'sweeps.s.model': None is not one of",
        ),
        (
            {"experiment": "sentiment", "model": "mlp", "parameters": {"variant": ["lstm"]}},
            "'sweeps.s.model': only MNIST",
        ),
        ({"experiment": "mnist", "model": "mlp"}, "give either parameters (a grid) or points"),
        (
            {"experiment": "mnist", "model": "lenet", "points": [{"hidden": [10]}]},
            "hidden applies to the mlp model only",
        ),
        (
            {"experiment": "mnist", "model": "mlp", "points": [{"batch_size": 8}, {"batch_size": 8}]},
            "'sweeps.s.points.1': point batch_size~8 is listed twice",
        ),
        (
            {
                "experiment": "mnist",
                "model": "mlp",
                "parameters": {"batch_size": [8]},
                "settings": {"batch_size": 4},
            },
            "'sweeps.s.settings.batch_size': also swept",
        ),
        (
            {"experiment": "mnist", "model": "mlp", "parameters": {"batch_size": [8]}, "grid": 1},
            "unknown config key 'sweeps.s.grid'",
        ),
        (
            {"experiment": "mnist", "model": "mlp", "parameters": {"batch_size": [8]}, "seeds": [1, 1]},
            "'sweeps.s.seeds': each seed must be unique",
        ),
    ],
)
def test_bad_sweeps_name_the_key(spec, message):
    with pytest.raises(ConfigError) as err:
        sweep(spec)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


# ----------------------------------------------------------------------------- settings


def test_point_settings_layer_config_sweep_settings_and_point():
    s = sweep(
        {
            "experiment": "sentiment",
            "parameters": {"recurrent_dropout": [0.0]},
            "settings": {"dropout": 0.3, "epochs": 2},
        }
    )
    settings = point_settings(s, "recurrent_dropout~0.0", CONFIG)
    assert settings["dropout"] == settings["spatial_dropout"] == 0.3 and settings["recurrent_dropout"] == 0.0
    assert settings["epochs"] == 2 and settings["max_features"] == CONFIG["sentiment"]["max_features"]
    mlp = sweep({"experiment": "mnist", "model": "mlp", "parameters": {"optimizer": ["adam"]}})
    assert point_settings(mlp, "optimizer~adam", CONFIG) == {
        "optimizer": "adam",
        "learning_rate": None,
        "batch_size": 128,
        "hidden": [128, 128],
        "epochs": 20,
    }


def test_lecture_point_is_recognised_after_resolution():
    s = sweep(
        {
            "experiment": "mnist",
            "model": "mlp",
            "parameters": {"optimizer": ["sgd", "adam"], "learning_rate": [None, 0.01]},
        }
    )
    marks = {p: is_lecture_point(s, point_settings(s, p, CONFIG)) for p in s.points}
    # null = Keras' default (SGD 0.01): both SGD points are the lecture's
    assert marks == {
        "optimizer~sgd/learning_rate~default": True,
        "optimizer~sgd/learning_rate~0.01": True,
        "optimizer~adam/learning_rate~default": False,
        "optimizer~adam/learning_rate~0.01": False,
    }
    ip = sweep({"experiment": "indian_pines", "parameters": {"loss": ["mse", "categorical_crossentropy"]}})
    assert [is_lecture_point(ip, point_settings(ip, p, CONFIG)) for p in ip.points] == [True, False]


# ----------------------------------------------------------------------------- comparison


def runs_of(s, accuracies, label="real"):
    runs = []
    for path, values in zip(s.points, accuracies, strict=True):
        for seed, acc in zip(s.seeds, values, strict=True):
            runs.append(
                {
                    "point": path,
                    "seed": seed,
                    "accuracy": acc,
                    "epochs": 3,
                    "source_label": label,
                    "settings": point_settings(s, path, CONFIG),
                }
            )
    return runs


def test_comparison_rows_mean_std_best_and_lecture(tmp_path):
    s = sweep(
        {"experiment": "mnist", "model": "mlp", "parameters": {"optimizer": ["sgd", "rmsprop", "adam"]}}
    )
    rows = comparison_rows(s, runs_of(s, [[0.90, 0.92], [0.97, 0.99], [0.96, 0.96]]))
    assert [r["mean"] for r in rows] == pytest.approx([0.91, 0.98, 0.96])
    assert rows[0]["std"] == pytest.approx(0.0141421, rel=1e-4) and rows[2]["std"] == 0
    assert [r["best"] for r in rows] == [False, True, False]
    assert [r["lecture"] for r in rows] == [True, False, False]
    write_comparison(
        s, rows, tmp_path / "t.csv", tmp_path / "t.md", {"commit": "abc", "config_hash": "0" * 12}
    )
    df = pd.read_csv(tmp_path / "t.csv", comment="#")
    assert list(df["optimizer"]) == ["sgd", "rmsprop", "adam"]
    assert list(df["mark"].fillna("")) == ["lecture", "best", ""]
    assert df["test accuracy mean (%)"].tolist() == pytest.approx([91.0, 98.0, 96.0])
    md = (tmp_path / "t.md").read_text()
    assert "| rmsprop | 3 | 1, 2 | 98.00 ± 1.41 (n=2) | real | best |" in md
    assert "Provenance: commit abc" in md


def test_comparison_of_non_real_data_says_so(tmp_path):
    s = sweep({"experiment": "sentiment", "parameters": {"variant": ["lstm", "stacked"]}}, seeds=[1])
    rows = comparison_rows(s, runs_of(s, [[0.8], [0.7]], label="synthetic"))
    write_comparison(s, rows, tmp_path / "t.csv", tmp_path / "t.md")
    md = (tmp_path / "t.md").read_text()
    assert "80.00 (n=1)" in md and "no reproduction" in md and "| synthetic | best, lecture |" in md


@pytest.mark.parametrize(
    ("parameters", "kind"),
    [
        ({"learning_rate": [0.001, 0.01, 0.1]}, "line"),
        ({"optimizer": ["sgd", "adam"]}, "line"),
        ({"optimizer": ["sgd", "adam"], "batch_size": [32, 128]}, "heatmap"),
        ({"optimizer": ["sgd"], "batch_size": [32], "learning_rate": [0.1, 0.2]}, "bars"),
    ],
)
def test_plot_kinds(tmp_path, parameters, kind):
    s = sweep({"experiment": "mnist", "model": "mlp", "parameters": parameters})
    rows = comparison_rows(s, runs_of(s, [[0.5 + 0.1 * i, 0.52 + 0.1 * i] for i in range(len(s.points))]))
    out = tmp_path / "p.png"
    assert plot_sweep(s, rows, out) == kind
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5_000


# ----------------------------------------------------------------------------- models


def test_model_parameters_of_the_sweeps():
    from dlrepro import mnist, sentiment
    from dlrepro.hyperspectral import build_model as cnn3d

    lecture = sentiment.build_model(2002, 40)
    assert (
        lecture.name == "si650_lstm"
        and lecture.count_params() == 2002 * 128 + 4 * (64 * (128 + 64) + 64) + 65
    )
    assert [type(layer).__name__ for layer in lecture.layers] == [
        "Embedding",
        "SpatialDropout1D",
        "LSTM",
        "Dense",
    ]
    stacked = sentiment.build_model(2002, 40, variant="stacked")
    assert stacked.count_params() == lecture.count_params() + 4 * (64 * 128 + 64)
    bidirectional = sentiment.build_model(2002, 40, variant="bidirectional")
    assert bidirectional.count_params() == lecture.count_params() + 4 * (64 * (128 + 64) + 64) + 64
    cnn = sentiment.build_model(2002, 40, variant="cnn_lstm", recurrent_dropout=0.0)
    assert "Conv1D" in [type(layer).__name__ for layer in cnn.layers]
    assert cnn.layers[-2].recurrent_dropout == 0.0 and cnn.layers[-2].dropout == 0.2
    mlp = mnist.build_model("mlp", "rmsprop", None, hidden=[32])
    assert type(mlp.optimizer).__name__ == "RMSprop" and mlp.count_params() == 784 * 32 + 32 + 330
    assert mnist.build_model("mlp", "sgd").count_params() == 784 * 128 + 128 + 128 * 128 + 128 + 1290
    model = cnn3d(60, 4, window=7, loss="categorical_crossentropy", optimizer="adam")
    assert type(model.optimizer).__name__ == "Adam" and model.loss == "categorical_crossentropy"


# ----------------------------------------------------------------------------- workflow


def dry_run_jobs(proc) -> dict[str, int]:
    """rule -> count from the "Job stats" block of a dry run (none: nothing to do)."""
    if "Job stats:" not in proc.stdout:
        return {}
    block = proc.stdout.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    return {
        p[0]: int(p[1])
        for p in (line.split() for line in block.splitlines())
        if len(p) == 2 and p[1].isdigit() and p[0] != "total"
    }


def tiny_with(tmp_path, name: str, text: str) -> list[str]:
    """The tiny profile plus overrides (a command-line --configfile replaces the profile's one)."""
    extra = tmp_path / f"{name}.yaml"
    extra.write_text(text)
    return ["--profile", "profiles/tiny", "--configfile", "profiles/tiny/workflow-config.yaml", str(extra)]


SHARED = """
sweeps:
  vocab:
    experiment: sentiment
    parameters: {max_features: [2000, 500], sequence_length: [40, 20]}
    seeds: [1]
  windows:
    experiment: indian_pines
    parameters: {window: [9, 7], train_fraction: [0.1, 0.2]}
    seeds: [1]
"""


@pytest.mark.workflow
def test_preprocessing_is_shared_by_the_points(workflow, tmp_path):
    proc = snakemake(workflow, "-n", *tiny_with(tmp_path, "shared", SHARED))
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = dry_run_jobs(proc)
    # SI650: one vocabulary per size (2000 is the main pipeline's), one encoding per size x
    # length (2000 x 40 is the main pipeline's), tokenised once
    assert (
        jobs["tokenise_sentiment"] == 1
        and jobs["vocabulary_sentiment"] == 1
        and jobs["encode_sentiment"] == 1
    )
    assert jobs["vocabulary_sentiment_sweep"] == 1 and jobs["encode_sentiment_sweep"] == 3
    assert jobs["split_sentiment_sweep"] == 3 and jobs["train_sweep_sentiment"] == 4
    # Indian Pines: the cube is normalised once; a new window recomputes only its patches
    assert jobs["normalise_indian_pines"] == 1 and jobs["index_indian_pines"] == 1
    assert jobs["index_indian_pines_sweep"] == 1 and jobs["split_indian_pines_sweep"] == 3
    assert jobs["train_sweep_indian_pines"] == 4 and jobs["table_sweep"] == 3
    assert "results/sweeps/windows/window~7/train_fraction~0.2/seed~1/metrics.json" in proc.stdout
    assert "results/sweeps/_shared/sentiment/features~500/length~20/sequences.nc" in proc.stdout


@pytest.mark.workflow
def test_a_bad_sweep_stops_before_any_job_naming_its_key(workflow, tmp_path):
    bad = (
        "sweeps:\n  bad:\n    experiment: mnist\n    model: mlp\n    parameters: {optimizer: [sgd, nadam]}\n"
    )
    proc = snakemake(workflow, "-n", *tiny_with(tmp_path, "bad", bad))
    assert proc.returncode != 0
    assert (
        "Invalid configuration: config key 'sweeps.bad.parameters.optimizer.1': 'nadam' is not one of sgd, rmsprop, adam"
        in proc.stdout + proc.stderr
    )


TINY_SWEEP = "sweeps:\n  tiny_optimizer:\n    parameters:\n      optimizer: [{}]\n"


@pytest.mark.workflow
def test_tiny_run_compares_the_sweep_points(tiny_run):
    df = pd.read_csv(tiny_run / "results/tables/sweep_tiny_optimizer.csv", comment="#")
    assert list(df["optimizer"]) == ["sgd", "adam"]
    assert (df["n"] == 2).all() and (df["data"] == "synthetic").all() and (df["epochs"] == 1).all()
    marks = list(df["mark"].fillna(""))
    assert marks.count("lecture") + marks.count("best, lecture") == 1 and marks[0] in (
        "lecture",
        "best, lecture",
    )
    assert sum("best" in m for m in marks) == 1
    for point, mean_pct in zip(
        ("optimizer~sgd", "optimizer~adam"), df["test accuracy mean (%)"], strict=True
    ):
        runs = [
            json.loads(
                (tiny_run / f"results/sweeps/tiny_optimizer/{point}/seed~{s}/metrics.json").read_text()
            )
            for s in (1, 2)
        ]
        assert [r["settings"]["optimizer"] for r in runs] == [point.split("~")[1]] * 2
        mean = 100 * sum(r["accuracy"] for r in runs) / 2
        assert mean_pct == pytest.approx(mean, abs=1e-3)
    md = (tiny_run / "results/tables/sweep_tiny_optimizer.md").read_text()
    assert "no reproduction" in md and "Provenance: commit" in md
    png = tiny_run / "results/tables/sweep_tiny_optimizer.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000


@pytest.mark.workflow
def test_adding_a_point_runs_only_it_removing_one_only_the_comparison(tiny_run, tmp_path):
    added = snakemake(tiny_run, "-n", *tiny_with(tmp_path, "add", TINY_SWEEP.format("sgd, adam, rmsprop")))
    assert added.returncode == 0, added.stderr[-3000:]
    assert dry_run_jobs(added) == {"train_sweep_mnist": 2, "table_sweep": 1, "all": 1}
    assert added.stdout.count("results/sweeps/tiny_optimizer/optimizer~rmsprop/seed~") >= 2
    removed = snakemake(tiny_run, "-n", *tiny_with(tmp_path, "remove", TINY_SWEEP.format("sgd")))
    assert removed.returncode == 0, removed.stderr[-3000:]
    assert dry_run_jobs(removed) == {"table_sweep": 1, "all": 1}
    assert "Set of input files has changed" in removed.stdout


def test_the_example_sweeps_in_config_yaml_are_valid():
    """The commented examples under `sweeps: {}`, uncommented, pass the schema and the sweep checks."""
    from dlrepro.config import check_config

    lines = (REPO / "config.yaml").read_text().splitlines()
    start = lines.index("sweeps: {}") + 1
    block = []
    for line in lines[start:]:
        if not line.startswith("#  "):
            break
        block.append(line[1:])
    config = dict(CONFIG, sweeps=yaml.safe_load("\n".join(block)))
    assert set(config["sweeps"]) == {"mnist_optimizer", "si650_variants", "si650_size", "indian_pines_window"}
    check_config(config, REPO / "schemas" / "config.schema.yaml")
    sweeps = parse_sweeps(config)
    assert len(sweeps["si650_size"].points) == 6 and sweeps["si650_variants"].seeds == CONFIG["seeds"]
    assert list(sweeps["indian_pines_window"].points)[1] == "window~7/loss~mse"
    assert CONFIG["sweeps"] == {}

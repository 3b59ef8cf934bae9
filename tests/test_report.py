"""Reporting: the reproduction table builder, plots, the rule-graph renderer (unit tests), and
the tiny profile's reproduction table, plots and HTML report (workflow tests)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pandas as pd
import pytest

from conftest import REPO, snakemake
from dlrepro import lecture
from dlrepro import names as N
from dlrepro.report import html as H
from dlrepro.report import plots as P
from dlrepro.report import reproduction as R
from dlrepro.report import rulegraph as G
from dlrepro.tables import mean_std

TOLERANCES = {
    "mnist_perceptron": 1.0,
    "mnist_mlp": 1.0,
    "mnist_lenet": 0.3,
    "sentiment": 1.0,
    "indian_pines": 3.0,
}
ALL_ON = {"mnist": True, "sentiment": True, "indian_pines": True}
LECTURE_ROWS = 6  # perceptron 20, MLP 20, MLP 200, LeNet 20, SI650 LSTM, Indian Pines OA


# --------------------------------------------------------------------------- fabricated runs


def mnist_run(model, epochs, seed, accuracy, label="real", trained=None, n=10_000):
    return {
        "model": model,
        "epochs": trained or epochs,
        "epochs_requested": epochs,
        "seed": seed,
        "source_label": label,
        "accuracy": accuracy,
        "parameters": lecture.MNIST_PARAMS[model],
        "n": n,
        "labels": list(range(10)),
        "confusion_matrix": [[10 if i == j else 0 for j in range(10)] for i in range(10)],
    }


def sentiment_run(split, seed, acc, unseen=0.8, label="real", epochs=10):
    cm = [[40, 2], [1, 57]]
    return {
        "split": split,
        "seed": seed,
        "epochs": epochs,
        "epochs_requested": 10,
        "source_label": label,
        "overlap": {"n_test": 100, "n_train": 400, "test_rows_seen_in_train": 70, "test_rows_unseen": 30},
        "subsets": {
            "all": {"n": 100, "accuracy": acc, "confusion_matrix": cm},
            "unseen": {"n": 30 if split == "lecture" else 100, "accuracy": unseen},
        },
    }


def baseline(split, acc=0.56, label="real"):
    return {
        "split": split,
        "majority_class": 1,
        "source_label": label,
        "subsets": {"all": {"n": 100, "accuracy": acc}},
    }


def ip_run(split, seed, oa, label="real", bands=220, epochs=600):
    return {
        "split": split,
        "seed": seed,
        "epochs": epochs,
        "epochs_requested": 600,
        "source_label": label,
        "accuracy": oa,
        "bands": bands,
        "ground_truth": "purdue",
        "n_train": 1036,
        "n_test": 9330,
        "parameters": 578_544,
    }


def real_runs():
    return {
        "mnist": [
            *(mnist_run("perceptron", 20, s, a) for s, a in ((1, 0.915), (2, 0.913), (3, 0.914))),
            *(mnist_run("mlp", 20, s, a) for s, a in ((1, 0.965), (2, 0.963))),  # +1.26 pts: no
            *(mnist_run("mlp", 200, s, a) for s, a in ((1, 0.978), (2, 0.977))),
            *(mnist_run("lenet", 20, s, a) for s, a in ((1, 0.990), (2, 0.989))),  # 0.39 pts below: no
        ],
        "sentiment": [
            sentiment_run("lecture", 1, 0.985),
            sentiment_run("lecture", 2, 0.975),
            sentiment_run("grouped", 1, 0.80),
            sentiment_run("grouped", 2, 0.82),
        ],
        "sentiment_baselines": [baseline("lecture"), baseline("grouped", 0.55)],
        "indian_pines": [ip_run("random", 1, 0.75), ip_run("random", 2, 0.76), ip_run("disjoint", 1, 0.55)],
    }


def row(df, experiment, model, setting_part):
    sel = df[(df.experiment == experiment) & (df.model == model) & df.setting.str.contains(setting_part)]
    assert len(sel) == 1, (experiment, model, setting_part, df[["experiment", "model", "setting"]])
    return sel.iloc[0]


# --------------------------------------------------------------------------- unit: table


def test_every_lecture_figure_has_a_row_with_its_lecture_value():
    df, _ = R.reproduction_table(real_runs(), TOLERANCES, ALL_ON)
    lec = df[df.section == N.LECTURE]
    assert len(lec) == LECTURE_ROWS
    expected = sorted(
        [round(v * 100, 2) for v in lecture.MNIST.values()]
        + [
            round(lecture.SI650["accuracy"] * 100, 2),
            round(lecture.INDIAN_PINES["overall_accuracy"] * 100, 2),
        ]
    )
    assert sorted(lec.lecture_pct) == expected
    assert list(df.columns) == R.CSV_COLUMNS


def test_verdicts_means_and_differences_come_from_the_runs():
    runs = real_runs()
    df, notes = R.reproduction_table(runs, TOLERANCES, ALL_ON)
    perceptron = row(df, "MNIST", "perceptron", "20 epochs")
    mean, std, n = mean_std([0.915, 0.913, 0.914])
    assert perceptron.mean_pct == pytest.approx(mean * 100, abs=1e-3)
    assert perceptron.std_pct == pytest.approx(std * 100, abs=1e-3)
    assert perceptron.n_seeds == 3 and perceptron.seeds == "1,2,3"
    assert perceptron.difference_pts == pytest.approx((mean - 0.9101) * 100, abs=0.01)
    assert perceptron.within_tolerance == "yes"
    assert row(df, "MNIST", "MLP", "^20 epochs").within_tolerance == "no"
    assert row(df, "MNIST", "MLP", "200 epochs").within_tolerance == "yes"
    lenet = row(df, "MNIST", "LeNet-style CNN", "20 epochs")
    assert lenet.within_tolerance == "no" and lenet.tolerance_pts == 0.3
    assert row(df, "SI650 sentiment", "LSTM", "lecture split \\(").within_tolerance == "yes"
    assert row(df, "Indian Pines", "3-D CNN", "random").within_tolerance == "yes"
    # beyond the lecture: no verdict, but numbers
    grouped = row(df, "SI650 sentiment", "LSTM", "de-duplicated")
    assert grouped.section == N.BEYOND and grouped.mean_pct == pytest.approx(81.0)
    assert grouped.within_tolerance.startswith("n/a")
    base = row(df, "SI650 sentiment", "majority-class baseline", "lecture split")
    assert base.mean_pct == pytest.approx(56.0) and "deterministic" in base.ours_pct
    assert row(df, "Indian Pines", "3-D CNN", "disjoint").mean_pct == pytest.approx(55.0)
    text = "\n".join(notes)
    assert "4 reproduced within tolerance from real data, 2 outside tolerance" in text
    assert "70 of 100 test rows" in text  # the SI650 overlap, from the metrics
    assert "-20.50 pts" in text  # Indian Pines disjoint vs random, from the metrics


def test_synthetic_standin_and_capped_rows_never_say_yes():
    runs = real_runs()
    for r in runs["mnist"]:
        if r["model"] == "perceptron":
            r["source_label"] = "synthetic"
        if r["model"] == "mlp" and r["epochs_requested"] == 200:
            r["epochs"] = 3
    for r in runs["sentiment"]:
        r["source_label"] = "stand-in"
    df, notes = R.reproduction_table(runs, TOLERANCES, ALL_ON)
    assert row(df, "MNIST", "perceptron", "20").within_tolerance == "n/a (synthetic data)"
    assert row(df, "MNIST", "perceptron", "20").data_source == "synthetic"
    assert row(df, "MNIST", "MLP", "200").within_tolerance == "n/a (3 of 200 epochs, lecture 200)"
    assert row(df, "SI650 sentiment", "LSTM", "lecture split \\(").within_tolerance == "n/a (stand-in data)"
    text = "\n".join(notes)
    assert "NOT a reproduction" in text and "3 of 200" in text
    # one synthetic seed among real ones makes the whole row synthetic
    runs = real_runs()
    runs["indian_pines"][0]["source_label"] = "synthetic"
    df, _ = R.reproduction_table(runs, TOLERANCES, ALL_ON)
    assert row(df, "Indian Pines", "3-D CNN", "random").within_tolerance == "n/a (synthetic data)"


def test_tolerance_decides_the_verdict():
    loose = {**TOLERANCES, "mnist_lenet": 0.5}
    df, _ = R.reproduction_table(real_runs(), loose, ALL_ON)
    assert row(df, "MNIST", "LeNet-style CNN", "20").within_tolerance == "yes"


def test_disabled_and_missing_experiments_say_not_run():
    runs = real_runs()
    runs["sentiment"], runs["sentiment_baselines"], runs["indian_pines"] = [], [], []
    runs["mnist"] = [r for r in runs["mnist"] if r["epochs_requested"] != 200]
    df, notes = R.reproduction_table(runs, TOLERANCES, {**ALL_ON, "sentiment": False, "indian_pines": False})
    assert len(df[df.section == N.LECTURE]) == LECTURE_ROWS
    si = row(df, "SI650 sentiment", "LSTM", "lecture split \\(")
    assert si.within_tolerance == "not run" and "experiments.sentiment: false" in si.ours_pct
    assert row(df, "MNIST", "MLP", "200").ours_pct == "not run (not in the configuration)"
    assert row(df, "Indian Pines", "3-D CNN", "disjoint").within_tolerance == "not run"
    assert any("experiments.indian_pines: false" in n for n in notes)
    # nothing at all: still a table
    df, _ = R.reproduction_table({}, TOLERANCES, {})
    assert (df.within_tolerance == "not run").all() and len(df) >= LECTURE_ROWS


def test_extra_configured_runs_appear_beyond_the_lecture():
    runs = real_runs()
    runs["mnist"] += [mnist_run("lenet", 5, 1, 0.98)]
    df, _ = R.reproduction_table(runs, TOLERANCES, ALL_ON)
    extra = row(df, "MNIST", "LeNet-style CNN", "5 epochs")
    assert extra.section == N.BEYOND and pd.isna(extra.lecture_pct)


def test_written_table_has_provenance_markdown_and_html(tmp_path):
    df, notes = R.reproduction_table(real_runs(), TOLERANCES, ALL_ON)
    prov = {"commit": "abc", "config_hash": "123456789abc", "packages": {"numpy": "2"}}
    csv, md, html = tmp_path / "r.csv", tmp_path / "r.md", tmp_path / "r.html"
    R.write_reproduction(df, notes, prov, csv, md, html)
    back = pd.read_csv(csv, comment="#")
    assert list(back.columns) == R.CSV_COLUMNS and len(back) == len(df)
    assert "# config_hash: 123456789abc" in csv.read_text()
    text = md.read_text()
    assert "| within tolerance |" in text and "Notes:" in text and "Provenance: commit abc" in text
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<table>" in page and 'class="yes"' in page
    assert "Provenance: commit abc" in page and "<li>" in page


def test_markdown_to_html_escapes_and_keeps_pipes():
    md = "# T <x>\n\n| a | b |\n|---|---|\n| 1 \\| 2 | <b> |\n\nNotes:\n\n- one `code`\n- two\n\nProvenance: c.\n"
    page = H.markdown_to_html(md)
    assert "<title>T &lt;x&gt;</title>" in page
    assert "<td>1 | 2</td>" in page and "&lt;b&gt;" in page
    assert page.count("<li>") == 2 and "<code>code</code>" in page


# --------------------------------------------------------------------------- unit: plots


def test_plots_are_written(tmp_path):
    histories = [
        pd.DataFrame(
            {
                "epoch": [1, 2, 3],
                "loss": [1.0, 0.5, 0.3],
                "accuracy": [0.5, 0.7, 0.8],
                "val_loss": [1, 0.6, 0.4],
            }
        ),
        pd.DataFrame({"epoch": [1, 2], "loss": [1.1, 0.6], "accuracy": [0.4, 0.6]}),
    ]
    epochs, mean, lo, hi, n = P.history_stats(histories, "loss")
    assert list(epochs) == [1, 2] and n == 2 and lo[0] == 1.0 and hi[0] == 1.1
    assert P.plot_curves(histories, tmp_path / "c.png", "t") == ["loss", "accuracy"]
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    total, norm = P.mean_confusion([[[3, 1], [0, 4]], [[1, 1], [0, 0]]])
    assert total.tolist() == [[4, 2], [0, 4]] and norm[0].tolist() == pytest.approx([2 / 3, 1 / 3])
    P.plot_confusion([[[3, 1], [0, 4]]], ["0", "1"], tmp_path / "m.png", "t")
    assert (tmp_path / "m.png").stat().st_size > 1000
    metrics = [ip_run("random", 1, 0.8) | {"confusion_matrix": [[1, 0], [0, 1]], "labels": [1, 2]}]
    metrics[0]["class_names"] = ["Alfalfa", "Corn"]
    _, names, acc = P.confusion_of("indian_pines", metrics)
    assert names == ["1 Alfalfa", "2 Corn"] and acc.startswith("80.00")


# --------------------------------------------------------------------------- unit: rule graph

DOT = """digraph snakemake_dag {
    graph[bgcolor=white, margin=0];
    node[shape=box, style=rounded, fontname=sans,                 fontsize=10, penwidth=2];
    edge[penwidth=2, color=grey];
\t0[label = "all", color = "0.00 0.6 0.85", style="rounded"];
\t1[label = "table_mnist", color = "0.49 0.6 0.85", style="rounded"];
\t2[label = "train_mnist", color = "0.59 0.6 0.85", style="rounded"];
\t3[label = "fetch_mnist", color = "0.21 0.6 0.85", style="rounded"];
\t4[label = "report_reproduction", color = "0.1 0.6 0.85", style="rounded"];
\t1 -> 0
\t2 -> 1
\t3 -> 2
\t2 -> 4
\t4 -> 0
}
"""


def test_parse_dot_and_layered_layout():
    nodes, edges = G.parse_dot(DOT)
    assert {n["label"] for n in nodes.values()} == {
        "all",
        "table_mnist",
        "train_mnist",
        "fetch_mnist",
        "report_reproduction",
    }
    assert ("3", "2") in edges and len(edges) == 5
    pos = G.layered_layout(nodes, edges)
    layer = {nodes[n]["label"]: k for n, (k, _) in pos.items()}
    assert layer == {"fetch_mnist": 0, "train_mnist": 1, "table_mnist": 2, "report_reproduction": 2, "all": 3}
    assert len({p for k, p in pos.values() if k == 2}) == 2  # no overlap within a layer


def test_matplotlib_renderer_writes_svg_without_graphviz(tmp_path, monkeypatch):
    monkeypatch.setattr(G.shutil, "which", lambda name: None)  # a machine without dot
    used = G.render_rulegraph(DOT, tmp_path / "g.svg", "auto")
    assert used["renderer"] == "matplotlib" and "not on PATH" in used["reason"]
    svg = (tmp_path / "g.svg").read_text()
    assert "<svg" in svg and "report_reproduction" in svg and "rendered with matplotlib" in svg
    with pytest.raises(G.ConfigError, match="not on PATH"):
        G.render_rulegraph(DOT, tmp_path / "h.svg", "dot")


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz dot not installed")
def test_dot_renderer_when_available(tmp_path):
    used = G.render_rulegraph(DOT, tmp_path / "g.svg", "auto")
    assert used["renderer"] == "dot" and "<svg" in (tmp_path / "g.svg").read_text()


# --------------------------------------------------------------------------- workflow (tiny profile)

PLOT_SETTINGS = {
    "mnist": ["perceptron_e20", "mlp_e20", "lenet_e20"],  # the tiny profile asks MLP for e20 only
    "sentiment": ["lecture", "grouped"],
    "indian_pines": ["random", "disjoint"],
}


def read_table(path):
    return pd.read_csv(path, comment="#", keep_default_na=False, na_values=[""])


def dry_run_jobs(proc) -> dict[str, int]:
    """rule -> count from the "Job stats" block of a dry run."""
    block = proc.stdout.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    jobs = {}
    for line in block.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            jobs[parts[0]] = int(parts[1])
    return jobs


@pytest.mark.workflow
def test_tiny_reproduction_table_has_every_row_marked_synthetic(tiny_run):
    df = read_table(tiny_run / "results/tables/reproduction.csv")
    assert list(df.columns) == R.CSV_COLUMNS
    lec = df[df.section == N.LECTURE]
    assert len(lec) == LECTURE_ROWS
    assert sorted(lec.lecture_pct) == sorted(
        [round(v * 100, 2) for v in lecture.MNIST.values()]
        + [98.0, round(lecture.INDIAN_PINES["overall_accuracy"] * 100, 2)]
    )
    beyond = df[df.section == N.BEYOND]
    for experiment, model, setting in [
        ("SI650 sentiment", "LSTM", "de-duplicated"),
        ("SI650 sentiment", "majority-class baseline", "lecture split"),
        ("Indian Pines", "3-D CNN", "disjoint"),
    ]:
        assert (
            len(
                beyond[
                    (beyond.experiment == experiment)
                    & (beyond.model == model)
                    & beyond.setting.str.contains(setting)
                ]
            )
            == 1
        )
    # MLP 200 epochs is not in the tiny profile's configuration: its row says so, and nothing else
    mlp200 = lec[(lec.model == N.MNIST_MODELS["mlp"]) & (lec.setting == "200 epochs")]
    assert mlp200.ours_pct.tolist() == ["not run (not in the configuration)"]
    assert mlp200.within_tolerance.tolist() == [N.NOT_RUN] and mlp200.n_seeds.tolist() == [0]
    assert mlp200.mean_pct.isna().all() and mlp200.data_source.isna().all()
    df = df.drop(mlp200.index)
    lec = lec.drop(mlp200.index)
    # every other row comes from the tiny profile's synthetic data and says so; none claims a reproduction
    assert (df.data_source == "synthetic").all(), df[["model", "data_source"]]
    assert not (df.within_tolerance == "yes").any()
    assert lec.within_tolerance.eq("n/a (synthetic data)").all()
    runs = df[~df.model.str.startswith("majority")]
    assert (runs.n_seeds == 2).all() and runs.epochs.str.contains("3 of").all()
    md = (tiny_run / "results/tables/reproduction.md").read_text()
    assert "NOT a reproduction" in md and "0 reproduced within tolerance" in md
    assert "| n/a (synthetic data) |" in md and "Provenance: commit" in md
    html = (tiny_run / "results/tables/reproduction.html").read_text()
    assert "<table>" in html and "NOT a reproduction" in html


@pytest.mark.workflow
def test_reproduction_values_come_from_the_runs(tiny_run):
    df = read_table(tiny_run / "results/tables/reproduction.csv")
    for model, epochs in [("lenet", 20), ("mlp", 20)]:
        accs = [
            json.loads((tiny_run / f"results/mnist/{model}/e{epochs}/seed{s}/metrics.json").read_text())[
                "accuracy"
            ]
            for s in (1, 2)
        ]
        mean, std, _ = mean_std(accs)
        r = df[
            (df.experiment == "MNIST")
            & (df.setting == f"{epochs} epochs")
            & (df.model == N.MNIST_MODELS[model])
        ]
        assert r.mean_pct.iloc[0] == pytest.approx(mean * 100, abs=1e-3)
        assert r.std_pct.iloc[0] == pytest.approx(std * 100, abs=1e-3)
        lecture_value = lecture.MNIST[(model, epochs)]
        assert r.difference_pts.iloc[0] == pytest.approx((mean - lecture_value) * 100, abs=0.01)
    oa = [
        json.loads((tiny_run / f"results/indian_pines/disjoint/seed{s}/metrics.json").read_text())["accuracy"]
        for s in (1, 2)
    ]
    r = df[(df.experiment == "Indian Pines") & df.setting.str.contains("disjoint")]
    assert r.mean_pct.iloc[0] == pytest.approx(mean_std(oa)[0] * 100, abs=1e-3)


@pytest.mark.workflow
def test_reproduction_table_is_regenerated_not_copied(tiny_run):
    # no table or plot is part of the repository: the table only exists because a job wrote it
    tracked = subprocess.run(
        ["git", "ls-files", "results/tables", "results/plots"], cwd=REPO, capture_output=True, text=True
    ).stdout
    assert tracked.strip() == ""
    tables = tiny_run / "results/tables"
    before = (tables / "reproduction.csv").read_text()
    for suffix in ("csv", "md", "html"):
        (tables / f"reproduction.{suffix}").unlink()
    snakemake(tiny_run, "--profile", "profiles/tiny", "results/tables/reproduction.html", check=True)
    assert (tables / "reproduction.csv").read_text() == before
    assert (
        "runs read: {'mnist': 6, 'sentiment': 4, 'sentiment_baselines': 2, 'indian_pines': 4}"
        in (tiny_run / "logs/report/reproduction.log").read_text()
    )


@pytest.mark.workflow
def test_every_table_records_provenance(tiny_run):
    tables = sorted((tiny_run / "results/tables").glob("*.csv"))
    assert {t.stem for t in tables} == {
        "mnist",
        "sentiment",
        "indian_pines",
        "reproduction",
        "sweep_tiny_optimizer",
    }
    for table in tables:
        text = table.read_text()
        assert re.search(r"^# commit: \S+$", text, re.M), table
        assert re.search(r"^# config_hash: [0-9a-f]{12}$", text, re.M), table
        packages = json.loads(re.search(r"^# packages: (.*)$", text, re.M).group(1))
        assert {"numpy", "snakemake"} <= set(packages), table
        assert "Provenance: commit" in table.with_suffix(".md").read_text()


@pytest.mark.workflow
def test_tiny_profile_produces_every_plot(tiny_run):
    plots = tiny_run / "results/plots"
    for experiment, settings in PLOT_SETTINGS.items():
        for setting in settings:
            for kind in ("curves", "confusion"):
                png = plots / experiment / f"{setting}_{kind}.png"
                assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
                assert png.stat().st_size > 5_000, png
    svg = (plots / "workflow/rulegraph.svg").read_text()
    used = json.loads((plots / "workflow/rulegraph.json").read_text())
    assert used["renderer"] == ("dot" if shutil.which("dot") else "matplotlib")
    assert "<svg" in svg and "report_reproduction" in svg and "train_mnist" in svg
    assert "digraph" in (plots / "workflow/rulegraph.dot").read_text()
    for split in ("random", "disjoint"):  # the Indian Pines maps (their rules) are there for the report
        assert (tiny_run / f"results/indian_pines/{split}/seed1/maps.png").is_file()


@pytest.mark.workflow
def test_html_report_has_every_table_and_plot(tiny_run, tmp_path):
    out = tmp_path / "report.html"
    snakemake(tiny_run, "--profile", "profiles/tiny", "--report", str(out), check=True)
    page = out.read_text()
    assert len(page) > 200_000
    names = ["reproduction.html", "reproduction.csv", "rulegraph.svg", "mnist.html", "sentiment.html"]
    names += ["indian_pines.html", "maps.png", "sweep_tiny_optimizer.csv", "tiny_optimizer.png"]
    names += [
        f"{s}_{k}.png"
        for settings in PLOT_SETTINGS.values()
        for s in settings
        for k in ("curves", "confusion")
    ]
    missing = [n for n in names if n not in page]
    assert not missing, missing
    for category in ("Reproduction", "MNIST", "SI650 sentiment", "Indian Pines", "Rule graph", "Sweeps"):
        assert category in page, category
    # captions and the front page are rendered into the report
    assert "The reproduction table" in page and "Start here" in page


def tiny_with(tmp_path, name: str, text: str) -> list[str]:
    """Arguments for the tiny profile plus overrides from a YAML file (``--config`` would pass
    nested values as strings; a command-line ``--configfile`` replaces the profile's, so both are given)."""
    extra = tmp_path / f"{name}.yaml"
    extra.write_text(text)
    return ["--profile", "profiles/tiny", "--configfile", "profiles/tiny/workflow-config.yaml", str(extra)]


@pytest.mark.workflow
def test_changing_a_tolerance_reruns_only_the_reporting_jobs(tiny_run, tmp_path):
    args = tiny_with(tmp_path, "tolerance", "reporting:\n  tolerances:\n    mnist_lenet: 5.0\n")
    proc = snakemake(tiny_run, "-n", *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = dry_run_jobs(proc)
    assert set(jobs) == {"report_reproduction", "all"}, jobs
    assert "Params have changed" in proc.stdout
    # the experiments' tables do not depend on the tolerances; an upstream change does rerun them
    proc = snakemake(
        tiny_run, "-n", *tiny_with(tmp_path, "upstream", "mnist:\n  validation_fraction: 0.25\n")
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {"split_mnist", "train_mnist", "table_mnist", "report_reproduction"} <= set(dry_run_jobs(proc))


@pytest.mark.workflow
def test_dry_run_from_scratch_lists_every_job_with_a_reason(tiny_run):
    proc = snakemake(tiny_run, "-n", "--forceall", "--profile", "profiles/tiny")
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = dry_run_jobs(proc)
    assert {"fetch_mnist", "train_mnist", "report_reproduction", "report_plots", "report_rulegraph"} <= set(
        jobs
    )
    assert jobs["report_plots"] == 7 and jobs["train_mnist"] == 6  # MLP e20 only in the tiny profile
    assert proc.stdout.count("reason: Forced execution") >= sum(jobs.values()) - 1


@pytest.mark.workflow
def test_all_experiments_disabled_still_give_a_table_and_report(workflow, tmp_path):
    off = "experiments: {mnist: false, sentiment: false, indian_pines: false}\n"
    args = tiny_with(tmp_path, "off", off + "reporting: {rulegraph_renderer: matplotlib}\n")
    snakemake(workflow, *args, check=True)
    df = read_table(workflow / "results/tables/reproduction.csv")
    assert len(df[df.section == N.LECTURE]) == LECTURE_ROWS
    assert (df.within_tolerance == "not run").all()
    assert df.ours_pct.str.contains("experiments.mnist: false").sum() == 4
    assert not (workflow / "resources").exists()  # no experiment job ran
    used = json.loads((workflow / "results/plots/workflow/rulegraph.json").read_text())
    assert used["renderer"] == "matplotlib"
    svg = (workflow / "results/plots/workflow/rulegraph.svg").read_text()
    assert "report_reproduction" in svg and "train_mnist" not in svg
    snakemake(workflow, *args, "--report", "results/report.html", check=True)
    assert "reproduction.html" in (workflow / "results/report.html").read_text()


def test_rulegraph_dot_runs_beside_a_locked_workflow(workflow):
    """The rule-graph job runs `snakemake --rulegraph --nolock` while the outer Snakemake holds the lock."""
    lock = workflow / ".snakemake" / "locks"
    lock.mkdir(parents=True)
    (lock / "0.output.lock").write_text(str(workflow / "results/x") + "\n")
    (lock / "0.input.lock").write_text("")
    import yaml

    config = yaml.safe_load((workflow / "config.yaml").read_text())
    dot = G.rulegraph_dot(workflow / "Snakefile", config, cwd=workflow)
    nodes, _ = G.parse_dot(dot)
    assert {"all", "train_mnist", "report_reproduction"} <= {n["label"] for n in nodes.values()}


def _renumbered(dot: str, perm: dict[str, str]) -> str:
    """The same graph with other node numbers and lines in another order (as Snakemake
    writes it on another run)."""
    lines = dot.strip().splitlines()
    head = [ln for ln in lines if not re.match(r"^\t\d", ln) and ln != "}"]
    nodes = [ln for ln in lines if re.match(r"^\t\d+\[", ln)]
    edges = [ln for ln in lines if re.match(r"^\t\d+ -> ", ln)]

    def sub(line):
        return re.sub(r"\b(\d+)\b(?=\[| ->|$)", lambda m: perm[m.group(1)], line)

    return "\n".join(head + [sub(ln) for ln in reversed(nodes)] + [sub(ln) for ln in reversed(edges)] + ["}"])


def test_canonical_dot_is_the_same_for_any_node_numbering(tmp_path):
    other = _renumbered(DOT, {"0": "4", "1": "3", "2": "0", "3": "1", "4": "2"})
    assert other != DOT
    assert G.canonical_dot(other) == G.canonical_dot(DOT)
    nodes, edges = G.parse_dot(G.canonical_dot(DOT))
    labels = [nodes[str(i)]["label"] for i in range(len(nodes))]
    assert labels == sorted(labels)  # numbered by rule name
    assert sorted((nodes[a]["label"], nodes[b]["label"]) for a, b in edges) == sorted(
        (G.parse_dot(DOT)[0][a]["label"], G.parse_dot(DOT)[0][b]["label"]) for a, b in G.parse_dot(DOT)[1]
    )
    # the matplotlib SVG of the same graph is byte-identical (no date, fixed element ids)
    G.render_rulegraph(G.canonical_dot(other), tmp_path / "a.svg", "matplotlib")
    G.render_rulegraph(G.canonical_dot(DOT), tmp_path / "b.svg", "matplotlib")
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()


@pytest.mark.workflow
def test_rulegraph_is_byte_identical_between_runs(workflow):
    """Two `snakemake --rulegraph` runs (Snakemake numbers the nodes differently each time)."""
    import yaml

    config = yaml.safe_load((workflow / "config.yaml").read_text())
    first = G.rulegraph_dot(workflow / "Snakefile", config, cwd=workflow)
    second = G.rulegraph_dot(workflow / "Snakefile", config, cwd=workflow)
    assert first == second and first == G.canonical_dot(first)


def test_rulegraph_is_repeated_only_when_a_concurrent_job_replaced_a_file(monkeypatch, tmp_path):
    """A nested --rulegraph that races a running job's output replacement is repeated; any other
    failure is not (and both commands' failures end in one RulegraphError)."""
    race = "Unable to obtain modification time of file x although it existed before. It could be that a concurrent process has deleted it while Snakemake was running."
    replies = [(1, "", race), (0, DOT, "")]
    calls = []

    def fake_run(command, **kwargs):
        calls.append(command)
        code, out, err = replies.pop(0) if replies else (1, "", "MissingInputException: no")
        return subprocess.CompletedProcess(command, code, out, err)

    monkeypatch.setattr(G.subprocess, "run", fake_run)
    monkeypatch.setattr(G.time, "sleep", lambda s: None)
    monkeypatch.setattr(G.shutil, "which", lambda name: "/usr/bin/snakemake")
    assert G.rulegraph_dot(tmp_path / "Snakefile", {}) == G.canonical_dot(DOT)
    assert len(calls) == 2 and calls[0] == calls[1]
    calls.clear()
    with pytest.raises(G.RulegraphError, match="MissingInputException"):
        G.rulegraph_dot(tmp_path / "Snakefile", {})
    assert len(calls) == 2 and calls[0] != calls[1]  # once per command: not repeated

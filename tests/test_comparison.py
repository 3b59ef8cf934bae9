"""Two result sets compared (reporting.compare_with): the comparison logic on hand-made
reproduction tables, and the script's main function on two small results/ directories."""

from __future__ import annotations

import math
import runpy
from types import SimpleNamespace

import pandas as pd
import pytest

from conftest import REPO, snakemake
from dlrepro import lecture
from dlrepro.errors import ConfigError
from dlrepro.report import comparison as C
from dlrepro.report import reproduction as R


def table(rows):
    """A reproduction table with the CSV columns of dlrepro.report.reproduction (missing cells empty)."""
    df = pd.DataFrame([{c: r.get(c) for c in R.CSV_COLUMNS} for r in rows], columns=R.CSV_COLUMNS)
    df["n_seeds"] = df["n_seeds"].astype("Int64")
    return df


def row(model, setting, mean, std, n, label="real", on="tensorflow 2.20.0 on CPU", section="lecture"):
    return {
        "section": section,
        "experiment": "MNIST",
        "model": model,
        "setting": setting,
        "metric": "test accuracy",
        "ours_pct": "n/a" if mean is None else f"{mean:.2f} ± {std} (n={n})",
        "mean_pct": mean,
        "std_pct": std,
        "n_seeds": n,
        "seeds": ",".join(str(s) for s in range(1, (n or 0) + 1)),
        "data_source": label if mean is not None else "",
        "computed_on": on if mean is not None else "",
    }


HERE = table(
    [
        row("perceptron", "20 epochs", 91.0, 0.2, 3),  # within: |0.3| <= 2*sqrt(.04/3+.09/3)
        row("MLP", "20 epochs", 95.0, 0.1, 3),  # outside: |1.0| > 2*sqrt(.01/3+.01/3)
        row("LeNet", "20 epochs", 99.0, None, 1),  # one seed here
        row("MLP", "200 epochs", None, None, 0),  # not run here
        row("majority", "lecture split", 51.0, None, 0, section="beyond"),  # deterministic, same
    ]
)
THERE = table(
    [
        row("perceptron", "20 epochs", 90.7, 0.3, 3, on="jax 0.7.2 on CPU"),
        row("MLP", "20 epochs", 94.0, 0.1, 3, on="jax 0.7.2 on CPU"),
        row("LeNet", "20 epochs", 99.1, 0.1, 3, on="jax 0.7.2 on CPU"),
        row("MLP", "200 epochs", 97.5, 0.2, 3, on="jax 0.7.2 on CPU"),
        row("majority", "lecture split", 51.0, None, 0, section="beyond"),
        row("MLP", "50 epochs", 96.0, 0.1, 2, section="beyond"),  # only there
    ]
)


def by_model(df, model, setting="20 epochs"):
    hit = df[(df["model"] == model) & (df["setting"].str.startswith(setting))]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def test_difference_and_seed_spread_per_row():
    df = C.comparison_table(HERE, THERE)
    assert list(df.columns[: len(C.COLUMNS)]) == C.COLUMNS
    p = by_model(df, "perceptron")
    assert p["difference_pts"] == pytest.approx(0.3)
    # Welch df = 3.49 -> t(3) = 3.182
    assert p["bound_pts"] == pytest.approx(3.182 * math.sqrt(0.2**2 / 3 + 0.3**2 / 3), abs=1e-3)
    assert p["within_seed_spread"] == "yes"
    assert (
        p["computed_on_here"] == "tensorflow 2.20.0 on CPU" and p["computed_on_there"] == "jax 0.7.2 on CPU"
    )
    m = by_model(df, "MLP")
    assert m["difference_pts"] == pytest.approx(1.0) and m["within_seed_spread"] == "no"
    assert by_model(df, "LeNet")["within_seed_spread"] == "n/a (one seed here)"
    not_here = by_model(df, "MLP", "200 epochs")
    assert not_here["within_seed_spread"] == "n/a (not run here)" and pd.isna(not_here["difference_pts"])
    assert not_here["there_pct"] == 97.5
    assert by_model(df, "majority", "lecture split")["within_seed_spread"] == "identical"


def test_every_row_of_either_side_once_in_this_runs_order():
    df = C.comparison_table(HERE, THERE)
    assert len(df) == 6
    assert list(df["model"])[:5] == list(HERE["model"])
    extra = df.iloc[-1]
    assert (extra["model"], extra["setting"]) == ("MLP", "50 epochs")
    assert extra["within_seed_spread"] == "n/a (not run here)" and extra["here_md"] == "not in this table"


def test_setting_details_do_not_split_a_figure():
    here = table([row("3-D CNN", "random split; USGS ground truth (lecture: Purdue)", 70.0, 1.0, 3)])
    there = table([row("3-D CNN", "random split", 71.0, 1.0, 3)])
    df = C.comparison_table(here, there)
    assert len(df) == 1
    assert df.iloc[0]["setting"] == "random split; USGS ground truth (lecture: Purdue) (there: random split)"
    assert df.iloc[0]["difference_pts"] == pytest.approx(-1.0)


def test_spread_rule_edges():
    assert C.spread_verdict(90.0, 0.5, 2, 90.0, 0.5, 2) == (0.0, "identical")
    assert C.spread_verdict(90.0, None, 0, 91.0, None, 0)[1].startswith("n/a (deterministic")
    assert C.spread_verdict(90.0, None, 1, 91.0, None, 1)[1] == "n/a (one seed here and there)"
    assert C.spread_verdict(None, None, 0, None, None, 0)[1] == "n/a (run on neither side)"
    # equal stds and counts: df = 2 (n - 1); one side without spread: df = n - 1
    assert C.welch_bound(1.0, 3, 1.0, 3) == pytest.approx(2.776 * math.sqrt(2 / 3))
    assert C.welch_bound(1.0, 4, 0.0, 4) == pytest.approx(3.182 * 0.5)
    assert C.welch_bound(0.0, 3, 0.0, 3) == 0.0  # no spread at all: any difference is outside
    assert C.spread_verdict(91.0, 0.0, 3, 90.0, 0.0, 3) == (0.0, "no")
    # a df between two tabulated ones takes the lower one (the wider bound); 120 or more: 1.98
    assert (C.t975(1.47), C.t975(11), C.t975(1e6)) == (12.706, 2.228, 1.980)
    # exactly on the bound counts as within
    bound = C.welch_bound(1.0, 4, 0.0, 4)
    assert C.spread_verdict(90.0 + bound, 1.0, 4, 90.0, 0.0, 4)[1] == "yes"
    assert C.spread_verdict(90.0 + bound + 0.01, 1.0, 4, 90.0, 0.0, 4)[1] == "no"


def test_provenance_and_summary_lines():
    here = {
        "path": "results",
        "commit": "aaa",
        "config_hash": "h1",
        "packages": {"keras": "3.11", "jax": "0.7"},
    }
    there = {"path": "../b/results", "commit": "bbb", "config_hash": "h2", "packages": {"keras": "3.11"}}
    lines = C.provenance_lines(here, there)
    assert lines[0] == "here: results: commit aaa, config hash h1"
    assert lines[2] == "packages that differ: jax 0.7 here, absent there"
    s = C.summary(C.comparison_table(HERE, THERE))
    assert s.startswith(
        "4 figures run on both sides: 1 identical, 1 within the seed spread, 1 outside it, 1 "
    )


def write_results(path, runs, commit):
    """A small results/ directory with a reproduction table built by dlrepro.report.reproduction."""
    df, notes = R.reproduction_table(runs, {"mnist_perceptron": 1.0}, {"mnist": True})
    tables = path / "tables"
    tables.mkdir(parents=True)
    prov = {"commit": commit, "config_hash": "c0ffee", "packages": {"keras": "3.11.3", "numpy": "2.1.0"}}
    R.write_reproduction(
        df, notes, prov, tables / "reproduction.csv", tables / "reproduction.md", tables / "r.html"
    )
    return path


def mnist_runs(accuracies, backend):
    rt = {"backend": backend, backend: "1.0", "device": "CPU", "deterministic": True}
    return {
        "mnist": [
            {
                "model": "perceptron",
                "epochs": 20,
                "epochs_requested": 20,
                "seed": seed,
                "source_label": "synthetic",
                "accuracy": acc,
                "parameters": lecture.MNIST_PARAMS["perceptron"],
                "n": 500,
                "labels": list(range(10)),
                "confusion_matrix": [[50 if i == j else 0 for j in range(10)] for i in range(10)],
                "runtime": rt,
            }
            for seed, acc in enumerate(accuracies, 1)
        ]
    }


def run_script(here, there, out, compare_with):
    log = out / "comparison.log"
    snakemake = SimpleNamespace(
        input=SimpleNamespace(here=str(here), there=str(there)),
        output=SimpleNamespace(
            csv=str(out / "comparison.csv"), md=str(out / "comparison.md"), html=str(out / "comparison.html")
        ),
        params=SimpleNamespace(compare_with=compare_with),
        log=[str(log)],
    )
    runpy.run_path(str(REPO / "scripts" / "report_comparison.py"), init_globals={"snakemake": snakemake})
    return log


def test_script_main_on_two_result_directories(tmp_path):
    a = write_results(tmp_path / "a" / "results", mnist_runs([0.90, 0.92], "tensorflow"), "aaaa1111")
    b = write_results(tmp_path / "b" / "results", mnist_runs([0.85, 0.86], "jax"), "bbbb2222")
    out = tmp_path / "out"
    out.mkdir()
    run_script(a / "tables/reproduction.csv", b / "tables/reproduction.csv", out, "../b/results")
    csv = pd.read_csv(out / "comparison.csv", comment="#")
    assert list(csv.columns) == C.COLUMNS
    p = csv[(csv["model"] == "perceptron") & (csv["setting"] == "20 epochs")].iloc[0]
    assert p["difference_pts"] == pytest.approx(5.5)
    # two seeds a side: Welch df = 1.47 -> t = 12.706, bound = 12.706 * sqrt(1.414^2/2 + .707^2/2) = 14.20
    assert p["bound_pts"] == pytest.approx(14.20, abs=0.01)
    assert p["within_seed_spread"] == "yes"
    assert p["computed_on_here"] == "tensorflow 1.0 on CPU" and p["computed_on_there"] == "jax 1.0 on CPU"
    trailer = [line for line in (out / "comparison.csv").read_text().splitlines() if line.startswith("#")]
    assert "# here_commit: aaaa1111" in trailer and "# there_commit: bbbb2222" in trailer
    md = (out / "comparison.md").read_text()
    assert "| perceptron | 20 epochs | test accuracy | 91.00 ± 1.41 (n=2) | 85.50 ± 0.71 (n=2) |" in md
    assert "| 91.00 ± 1.41 (n=2) | 85.50 ± 0.71 (n=2) | +5.50 | 14.20 | yes | synthetic |" in md
    assert "there: ../b/results: commit bbbb2222" in md
    assert '<td class="yes">yes</td>' in (out / "comparison.html").read_text()


def test_script_without_the_other_table_ends_in_one_line_naming_the_key(tmp_path, capsys):
    a = write_results(tmp_path / "a" / "results", mnist_runs([0.90], "tensorflow"), "aaaa1111")
    out = tmp_path / "out"
    out.mkdir()
    missing = tmp_path / "b" / "results" / "tables" / "reproduction.csv"
    with pytest.raises(SystemExit):
        run_script(a / "tables/reproduction.csv", missing, out, str(tmp_path / "b" / "results"))
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("ERROR: config key reporting.compare_with: ")
    assert "has no tables/reproduction.csv" in err[-1]
    assert not (out / "comparison.csv").exists()


def test_other_table_checks_the_directory(tmp_path):
    assert C.other_table(None) is None
    with pytest.raises(ConfigError, match=r"^config key reporting.compare_with: nowhere has no tables/"):
        C.other_table("nowhere", base=tmp_path)
    write_results(tmp_path / "results", mnist_runs([0.9], "jax"), "x")
    with pytest.raises(ConfigError, match="this run's own results/"):
        C.other_table("./results", base=tmp_path)
    write_results(tmp_path / "other", mnist_runs([0.9], "jax"), "y")
    assert C.other_table("other", base=tmp_path) == tmp_path / "other" / "tables" / "reproduction.csv"


# --------------------------------------------------------------------------- workflow (dry runs)


def test_rule_all_has_the_comparison_only_when_the_key_is_set(workflow, tmp_path):
    """Dry runs: no comparison job by default; with reporting.compare_with one (and the report
    jobs of this run, whose tables do not depend on the key); a directory without the table
    stops the run in one line naming the key."""
    other = write_results(tmp_path / "other" / "results", mnist_runs([0.9, 0.91], "jax"), "cafe")
    plain = snakemake(workflow, "-n", "--profile", "profiles/tiny")
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert "report_comparison" not in plain.stdout
    set_ = snakemake(
        workflow, "-n", "--profile", "profiles/tiny", "--config", f"reporting={{compare_with: {other}}}"
    )
    assert set_.returncode == 0, set_.stderr[-2000:]
    assert "rule report_comparison:" in set_.stdout and str(other / "tables/reproduction.csv") in set_.stdout
    missing = snakemake(
        workflow,
        "-n",
        "--profile",
        "profiles/tiny",
        "--config",
        f"reporting={{compare_with: {tmp_path}/none}}",
    )
    assert missing.returncode != 0
    assert (
        f"config key reporting.compare_with: {tmp_path}/none has no tables/reproduction.csv"
        in missing.stdout + missing.stderr
    )

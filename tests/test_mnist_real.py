"""Real MNIST through the pipeline (skipped without ../shared/data): 20-epoch perceptron
and MLP reach the lecture's level (>= 0.90 and >= 0.94 test accuracy)."""

import json

import pytest

from conftest import snakemake

pytestmark = [pytest.mark.realdata, pytest.mark.slow, pytest.mark.workflow]


def test_perceptron_and_mlp_on_real_mnist(workflow, shared_data, tmp_path):
    overrides = tmp_path / "real.yaml"
    overrides.write_text(f"data_mirror: {shared_data}\nseeds: [1]\ndatasets:\n  mnist:\n    source: mirror\n")
    targets = [
        "results/mnist/perceptron/e20/seed1/metrics.json",
        "results/mnist/mlp/e20/seed1/metrics.json",
    ]
    snakemake(workflow, *targets, "--configfile", str(overrides), timeout=1800, check=True)
    perceptron = json.loads((workflow / targets[0]).read_text())
    mlp = json.loads((workflow / targets[1]).read_text())
    assert perceptron["source_label"] == mlp["source_label"] == "real"
    assert perceptron["n"] == mlp["n"] == 10_000
    assert perceptron["epochs"] == mlp["epochs"] == 20
    assert perceptron["accuracy"] >= 0.90, perceptron["accuracy"]
    assert mlp["accuracy"] >= 0.94, mlp["accuracy"]

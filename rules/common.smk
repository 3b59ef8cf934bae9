import json
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))

from dlrepro.backend import export as export_backend  # noqa: E402
from dlrepro.config import (  # noqa: E402
    check_config,
    check_user_paths,
    coerce_config,
    config_sources,
)
from dlrepro.datasets import (  # noqa: E402
    EXPERIMENT_DATASETS,
    STAND_IN_FALLBACK,
    get_spec,
    known_status,
    rejected_lines,
)
from dlrepro.errors import ConfigError, DataError  # noqa: E402
from dlrepro.hyperspectral.scenes import (  # noqa: E402
    DEFAULT_SCENE,
    check_scene_config,
    get_scene,
)
from dlrepro.mnist.sources import PARTS  # noqa: E402
from dlrepro.names import EXPERIMENTS, MNIST_MODELS  # noqa: E402
from dlrepro.report.comparison import other_table  # noqa: E402
from dlrepro.tables import config_hash  # noqa: E402

SCHEMA = str(Path(workflow.basedir) / "schemas" / "config.schema.yaml")

try:
    # --config values arrive as strings (seeds=[1,2] -> ["1", "2"]): typed per the schema
    coerce_config(config, SCHEMA)
    check_config(config, SCHEMA, config_sources(workflow))  # names the file / --config
    check_user_paths(config)
    check_scene_config(config)
    COMPARE_WITH = other_table(config.get("reporting", {}).get("compare_with"))
except ConfigError as exc:
    raise WorkflowError(f"Invalid configuration: {exc}") from None
validate(config, schema="../schemas/config.schema.yaml")

# Every job of this run imports Keras with this backend (before Keras is imported; a rule's
# resource keras_backend, which a profile may set, overrides it in that job: dlrepro.runner).
export_backend(config["training"]["backend"])


wildcard_constraints:
    seed=r"\d+",
    epochs=r"\d+",
    model="perceptron|mlp|lenet",
    part="train|test",


# ----------------------------------------------------------------------------- general


def is_enabled(experiment):
    """Whether `rule all` builds this experiment."""
    return bool(config["experiments"].get(experiment, False))


def get_seeds(experiment):
    """The experiment's seeds, or the global ones."""
    return config.get(experiment, {}).get("seeds") or config["seeds"]


def get_epochs(epochs):
    """Epochs actually trained: the configured number, capped by max_epochs."""
    cap = config["max_epochs"]
    return min(int(epochs), cap) if cap else int(epochs)


def get_tensorflow_threads():
    """CPU threads of every TensorFlow job (training, evaluation, prediction): config
    training.threads, else all the cores of this run (--cores; Snakemake caps a job's
    threads there). On Slurm the profile's set-threads decides (= the CPUs it asks for).
    The scripts pass exactly this number to TensorFlow."""
    threads = config["training"]["threads"]
    if threads:
        return int(threads)
    try:
        cores = workflow.cores
    except WorkflowError:  # no --cores (--rulegraph, --lint): only the DAG is drawn
        cores = None
    if isinstance(cores, int) and 0 < cores < 10_000:
        return cores
    return os.cpu_count() or 1


def get_training_options():
    """Checkpoint interval and precision of every training job (config section training;
    the checkpoint settings never change results, so they are not in the fingerprint).
    """
    c = config["training"]
    return {
        "checkpoint_seconds": c["checkpoint_seconds"],
        "checkpoint_epochs": c["checkpoint_epochs"],
        "precision": c["precision"],
        "backend": c["backend"],
    }


def get_config_hash(reporting=False, sweep=None):
    """Short hash of the (validated) config, recorded in every table. The `reporting`
    section counts only for the reporting jobs (reporting=True), so that a tolerance
    change does not rerun the experiments' tables; `sweeps` counts only for the comparison
    of the sweep named by `sweep` (its own entry), so that adding or removing a sweep point
    reruns that point and its comparison, never the experiments' tables or the report.
    """
    skip = {"sweeps"} if reporting else {"sweeps", "reporting"}
    kept = {k: v for k, v in config.items() if k not in skip}
    if "reporting" in kept:  # the other run compared with changes no table of this run
        kept["reporting"] = {
            k: v for k, v in kept["reporting"].items() if k != "compare_with"
        }
    if sweep is not None:
        kept["sweeps"] = {sweep: (config.get("sweeps") or {}).get(sweep)}
    return config_hash(kept)


# ----------------------------------------------------------------------------- MNIST


def get_mnist_runs():
    """(model, epochs) for every configured MNIST run."""
    return [
        (model, epochs)
        for model, spec in config["mnist"]["models"].items()
        for epochs in spec["epochs"]
    ]


def get_mnist_metrics():
    return [
        f"results/mnist/{model}/e{epochs}/seed{seed}/metrics.json"
        for model, epochs in get_mnist_runs()
        for seed in get_seeds("mnist")
    ]


def get_mnist_histories():
    return [
        f"results/mnist/{model}/e{epochs}/seed{seed}/history.csv"
        for model, epochs in get_mnist_runs()
        for seed in get_seeds("mnist")
    ]


def get_mnist_part(wildcards):
    """Raw IDX files of one MNIST part (train or test)."""
    images, labels = PARTS[wildcards.part]
    return {
        "images": f"resources/mnist/{images}",
        "labels": f"resources/mnist/{labels}",
        "manifest": "resources/mnist/manifest.json",
    }


def get_mnist_train_params(wildcards):
    """Model settings of one MNIST run."""
    spec = config["mnist"]["models"][wildcards.model]
    return {
        "model": wildcards.model,
        "optimizer": spec["optimizer"],
        "learning_rate": spec["learning_rate"],
        "batch_size": spec["batch_size"],
        "epochs": get_epochs(wildcards.epochs),
        "epochs_requested": int(wildcards.epochs),
    }


def get_mnist_output():
    return ["results/tables/mnist.csv", "results/tables/mnist.md"]


# ----------------------------------------------------------------------------- Indian Pines


def get_indian_pines_options():
    """Dataset options that choose the raw files: source, bands, ground truth; for another
    scene (datasets.indian_pines.scene) its name and, when configured, its scenes: entry
    (only that one, so that editing another scene reruns nothing); path for source user.
    """
    options = dict(config["datasets"]["indian_pines"])
    scene = options.pop("scene", DEFAULT_SCENE)
    if options.get("path") is None:
        options.pop("path", None)
    if scene != DEFAULT_SCENE:
        options["scene"] = scene
        user = config.get("scenes") or {}
        options["scenes"] = {scene: user[scene]} if scene in user else {}
    return options


def get_indian_pines_scene():
    """The scene the convert job reads: None for the default Indian Pines (its own reader),
    else {name, definition} (dlrepro.hyperspectral.scenes)."""
    options = get_indian_pines_options()
    if "scene" not in options:
        return None
    return {
        "name": options["scene"],
        "definition": get_scene(options["scene"], options["scenes"]),
    }


def get_indian_pines_guard():
    """Guard band of the disjoint split (null in the config: half the patch window)."""
    guard = config["indian_pines"]["disjoint_guard"]
    return config["indian_pines"]["window"] // 2 if guard is None else int(guard)


def get_indian_pines_runs(name):
    """One file `name` per configured (split, seed) run."""
    return [
        f"results/indian_pines/{split}/seed{seed}/{name}"
        for split in config["indian_pines"]["splits"]
        for seed in get_seeds("indian_pines")
    ]


def get_indian_pines_train_params():
    """Model and optimiser settings of every Indian Pines run (max_epochs applied)."""
    c = config["indian_pines"]
    return {
        "epochs": get_epochs(c["epochs"]),
        "epochs_requested": int(c["epochs"]),
        "batch_size": c["batch_size"],
        "learning_rate": c["learning_rate"],
        "decay": c["decay"],
    }


def get_indian_pines_output():
    return [
        "results/tables/indian_pines.csv",
        "results/tables/indian_pines.md",
        *get_indian_pines_runs("maps.png"),
    ]


# ----------------------------------------------------------------------------- SI650 sentiment


def get_sentiment_splits():
    return config["sentiment"]["splits"]


def get_sentiment_metrics():
    return [
        f"results/sentiment/{split}/seed{seed}/metrics.json"
        for split in get_sentiment_splits()
        for seed in get_seeds("sentiment")
    ]


def get_sentiment_baselines():
    return [
        f"results/sentiment/{split}/baseline.json" for split in get_sentiment_splits()
    ]


def get_sentiment_train_params(wildcards):
    """Training settings of one SI650 run (max_epochs applied)."""
    c = config["sentiment"]
    return {
        "split": wildcards.split,
        "epochs": get_epochs(c["epochs"]),
        "epochs_requested": int(c["epochs"]),
        "batch_size": c["batch_size"],
    }


def get_sentiment_predictions(wildcards):
    """The Kaggle submission, only when the download rule obtained testdata.txt
    (decided after the checkpoint fetch_si650 ran): lecture split (else the first
    configured one), first seed."""
    if not config["sentiment"]["predict_testdata"]:
        return []
    manifest = checkpoints.fetch_si650.get().output.manifest
    with open(manifest, encoding="utf-8") as fh:
        files = json.load(fh)["files"]
    if "testdata.txt" not in files:
        return []
    splits = get_sentiment_splits()
    split = "lecture" if "lecture" in splits else splits[0]
    seed = get_seeds("sentiment")[0]
    return [f"results/sentiment/{split}/seed{seed}/testdata_predictions.txt"]


def get_sentiment_output():
    return ["results/tables/sentiment.csv", "results/tables/sentiment.md"]


# ----------------------------------------------------------------------------- reporting

# the report's category of each experiment: its display name (dlrepro.names, the one place)
REPORT_CATEGORIES = EXPERIMENTS


def get_reproduction_input(kind):
    """Per-run metrics files of one kind (mnist, sentiment, baselines, indian_pines) for the
    reproduction table; none when the experiment is disabled or its data unavailable (its
    rows say "not run"). A list, or an input function when data_status decides.
    """
    if kind == "mnist":
        return when_available("mnist", get_mnist_metrics)
    if kind == "sentiment":
        return when_available("sentiment", get_sentiment_metrics)
    if kind == "baselines":
        return when_available("sentiment", get_sentiment_baselines)
    return when_available("indian_pines", lambda: get_indian_pines_runs("metrics.json"))


def get_reproduction_status_input():
    """The data_status files the reproduction table's params read (probed datasets only)."""
    return [
        DATA_STATUS.format(dataset=dataset)
        for experiment, dataset in EXPERIMENT_DATASETS.items()
        if is_enabled(experiment) and is_probed(dataset)
    ]


def get_plot_settings(experiment):
    """One plot per configured model / split: mnist <model>_e<epochs>, sentiment and
    Indian Pines the split."""
    if experiment == "mnist":
        return [f"{model}_e{epochs}" for model, epochs in get_mnist_runs()]
    if experiment == "sentiment":
        return list(get_sentiment_splits())
    return list(config["indian_pines"]["splits"])


def _plot_runs(wildcards, name):
    experiment, setting = wildcards.experiment, wildcards.setting
    if experiment == "mnist":
        model, epochs = setting.rsplit("_e", 1)
        prefix = f"results/mnist/{model}/e{epochs}"
    else:
        prefix = f"results/{experiment}/{setting}"
    return [f"{prefix}/seed{seed}/{name}" for seed in get_seeds(experiment)]


def get_plot_input(wildcards):
    """Histories and metrics of every seed of one plotted model / split."""
    return {
        "histories": _plot_runs(wildcards, "history.csv"),
        "metrics": _plot_runs(wildcards, "metrics.json"),
    }


def get_plot_title(wildcards):
    experiment, setting = wildcards.experiment, wildcards.setting
    if experiment == "mnist":
        model, epochs = setting.rsplit("_e", 1)
        name = MNIST_MODELS.get(model, model)
        return f"MNIST {name}, {epochs} epochs"
    return f"{REPORT_CATEGORIES[experiment]}, {setting} split"


def get_plot_validation_name(wildcards):
    """What the history's val_* columns are (the SI650 lecture monitors the test set)."""
    return "test (monitoring)" if wildcards.experiment == "sentiment" else "validation"


def get_plot_labels(wildcards):
    """Labels of a plot in the HTML report."""
    if wildcards.experiment == "mnist":
        model, epochs = wildcards.setting.rsplit("_e", 1)
        return {"model": model, "epochs": epochs}
    return {"split": wildcards.setting}


def get_report_category(wildcards):
    """The report category (one per experiment) of a table or plot."""
    return REPORT_CATEGORIES[wildcards.get("experiment", wildcards.get("table"))]


def get_workflow_sources():
    """The Snakefile and the files in rules/ (the rule graph is redrawn when one changes)."""
    base = Path(workflow.basedir)
    files = [base / "Snakefile", *sorted((base / "rules").glob("*.smk"))]
    return [os.path.relpath(f) for f in files]


def get_report_output():
    """The reproduction table, HTML pages of the tables, plots of every enabled
    experiment and the rule graph (built even when every experiment is disabled); the
    comparison with another run when reporting.compare_with is set."""
    outputs = [
        "results/tables/reproduction.csv",
        "results/tables/reproduction.md",
        "results/tables/reproduction.html",
        "results/plots/workflow/rulegraph.svg",
    ]
    for experiment in REPORT_CATEGORIES:
        pages = when_available(experiment, lambda e=experiment: _report_of(e))
        _extend(outputs, pages)
    if COMPARE_WITH is not None:
        outputs += [f"results/tables/comparison.{ext}" for ext in ("csv", "md", "html")]
    return outputs


def get_comparison_input(wildcards):
    """This run's reproduction table and the other run's (reporting.compare_with, checked
    at start-up: one line naming the key when it has no tables/reproduction.csv)."""
    if COMPARE_WITH is None:
        raise WorkflowError(
            "config key reporting.compare_with: not set (the results/ directory of another run)"
        )
    return {"here": "results/tables/reproduction.csv", "there": str(COMPARE_WITH)}


def _report_of(experiment):
    outputs = [f"results/tables/{experiment}.html"]
    for setting in get_plot_settings(experiment):
        outputs += [
            f"results/plots/{experiment}/{setting}_curves.png",
            f"results/plots/{experiment}/{setting}_confusion.png",
        ]
    return outputs


# ----------------------------------------------------------------------------- all


def get_final_output():
    """Everything `rule all` builds, i.e. the enabled experiments whose data is available (an
    input function per experiment whose availability data_status decides), the report and
    the comparison of every configured sweep (rules/sweeps_common.smk).
    """
    outputs = []
    _extend(outputs, when_available("mnist", get_mnist_output))
    _extend(outputs, when_available("sentiment", get_sentiment_output))
    _extend(outputs, when_available("indian_pines", get_indian_pines_output))
    return outputs + get_report_output() + get_sweeps_output()


# ----------------------------------------------------------------------------- Slurm


def check_slurm_submissions():
    """Slurm executor only (onstart): ask Slurm once per distinct job request whether it
    accepts it (sbatch --test-only) and end the run with one line if not (dlrepro.slurm).
    """
    from dlrepro.slurm import preflight

    try:
        summary = preflight(workflow)
    except ConfigError as exc:
        raise WorkflowError(str(exc)) from None
    if summary:
        print(summary, file=sys.stderr)

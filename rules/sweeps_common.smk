# Helpers of the sweep rules (rules/sweeps.smk): the configured sweeps, the inputs and
# settings of one point, and the outputs of every sweep. (Kept beside rules/common.smk, which
# holds the other get_*/is_* helpers, to keep each file short.)

import re

from dlrepro.sweeps import parse_sweeps, point_settings  # noqa: E402

try:
    SWEEPS = parse_sweeps(config)
except ConfigError as exc:
    raise WorkflowError(f"Invalid configuration: {exc}") from None

SWEEP_DIR = "results/sweeps/{sweep}/{point}/seed~{seed}"
SWEEP_METRICS = "results/sweeps/{sweep}/{point}/seed~{seed}/metrics.json"
SWEEP_SHARED = "results/sweeps/_shared"


def get_sweep_names(experiment=None):
    """A regular expression matching the names of the experiment's sweeps (None: of every
    sweep; no sweep: a pattern that matches nothing)."""
    names = [n for n, s in SWEEPS.items() if experiment in (None, s.experiment)]
    return "|".join(re.escape(n) for n in names) if names else "(?!x)x"


# a point path: name~value segments (which points exist is checked by the input functions;
# an alternation of every point would make each DAG build compile a long regex many times)
SWEEP_POINT = r"[a-z_]+~[A-Za-z0-9._+-]+(?:/[a-z_]+~[A-Za-z0-9._+-]+)*"


def _point(wildcards):
    sweep = SWEEPS[wildcards.sweep]
    if wildcards.point not in sweep.points:
        raise WorkflowError(f"sweep {wildcards.sweep} has no point {wildcards.point}")
    return sweep, point_settings(sweep, wildcards.point, config)


def get_sweep_train_params(wildcards):
    """Settings of one point (max_epochs applied) and what the table needs to know of it."""
    sweep, settings = _point(wildcards)
    return {
        "sweep": sweep.name,
        "experiment": sweep.experiment,
        "model": sweep.model,
        "point": wildcards.point,
        "values": sweep.points[wildcards.point],
        "settings": {**settings, "epochs": get_epochs(settings["epochs"])},
        "epochs_requested": int(settings["epochs"]),
    }


def _is_default(settings, section, keys):
    return all(settings[k] == config[section][c] for k, c in keys.items())


def get_sweep_sentiment_data(settings):
    """sequences.nc of a vocabulary size and sequence length: the main pipeline's for the
    configured ones, else one shared by every point with the same two."""
    if _is_default(
        settings,
        "sentiment",
        {"max_features": "max_features", "sequence_length": "sequence_length"},
    ):
        return "results/sentiment/data"
    return f"{SWEEP_SHARED}/sentiment/features~{settings['max_features']}/length~{settings['sequence_length']}"


def get_sweep_sentiment_input(wildcards):
    """The encoded sequences and the split of one SI650 point."""
    directory = get_sweep_sentiment_data(_point(wildcards)[1])
    return {
        "data": f"{directory}/sequences.nc",
        "split": f"{directory}/split_{_point(wildcards)[1]['split']}.nc",
    }


def get_sweep_vocabulary(wildcards):
    """The vocabulary of a vocabulary size: the main pipeline's for the configured one."""
    if int(wildcards.features) == config["sentiment"]["max_features"]:
        return "results/sentiment/data/vocab.tsv"
    return f"{SWEEP_SHARED}/sentiment/features~{wildcards.features}/vocab.tsv"


def get_sweep_features(wildcards):
    return int(wildcards.features)


def get_sweep_length(wildcards):
    return int(wildcards.length)


def get_sweep_window(wildcards):
    return int(wildcards.window)


def get_sweep_fraction(wildcards):
    return float(wildcards.fraction)


def get_sweep_guard(wildcards):
    """Guard band of a disjoint split of a window (null in the config: half the window)."""
    guard = config["indian_pines"]["disjoint_guard"]
    return int(wildcards.window) // 2 if guard is None else int(guard)


def get_sweep_indian_pines_input(wildcards):
    """Patch index of the point's window, its split and the normalised cube the windows are
    gathered from (the main pipeline's files where the point uses the configured values).
    """
    s = _point(wildcards)[1]
    c = config["indian_pines"]
    if s["window"] == c["window"]:
        index = "results/indian_pines/data/patch_index.nc"
    else:
        index = f"{SWEEP_SHARED}/indian_pines/window~{s['window']}/patch_index.nc"
    if s["window"] == c["window"] and s["train_fraction"] == c["train_fraction"]:
        split = f"results/indian_pines/splits/{s['split']}.nc"
    else:
        split = f"{SWEEP_SHARED}/indian_pines/splits/{s['split']}/fraction~{s['train_fraction']!r}/window~{s['window']}.nc"
    return {
        "index": index,
        "split": split,
        "normalised": "results/indian_pines/data/normalised.nc",
    }


def get_sweep_metrics(wildcards):
    """metrics.json of every point x seed of one sweep."""
    sweep = SWEEPS[wildcards.sweep]
    return [
        SWEEP_METRICS.format(sweep=sweep.name, point=point, seed=seed)
        for point in sweep.points
        for seed in sweep.seeds
    ]


def get_sweep_table_params(wildcards):
    return {
        "sweep": wildcards.sweep,
        "config_hash": get_config_hash(sweep=wildcards.sweep),
    }


def _sweep_outputs(name):
    return [
        f"results/tables/sweep_{name}.csv",
        f"results/tables/sweep_{name}.md",
        f"results/tables/sweep_{name}.png",
    ]


def get_sweeps_output():
    """The comparison of every configured sweep whose experiment is enabled and whose data is available (an
    input function for those that the data_status checkpoint decides)."""
    outputs = []
    for name, sweep in SWEEPS.items():
        if not is_enabled(
            sweep.experiment
        ):  # experiments.<name>: false switches its sweeps off
            continue
        dataset = EXPERIMENT_DATASETS[sweep.experiment]
        available = get_known_status(dataset)["available"]
        if available is None:

            def deferred(wildcards, name=name, dataset=dataset):
                return (
                    _sweep_outputs(name)
                    if get_data_status(dataset)["available"]
                    else []
                )

            deferred.__name__ = f"get_sweep_{name}_if_data_available"
            outputs.append(deferred)
        elif available:
            outputs += _sweep_outputs(name)
    return outputs

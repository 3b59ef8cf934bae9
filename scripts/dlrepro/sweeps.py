"""Hyperparameter sweeps: the ``sweeps:`` config section, its points as readable wildcard
paths (Snakemake ``Paramspace`` style, ``optimizer~adam/learning_rate~0.001``), the settings
of one point, and the comparison of the points (mean ± std over seeds).

A sweep names an experiment (and, for MNIST, a model), the parameters it varies, either as a
grid (``parameters:``, every combination) or as explicit ``points:``, fixed ``settings:`` for
every point and the seeds. Parameters a point does not set take the experiment's configured
values (:func:`base_settings`), i.e. the lecture's unless the config changes them.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field

from . import backend
from .errors import ConfigError
from .names import EXPERIMENTS

# the lecture's settings per experiment (MNIST per model): the point marked "lecture"
LECTURE = {
    "mnist": {
        "perceptron": {"optimizer": "sgd", "learning_rate": 0.01, "batch_size": 128, "epochs": 20},
        "mlp": {
            "optimizer": "sgd",
            "learning_rate": 0.01,
            "batch_size": 128,
            "epochs": 20,
            "hidden": [128, 128],
        },
        "lenet": {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 128, "epochs": 20},
    },
    "sentiment": {
        "variant": "lstm",
        "embedding_size": 128,
        "lstm_units": 64,
        "dropout": 0.2,
        "spatial_dropout": 0.2,
        "recurrent_dropout": 0.2,
        "max_features": 2000,
        "sequence_length": 40,
        "batch_size": 32,
        "learning_rate": 0.001,
        "epochs": 10,
        "split": "lecture",
    },
    "indian_pines": {
        "window": 9,
        "learning_rate": 1.0,
        "decay": 5e-6,
        "loss": "mse",
        "optimizer": "sgd",
        "train_fraction": 0.1,
        "split": "random",
        "batch_size": 50,
        "epochs": 600,
    },
}
# Keras' default learning rates (a null learning_rate means these, as in the lecture)
DEFAULT_LEARNING_RATES = {"sgd": 0.01, "rmsprop": 0.001, "adam": 0.001}
METRIC = {"mnist": "test accuracy", "sentiment": "test accuracy", "indian_pines": "overall accuracy"}
SEGMENT = re.compile(r"^[A-Za-z0-9._+-]+$")
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def _int(minimum=1, odd=False):
    def check(v):
        ok = isinstance(v, int) and not isinstance(v, bool) and v >= minimum and (not odd or v % 2 == 1)
        return ok, f"an {'odd ' if odd else ''}integer >= {minimum}"

    return check


def _number(low=0.0, high=None, nullable=False, include_low=False):
    def check(v):
        if v is None:
            return nullable, "a number" + (" or null" if nullable else "")
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        ok = ok and (v >= low if include_low else v > low) and (high is None or v < high)
        bounds = f"{'>=' if include_low else '>'} {low}" + (f" and < {high}" if high is not None else "")
        return ok, f"a number {bounds}" + (" or null" if nullable else "")

    return check


def _choice(*options):
    def check(v):
        return v in options, "one of " + ", ".join(options)

    return check


def _int_list(v):
    ok = (
        isinstance(v, list)
        and v
        and all(isinstance(i, int) and not isinstance(i, bool) and i >= 1 for i in v)
    )
    return bool(ok), "a list of layer sizes (integers >= 1), e.g. [256, 128]"


OPTIMIZERS = ("sgd", "rmsprop", "adam")
VARIANTS = ("lstm", "stacked", "bidirectional", "cnn_lstm")
PARAMETERS = {
    "mnist": {
        "optimizer": _choice(*OPTIMIZERS),
        "learning_rate": _number(nullable=True),
        "batch_size": _int(),
        "hidden": _int_list,
        "epochs": _int(),
    },
    "sentiment": {
        "variant": _choice(*VARIANTS),
        "embedding_size": _int(),
        "lstm_units": _int(),
        "dropout": _number(0.0, 1.0, include_low=True),
        "spatial_dropout": _number(0.0, 1.0, include_low=True),
        "recurrent_dropout": _number(0.0, 1.0, include_low=True),
        "max_features": _int(),
        "sequence_length": _int(),
        "batch_size": _int(),
        "learning_rate": _number(nullable=True),
        "epochs": _int(),
        "split": _choice("lecture", "grouped"),
    },
    "indian_pines": {
        "window": _int(minimum=7, odd=True),  # three valid 3x3 convolutions
        "learning_rate": _number(),
        "decay": _number(include_low=True),
        "loss": _choice("mse", "categorical_crossentropy"),
        "optimizer": _choice(*OPTIMIZERS),
        "train_fraction": _number(0.0, 1.0),
        "split": _choice("random", "disjoint"),
        "batch_size": _int(),
        "epochs": _int(),
    },
}
SPEC_KEYS = ("experiment", "model", "parameters", "points", "settings", "seeds", "title")


@dataclass
class Sweep:
    """One configured sweep: its points, by path, in the configured order."""

    name: str
    experiment: str
    model: str | None
    parameters: list[str]
    points: dict[str, dict] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    seeds: list[int] = field(default_factory=list)
    title: str | None = None

    def describe(self) -> str:
        what = EXPERIMENTS[self.experiment] + (f" {self.model}" if self.model else "")
        return self.title or f"{what}: {', '.join(self.parameters)}"


def format_value(value) -> str:
    """A parameter value as a path segment: 0.001, 1e-05, adam, 256x128, default (null)."""
    if value is None:
        return "default"
    if isinstance(value, list):
        return "x".join(str(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def point_path(parameters: list[str], values: dict) -> str:
    """``optimizer~adam/learning_rate~0.001``: one ``name~value`` segment per parameter."""
    return "/".join(f"{p}~{format_value(values.get(p))}" for p in parameters)


def _from_string(value):
    """YAML-read a string (``--config`` passes every value as one): "0.001", "1e-3", "null"."""
    if isinstance(value, list):
        return [_from_string(v) for v in value]
    if not isinstance(value, str):
        return value
    import yaml

    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    if isinstance(parsed, str):
        try:
            return float(parsed)  # YAML 1.1 reads 1e-3 as a string
        except ValueError:
            return value
    return _from_string(parsed) if isinstance(parsed, list) else parsed


def _check_name(key: str, experiment: str, parameter: str) -> None:
    if parameter not in PARAMETERS[experiment]:
        raise ConfigError(
            f"config key {key!r}: unknown {experiment} sweep parameter {parameter!r} "
            f"(allowed: {', '.join(PARAMETERS[experiment])})"
        )


def _check_value(key: str, experiment: str, parameter: str, value):
    """The value, checked (a string from ``--config`` is read as YAML first: "0.001", "null")."""
    _check_name(key, experiment, parameter)
    checks = PARAMETERS[experiment]
    ok, expected = checks[parameter](value)
    if not ok and isinstance(value, (str, list)):
        parsed = _from_string(value)
        ok, expected = checks[parameter](parsed)
        value = parsed if ok else value
    if not ok:
        raise ConfigError(f"config key {key!r}: {value!r} is not {expected}")
    return value


def parse_sweep(
    name: str, spec, default_seeds: list[int], mnist_models=("perceptron", "mlp", "lenet")
) -> Sweep:
    """Validate one ``sweeps.<name>`` entry and expand its points (one-line ConfigError naming
    the key on bad input)."""
    key = f"sweeps.{name}"
    if not NAME.match(str(name)) or name == "data":
        raise ConfigError(f"config key {key!r}: a sweep name is a letter then letters, digits, _ or -")
    if not isinstance(spec, dict):
        raise ConfigError(f"config key {key!r}: expected a mapping with experiment and parameters or points")
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise ConfigError(f"unknown config key '{key}.{unknown[0]}' (allowed here: {', '.join(SPEC_KEYS)})")
    experiment = spec.get("experiment")
    if experiment not in PARAMETERS:
        raise ConfigError(
            f"config key '{key}.experiment': {experiment!r} is not one of {', '.join(PARAMETERS)}"
        )
    model = spec.get("model")
    if experiment == "mnist":
        if model not in mnist_models:
            raise ConfigError(f"config key '{key}.model': {model!r} is not one of {', '.join(mnist_models)}")
    elif model is not None:
        raise ConfigError(f"config key '{key}.model': only MNIST sweeps name a model ({experiment} has one)")
    if ("parameters" in spec) == ("points" in spec):
        raise ConfigError(f"config key {key!r}: give either parameters (a grid) or points (a list), not both")
    settings = spec.get("settings") or {}
    if not isinstance(settings, dict):
        raise ConfigError(f"config key '{key}.settings': expected a mapping of parameter: value")
    settings = {p: _check_value(f"{key}.settings.{p}", experiment, p, v) for p, v in settings.items()}
    if "parameters" in spec:
        grid = dict(spec["parameters"]) if isinstance(spec["parameters"], dict) else spec["parameters"]
        if not isinstance(grid, dict) or not grid:
            raise ConfigError(f"config key '{key}.parameters': expected a mapping of parameter: [values]")
        for p, values in grid.items():
            _check_name(f"{key}.parameters.{p}", experiment, p)
            if not isinstance(values, list) or not values:
                raise ConfigError(f"config key '{key}.parameters.{p}': expected a non-empty list of values")
            grid[p] = [
                _check_value(f"{key}.parameters.{p}.{i}", experiment, p, v) for i, v in enumerate(values)
            ]
        parameters = list(grid)
        combos = [dict(zip(parameters, c, strict=True)) for c in itertools.product(*grid.values())]
        where = [f"{key}.parameters"] * len(combos)
    else:
        points = spec["points"]
        if not isinstance(points, list) or not points:
            raise ConfigError(f"config key '{key}.points': expected a non-empty list of mappings")
        parameters, combos, where = [], [], []
        for i, point in enumerate(points):
            if not isinstance(point, dict) or not point:
                raise ConfigError(f"config key '{key}.points.{i}': expected a mapping of parameter: value")
            point = {p: _check_value(f"{key}.points.{i}.{p}", experiment, p, v) for p, v in point.items()}
            parameters += [p for p in point if p not in parameters]
            combos.append(point)
            where.append(f"{key}.points.{i}")
    clash = sorted(set(parameters) & set(settings))
    if clash:
        raise ConfigError(f"config key '{key}.settings.{clash[0]}': also swept; set it in one place")
    if "hidden" in parameters + list(settings) and model != "mlp":
        raise ConfigError(f"config key {key!r}: parameter hidden applies to the mlp model only")
    sweep = Sweep(name, experiment, model, parameters, settings=dict(settings), title=spec.get("title"))
    for values, at in zip(combos, where, strict=True):
        # explicit points: only the parameters a point sets are in its path, so that adding a
        # point (even one setting a new parameter) changes no other point's path
        path = point_path([p for p in parameters if p in values], values)
        for segment in path.split("/"):
            if not SEGMENT.match(segment.split("~", 1)[1]):
                raise ConfigError(f"config key {at!r}: value {segment!r} cannot be a path segment")
        if path in sweep.points:
            raise ConfigError(f"config key {at!r}: point {path} is listed twice")
        sweep.points[path] = dict(values)
    seeds = _from_string(spec.get("seeds")) or default_seeds
    if not isinstance(seeds, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds
    ):
        raise ConfigError(f"config key '{key}.seeds': expected a list of integers >= 0")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"config key '{key}.seeds': each seed must be unique")
    sweep.seeds = list(seeds)
    return sweep


def parse_sweeps(config: dict) -> dict[str, Sweep]:
    """Every sweep of ``config['sweeps']`` (empty when absent or null)."""
    section = config.get("sweeps") or {}
    if not isinstance(section, dict):
        raise ConfigError("config key 'sweeps': expected a mapping of sweep name: sweep")
    out = {}
    for name, spec in section.items():
        experiment = spec.get("experiment") if isinstance(spec, dict) else None
        seeds = (config.get(experiment) or {}).get("seeds") if experiment in PARAMETERS else None
        models = tuple((config.get("mnist") or {}).get("models") or ()) or ("perceptron", "mlp", "lenet")
        out[str(name)] = parse_sweep(str(name), spec, seeds or config.get("seeds") or [1], models)
    return out


def base_settings(config: dict, experiment: str, model: str | None = None) -> dict:
    """The experiment's configured settings of every sweep parameter (a point overrides them)."""
    if experiment == "mnist":
        m = config["mnist"]["models"][model]
        return {
            "optimizer": m["optimizer"],
            "learning_rate": m.get("learning_rate"),
            "batch_size": m.get("batch_size", 128),
            "hidden": [128, 128] if model == "mlp" else None,
            "epochs": m["epochs"][0],
        }
    if experiment == "sentiment":
        s = config["sentiment"]
        return {
            **{k: LECTURE["sentiment"][k] for k in ("variant", "embedding_size", "lstm_units")},
            "dropout": 0.2,
            "spatial_dropout": None,
            "recurrent_dropout": None,
            "max_features": s["max_features"],
            "sequence_length": s["sequence_length"],
            "batch_size": s["batch_size"],
            "learning_rate": None,
            "epochs": s["epochs"],
            "split": "lecture",
        }
    c = config["indian_pines"]
    return {
        "window": c["window"],
        "learning_rate": c["learning_rate"],
        "decay": c["decay"],
        "loss": "mse",
        "optimizer": "sgd",
        "train_fraction": c["train_fraction"],
        "split": "random",
        "batch_size": c["batch_size"],
        "epochs": c["epochs"],
    }


def point_settings(sweep: Sweep, path: str, config: dict) -> dict:
    """The full settings of one point: configured values < the sweep's settings < the point's."""
    values = sweep.points[path]
    settings = {**base_settings(config, sweep.experiment, sweep.model), **sweep.settings}
    settings.update(values)  # only the values the point sets (a null learning_rate: Keras' default)
    if sweep.experiment == "sentiment":  # one dropout for all three unless set one by one
        for k in ("spatial_dropout", "recurrent_dropout"):
            if settings[k] is None:
                settings[k] = settings["dropout"]
    return settings


def _normalise(settings: dict, name: str):
    value = settings.get(name)
    if name == "learning_rate" and value is None:
        value = DEFAULT_LEARNING_RATES.get(settings.get("optimizer", "adam"))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value


def is_lecture_point(sweep: Sweep, settings: dict) -> bool:
    """Whether a point's swept parameters have the lecture's values in its resolved settings
    (:func:`point_settings`; a null learning rate is the optimizer's Keras default). The
    parameters not swept are not compared (e.g. fewer epochs in a quick sweep)."""
    lecture = LECTURE["mnist"][sweep.model] if sweep.experiment == "mnist" else LECTURE[sweep.experiment]
    merged = {**lecture, **settings}
    return all(
        name in lecture and _normalise(merged, name) == _normalise(lecture, name) for name in sweep.parameters
    )


def run_record(params: dict, seed: int, attrs, metrics: dict, **extra) -> dict:
    """The metrics.json of one point x seed: what the comparison table reads."""
    return {
        "experiment": params["experiment"],
        "sweep": params["sweep"],
        "model": params["model"],
        "point": params["point"],
        "values": params["values"],
        "settings": params["settings"],
        "seed": int(seed),
        "epochs": int(params["settings"]["epochs"]),
        "epochs_requested": int(params["epochs_requested"]),
        "source": attrs["source"],
        "source_label": attrs["source_label"],
        "runtime": backend.provenance(),
        **extra,
        **metrics,
    }

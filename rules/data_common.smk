# The helpers of rules/data.smk: download parameters, raw files, and whether an experiment's
# data can be had (snakemake --lint wants functions apart from rules; the same split as
# rules/sweeps_common.smk). See rules/data.smk for the story.

import json


def get_fetch_params(dataset, options=None, source=None):
    """Parameters of a dataset's download job; source (when given) replaces the configured one."""
    return {
        "dataset": dataset,
        "source": source or config["datasets"][dataset]["source"],
        "user_path": get_user_path(dataset),
        "mirror": config["data_mirror"],
        "options": dict(options or {}),
        "synthetic": {
            "seed": config["synthetic"]["seed"],
            **config["synthetic"].get(dataset, {}),
        },
    }


def get_user_path(dataset):
    """datasets.<dataset>.path (your own files, source: user), else None."""
    section = config["datasets"][dataset]
    return section.get("path") if section["source"] == "user" else None


def get_user_files(dataset):
    """Your own files (source: user) as inputs of the fetch job, so that a changed file is
    fetched again (and everything computed from it rerun); none for other sources."""
    from dlrepro.acquire import user_files

    path = get_user_path(dataset)
    if not path:
        return []
    try:
        return [str(p) for p in user_files(get_spec(dataset), path).values()]
    except DataError as exc:
        raise WorkflowError(f"Invalid configuration: {exc}") from None


def get_raw_files(dataset, directory, options=None):
    """Paths of a dataset's raw files (the download rule's outputs)."""
    spec = get_spec(dataset, options)
    return [f"{directory}/{f.name}" for f in spec.files if not f.optional]


# ----------------------------------------------------------------------------- data availability

DATA_STATUS = "resources/status/{dataset}.json"
STAND_IN_DIR = "resources/{dataset}/stand-in"
_KNOWN_STATUS = {}


def get_dataset_options(dataset):
    """The config options that choose a dataset's raw files (Indian Pines: bands, ground truth;
    source user: the path of your files)."""
    if dataset == "indian_pines":
        return get_indian_pines_options()
    path = get_user_path(dataset)
    return {"path": path} if path else {}


def get_known_status(dataset):
    """A dataset's availability as far as it is known at parse time (cached)."""
    if dataset not in _KNOWN_STATUS:
        _KNOWN_STATUS[dataset] = known_status(
            dataset,
            config["datasets"][dataset]["source"],
            get_dataset_options(dataset),
            mirror=config["data_mirror"],
            resources="resources",
            strict=config["strict_data"],
        )
    return _KNOWN_STATUS[dataset]


def is_probed(dataset):
    """Whether the data_status checkpoint decides (availability or raw files unknown now)."""
    status = get_known_status(dataset)
    return status["available"] is None or status["raw"] is None


def get_data_status(dataset, field="available"):
    """The status of a dataset with `field` (available / raw) decided: known at parse time,
    else read from the data_status checkpoint (which Snakemake runs first)."""
    status = get_known_status(dataset)
    if status[field] is not None:
        return status
    path = checkpoints.data_status.get(dataset=dataset).output[0]
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def when_available(experiment, outputs):
    """outputs() of an enabled experiment whose data is available. When that is known only
    after the data_status checkpoint, an input function that decides then (so that the
    rest of the DAG stays complete in a dry-run)."""
    if not is_enabled(experiment):
        return []
    dataset = EXPERIMENT_DATASETS[experiment]
    available = get_known_status(dataset)["available"]
    if available is None:

        def deferred(wildcards):
            return outputs() if get_data_status(dataset)["available"] else []

        deferred.__name__ = f"get_{experiment}_if_data_available"
        return deferred
    return outputs() if available else []


def _extend(outputs, more):
    """Append a list of paths, or one input function, to an input list."""
    if callable(more):
        outputs.append(more)
    else:
        outputs.extend(more)
    return outputs


def get_raw_input(dataset):
    """The raw files and manifest an experiment reads: the configured ones, or the embedded
    stand-in that replaces them when they cannot be had (decided by data_status)."""

    def raw_input(wildcards):
        status = get_data_status(dataset, "raw")
        if status.get("raw") == "stand-in":
            directory = STAND_IN_DIR.format(dataset=dataset)
            options = STAND_IN_FALLBACK[dataset]
        else:
            directory = f"resources/{dataset}"
            options = get_dataset_options(dataset)
        return {
            "files": get_raw_files(dataset, directory, options),
            "manifest": f"{directory}/manifest.json",
        }

    return raw_input


def get_data_report_params(wildcards):
    """Enabled experiments whose data is unavailable, with the reasons, for the reproduction
    table (only these: a param that changes after a fetch would rerun the table)."""
    out = {}
    for experiment, dataset in EXPERIMENT_DATASETS.items():
        if not is_enabled(experiment):
            continue
        status = get_data_status(dataset)
        if status["available"] is False:
            out[experiment] = {
                "available": False,
                "reason": status["reason"],
                "short_reason": status.get("short_reason") or status["reason"],
            }
    return out


def _manifest_of(dataset, status):
    directory = f"resources/{dataset}"
    if status.get("raw") == "stand-in":
        directory = STAND_IN_DIR.format(dataset=dataset)
    try:
        with open(f"{directory}/manifest.json", encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


WHAT_DATA = {
    "real": "REAL data (a reproduction)",
    "stand-in": "STAND-IN data (not a reproduction)",
    "user": "USER data (your own files, not judged against the lecture)",
}


def data_summary():
    """Lines saying, per enabled experiment, what its tables were computed from."""
    lines = []
    for experiment, dataset in EXPERIMENT_DATASETS.items():
        name = REPORT_CATEGORIES[experiment]
        if not is_enabled(experiment):
            lines.append(f"  {name}: not run (experiments.{experiment}: false)")
            continue
        status = dict(get_known_status(dataset))
        path = DATA_STATUS.format(dataset=dataset)
        if is_probed(dataset) and os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                status = json.load(fh)
        if status["available"] is False:
            lines.append(f"  {name}: NOT RUN - data unavailable: {status['reason']}")
            lines += rejected_lines(status, None)  # checksum failures
            continue
        manifest = _manifest_of(dataset, status)
        label = manifest.get("label")
        # no fetch in this directory: nothing of this run was computed from it
        if not label:
            lines.append(f"  {name}: no data fetched here (not used by this run)")
            continue
        what = WHAT_DATA.get(label, f"{label} data (not a reproduction)")
        text = f"  {name}: {what}, source {manifest.get('source', '?')}"
        if status.get("raw") == "stand-in":
            text += f" - {status['reason']}"
        lines.append(text)
        lines += rejected_lines(status, manifest)  # checksum failures
    return lines


def print_data_summary():
    """The end-of-run summary (onsuccess / onerror in the Snakefile)."""
    lines = data_summary()
    table = "results/tables/reproduction.md"
    print(
        "\nData used by this run"
        + (f" (reproduction table: {table}):" if os.path.exists(table) else ":"),
        *lines,
        "  (after adding data_mirror or Kaggle credentials, rerun with -R data_status)",
        sep="\n",
        file=sys.stderr,
    )


def get_status_fetch_params(wildcards):
    """The download parameters of the dataset whose availability data_status decides."""
    return get_fetch_params(wildcards.dataset, get_dataset_options(wildcards.dataset))

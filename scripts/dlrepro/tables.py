"""Result tables: mean ± std over seeds, lecture comparison, CSV + Markdown, provenance."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
from importlib import metadata
from pathlib import Path

from .io import atomic_path, write_csv

PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "numpy", "scikit-learn", "xarray", "nltk", "snakemake")


def mean_std(values) -> tuple[float, float, int]:
    """Mean, sample standard deviation (ddof=1; NaN for one value) and count."""
    vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    n = len(vals)
    if n == 0:
        return float("nan"), float("nan"), 0
    mean = sum(vals) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else float("nan")
    return mean, std, n


def fmt_mean_std(mean: float, std: float, n: int, scale: float = 1.0, digits: int = 2) -> str:
    if n == 0 or math.isnan(mean):
        return "n/a"
    if n == 1 or math.isnan(std):
        return f"{mean * scale:.{digits}f} (n=1)"
    return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f} (n={n})"


def count_phrase(counts, noun: str, plural: str | None = None) -> str:
    """``"1 epoch"``, ``"3 epochs"``, ``"1, 3 epochs"``: numbers (or a comma list) with the noun
    in the right number."""
    if isinstance(counts, str):
        items = [c.strip() for c in counts.split(",") if c.strip()]
    elif isinstance(counts, (list, tuple, set)):
        items = [str(c) for c in counts]
    else:
        items = [str(counts)]
    word = noun if items == ["1"] else (plural or noun + "s")
    return f"{', '.join(items)} {word}"


# data-source labels, least trustworthy first: a row built from runs of several labels
# takes the first; only "real" rows are judged against the lecture
LABEL_ORDER = ("synthetic", "user", "stand-in", "real")


def combine_labels(labels) -> str:
    """Data-source label of a row built from several runs: the least trustworthy wins
    (an unknown label is never passed on as a known one)."""
    labels = set(labels)
    if labels - set(LABEL_ORDER):
        return "unknown"
    for label in LABEL_ORDER:
        if label in labels:
            return label
    return "unknown"


def config_hash(config: dict) -> str:
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def git_commit(cwd: str | Path | None = None) -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=10,
        )
        commit = out.stdout.strip()
        if not commit:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=10,
        ).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions(packages=PACKAGES) -> dict[str, str]:
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def provenance(config_digest: str, cwd: str | Path | None = None) -> dict:
    return {
        "commit": git_commit(cwd),
        "config_hash": config_digest,
        "packages": package_versions(),
    }


def to_markdown(df, title: str, notes: list[str] | None = None, prov: dict | None = None) -> str:
    """A Markdown table with a title, notes below it and a provenance line."""
    cols = list(df.columns)

    import pandas as pd

    def cell(v):
        # None / NaN / NA: a value that does not exist (e.g. a std over one seed), never "None"
        if v is None or (pd.api.types.is_scalar(v) and not isinstance(v, str) and pd.isna(v)):
            return "n/a"
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v).replace("|", "\\|")

    lines = [f"# {title}", "", "| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(cell(row[c]) for c in cols) + " |")
    if notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    if prov:
        pk = ", ".join(f"{k} {v}" for k, v in sorted(prov.get("packages", {}).items()))
        lines += [
            "",
            f"Provenance: commit {prov.get('commit')}, config hash {prov.get('config_hash')}; {pk}.",
        ]
    return "\n".join(lines) + "\n"


def write_table(df, csv_path, md_path, title: str, notes=None, prov: dict | None = None, md_df=None) -> None:
    """Write ``df`` as CSV (provenance as trailing ``#`` comment lines) and Markdown (``md_df``
    instead where the Markdown shows other columns, e.g. formatted mean ± std)."""
    with atomic_path(csv_path) as tmp:
        df.to_csv(tmp, index=False)
        if prov:
            with open(tmp, "a", encoding="utf-8") as fh:
                fh.write(f"# commit: {prov.get('commit')}\n# config_hash: {prov.get('config_hash')}\n")
                fh.write("# packages: " + json.dumps(prov.get("packages", {}), sort_keys=True) + "\n")
    with atomic_path(md_path) as tmp:
        tmp.write_text(to_markdown(df if md_df is None else md_df, title, notes, prov), encoding="utf-8")


__all__ = [
    "combine_labels",
    "config_hash",
    "count_phrase",
    "fmt_mean_std",
    "mean_std",
    "provenance",
    "to_markdown",
    "write_csv",
    "write_table",
]


def write_experiment_table(snakemake, log, df, notes, title: str) -> None:
    """An experiment's table job (``table_<experiment>``): the table in the log, then
    ``output.csv`` and ``output.md`` with the run's provenance (``params.config_hash``)."""
    log.info("\n%s", df.to_string(index=False))
    write_table(
        df,
        snakemake.output.csv,
        snakemake.output.md,
        title=title,
        notes=notes,
        prov=provenance(snakemake.params.config_hash),
    )

"""Two result sets compared (``reporting.compare_with``): "did my figures change?".

One row per figure of the two reproduction tables (``results/tables/reproduction.csv`` of
this run and of another ``results/`` directory: another commit, machine, backend or seeds):
the value on each side, the difference, and whether it lies within the seed spread. The rule
(Welch's two-sample t-test at the 5 % level, in percentage points):
``|here - there| <= t * SE`` with ``SE = sqrt(std_here**2 / n_here + std_there**2 / n_there)``
(std over seeds, ddof=1) and ``t`` the 97.5 % quantile of Student's t for the Welch-Satterthwaite
degrees of freedom, rounded down (12.71 for one, 4.30 for two, 2.78 for four, 2.04 for thirty):
two seeds a side say little, so the bound is wide. "n/a" when a side was not run or has fewer
than two seeds (no spread to judge by), "identical" when both values are equal.
Pure functions on DataFrames and provenance dicts; :func:`compare_results` writes the files.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import ConfigError
from ..io import atomic_path, write_text
from ..tables import to_markdown
from .html import markdown_to_html

KEY = "reporting.compare_with"
TITLE = "Comparison of two result sets"
TABLE = Path("tables") / "reproduction.csv"
# a row is the same figure on both sides when these agree (the setting without the details
# that follow "; ", e.g. "20 epochs; USGS ground truth")
KEY_COLUMNS = ["experiment", "model", "setting_key", "metric"]
COLUMNS = [
    "section",
    "experiment",
    "model",
    "setting",
    "metric",
    "here_pct",
    "there_pct",
    "difference_pts",
    "bound_pts",
    "within_seed_spread",
    "std_here_pct",
    "std_there_pct",
    "n_seeds_here",
    "n_seeds_there",
    "seeds_here",
    "seeds_there",
    "data_source_here",
    "data_source_there",
    "computed_on_here",
    "computed_on_there",
]
MD_COLUMNS = {
    "section": "row",
    "experiment": "experiment",
    "model": "model",
    "setting": "setting",
    "metric": "metric",
    "here_md": "here %",
    "there_md": "there %",
    "difference_pts": "difference (pts)",
    "bound_pts": "95 % bound (pts)",
    "within_seed_spread": "within seed spread",
    "data_md": "data (here / there)",
    "computed_md": "computed on (here / there)",
}


def other_table(path: str | Path | None, base: str | Path = ".") -> Path | None:
    """The other run's ``tables/reproduction.csv`` (``path``: its ``results/`` directory,
    relative to ``base``), None when no comparison is configured. Raises :class:`ConfigError`
    with one line when that file does not exist or is this run's own table."""
    if path is None or str(path) == "":
        return None
    table = Path(base) / path / TABLE
    if not table.is_file():
        raise ConfigError(
            f"config key {KEY}: {path} has no {TABLE.as_posix()} "
            "(expected the results/ directory of another finished run)"
        )
    own = Path(base) / "results" / TABLE
    if own.exists() and table.resolve() == own.resolve():
        raise ConfigError(f"config key {KEY}: {path} is this run's own results/ directory")
    return table


def read_provenance(csv_path: str | Path) -> dict:
    """Commit, config hash and packages from the trailing ``# key: value`` lines of a table
    written by :func:`dlrepro.tables.write_table` ("not recorded" where absent)."""
    prov: dict = {"commit": "not recorded", "config_hash": "not recorded", "packages": {}}
    for line in Path(csv_path).read_text(encoding="utf-8").splitlines():
        if not line.startswith("#") or ":" not in line:
            continue
        key, _, value = line[1:].partition(":")
        key, value = key.strip(), value.strip()
        if key == "packages":
            try:
                prov["packages"] = dict(json.loads(value))
            except (ValueError, TypeError):
                prov["packages"] = {"unreadable": value}
        elif key:
            prov[key] = value
    return prov


def read_table(csv_path: str | Path):
    """A reproduction table (DataFrame); columns an older table lacks are filled."""
    import pandas as pd

    df = pd.read_csv(csv_path, comment="#", dtype={"seeds": str, "epochs": str})
    for col in ("mean_pct", "std_pct", "n_seeds"):
        if col not in df:
            df[col] = float("nan")
        df[col] = pd.to_numeric(df[col], errors="coerce")
    for col in ("section", "ours_pct", "seeds", "data_source", "computed_on"):
        if col not in df:
            df[col] = "not recorded" if col in ("data_source", "computed_on") else ""
        df[col] = df[col].fillna("").astype(str)
    return df


def _number(value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return v


# 97.5 % quantiles of Student's t by degrees of freedom (a df between two entries takes the
# lower one's, the wider bound)
T975 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
    10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042, 60: 2.000, 120: 1.980,
}  # fmt: skip


def t975(df: float) -> float:
    """The 97.5 % quantile of Student's t for ``df`` degrees of freedom (from :data:`T975`)."""
    return T975[max(k for k in T975 if k <= max(df, 1))]


def welch_bound(std_here, n_here, std_there, n_there) -> float:
    """``t * SE`` of the difference of two means (module docstring), in the stds' unit."""
    a, b = std_here**2 / n_here, std_there**2 / n_there
    if a + b == 0:
        return 0.0
    df = (a + b) ** 2 / (a**2 / (n_here - 1) + b**2 / (n_there - 1))
    return t975(df) * math.sqrt(a + b)


def spread_verdict(mean_here, std_here, n_here, mean_there, std_there, n_there) -> tuple[float, str]:
    """``(bound in points, verdict)`` for one row (see the module docstring for the rule)."""
    mh, mt = _number(mean_here), _number(mean_there)
    if math.isnan(mh) and math.isnan(mt):
        return float("nan"), "n/a (run on neither side)"
    if math.isnan(mh):
        return float("nan"), "n/a (not run here)"
    if math.isnan(mt):
        return float("nan"), "n/a (not run there)"
    if abs(mh - mt) < 1e-9:
        return 0.0, "identical"
    sh, st = _number(std_here), _number(std_there)
    nh, nt = _number(n_here), _number(n_there)
    if nh == 0 and nt == 0:
        return float("nan"), "n/a (deterministic: no seeds; a change of code or data)"
    lacking = [side for side, s, n in (("here", sh, nh), ("there", st, nt)) if math.isnan(s) or not n >= 2]
    if lacking:
        return float("nan"), f"n/a (one seed {' and '.join(lacking)})"
    bound = welch_bound(sh, nh, st, nt)
    return round(bound, 3), "yes" if abs(mh - mt) <= bound + 1e-9 else "no"


def _keyed(df):
    df = df.copy()
    df["setting_key"] = df["setting"].fillna("").astype(str).str.split("; ").str[0]
    return df


def comparison_table(here, there):
    """One row per figure of either reproduction table (this run's order, then the other's
    extra rows), with :data:`COLUMNS`."""
    import pandas as pd

    h, t = _keyed(here), _keyed(there)
    merged = h.merge(t, on=KEY_COLUMNS, how="outer", suffixes=("_here", "_there"), sort=False)
    merged["order_h"] = (
        merged[KEY_COLUMNS]
        .apply(tuple, axis=1)
        .map({k: i for i, k in enumerate(h[KEY_COLUMNS].apply(tuple, axis=1))})
    )
    merged["order_t"] = (
        merged[KEY_COLUMNS]
        .apply(tuple, axis=1)
        .map({k: i for i, k in enumerate(t[KEY_COLUMNS].apply(tuple, axis=1))})
    )
    merged = merged.sort_values(["order_h", "order_t"], na_position="last", kind="stable")
    rows = []
    for _, r in merged.iterrows():
        spread, verdict = spread_verdict(
            r["mean_pct_here"], r["std_pct_here"], r["n_seeds_here"],
            r["mean_pct_there"], r["std_pct_there"], r["n_seeds_there"],
        )  # fmt: skip
        mh, mt = _number(r["mean_pct_here"]), _number(r["mean_pct_there"])
        diff = None if math.isnan(mh) or math.isnan(mt) else round(mh - mt, 3)
        setting_h = r["setting_here"] if isinstance(r["setting_here"], str) else ""
        setting = setting_h or (
            r["setting_there"] if isinstance(r["setting_there"], str) else r["setting_key"]
        )
        if isinstance(r["setting_there"], str) and setting_h and r["setting_there"] != setting_h:
            setting = f"{setting_h} (there: {r['setting_there']})"
        section = r["section_here"] if isinstance(r["section_here"], str) else r["section_there"]

        def text(col, side, r=r):
            v = r[f"{col}_{side}"]
            return "" if not isinstance(v, str) else v

        rows.append(
            {
                "section": section,
                "experiment": r["experiment"],
                "model": r["model"],
                "setting": setting,
                "metric": r["metric"],
                "here_pct": None if math.isnan(mh) else mh,
                "there_pct": None if math.isnan(mt) else mt,
                "difference_pts": diff,
                "bound_pts": None if math.isnan(spread) else spread,
                "within_seed_spread": verdict,
                "std_here_pct": _or_none(r["std_pct_here"]),
                "std_there_pct": _or_none(r["std_pct_there"]),
                "n_seeds_here": _or_none(r["n_seeds_here"], int),
                "n_seeds_there": _or_none(r["n_seeds_there"], int),
                "seeds_here": text("seeds", "here"),
                "seeds_there": text("seeds", "there"),
                "data_source_here": text("data_source", "here"),
                "data_source_there": text("data_source", "there"),
                "computed_on_here": text("computed_on", "here"),
                "computed_on_there": text("computed_on", "there"),
                # the Markdown's view: each side as its reproduction table shows it
                "here_md": text("ours_pct", "here") or "not in this table",
                "there_md": text("ours_pct", "there") or "not in that table",
            }
        )
    df = pd.DataFrame(rows, columns=COLUMNS + ["here_md", "there_md"])
    for col in ("n_seeds_here", "n_seeds_there"):
        df[col] = df[col].astype("Int64")
    return df


def _or_none(value, kind=float):
    v = _number(value)
    return None if math.isnan(v) else kind(v)


def _isna(value) -> bool:
    return value is None or math.isnan(_number(value))


def _pair(a: str, b: str) -> str:
    a, b = a or "-", b or "-"
    return a if a == b else f"{a} / {b}"


def markdown_view(df):
    """The Markdown/HTML columns: each side's value as its table shows it, data and
    computed-on once when both sides agree."""
    view = df.copy().astype({"difference_pts": object, "bound_pts": object})
    view["difference_pts"] = [None if _isna(v) else f"{v:+.2f}" for v in df["difference_pts"]]
    view["bound_pts"] = [None if _isna(v) else f"{v:.2f}" for v in df["bound_pts"]]
    view["data_md"] = [
        _pair(a, b) for a, b in zip(df["data_source_here"], df["data_source_there"], strict=True)
    ]
    view["computed_md"] = [
        _pair(a, b) for a, b in zip(df["computed_on_here"], df["computed_on_there"], strict=True)
    ]
    return view[list(MD_COLUMNS)].rename(columns=MD_COLUMNS)


def provenance_lines(here: dict, there: dict) -> list[str]:
    """One line per side (directory, commit, config hash) and the packages whose versions differ."""
    lines = [
        f"here: {here.get('path', 'results')}: commit {here.get('commit')}, config hash {here.get('config_hash')}",
        f"there: {there.get('path', '?')}: commit {there.get('commit')}, config hash {there.get('config_hash')}",
    ]
    ph, pt = here.get("packages", {}), there.get("packages", {})
    changed = [
        f"{name} {ph.get(name, 'absent')} here, {pt.get(name, 'absent')} there"
        for name in sorted(set(ph) | set(pt))
        if ph.get(name) != pt.get(name)
    ]
    lines.append(
        "packages that differ: " + "; ".join(changed)
        if changed
        else "packages: the same versions on both sides"
    )
    return lines


def summary(df) -> str:
    """``3 figures compared: 2 within the seed spread, 1 not, 1 identical; 6 n/a``."""
    verdicts = df["within_seed_spread"]
    compared = int(df["difference_pts"].notna().sum())
    n_yes, n_no = int((verdicts == "yes").sum()), int((verdicts == "no").sum())
    n_same = int((verdicts == "identical").sum())
    n_na = compared - n_yes - n_no - n_same
    return (
        f"{compared} figures run on both sides: {n_same} identical, {n_yes} within the seed spread, "
        f"{n_no} outside it, {n_na} without a spread to judge by (one seed or deterministic)"
    )


def notes(df, here: dict, there: dict) -> list[str]:
    return [
        summary(df),
        "difference = here - there (percentage points); within seed spread: |difference| <= 95 % bound = "
        "t * sqrt(std_here^2/n_here + std_there^2/n_there) (std over seeds, ddof=1; t: Student's 97.5 % "
        "quantile for the Welch degrees of freedom; Welch's t-test at 5 %); n/a when a side "
        "was not run or has one seed; identical: the same value on both sides (same seeds, "
        "deterministic runs on the same backend and device give identical values)",
        *provenance_lines(here, there),
    ]


def write_comparison(df, here: dict, there: dict, csv_path, md_path, html_path=None) -> None:
    """CSV (:data:`COLUMNS`, each side's provenance as trailing ``#`` lines), Markdown and,
    when ``html_path`` is given, the HTML page of the Markdown."""
    with atomic_path(csv_path) as tmp:
        df[COLUMNS].to_csv(tmp, index=False)
        with open(tmp, "a", encoding="utf-8") as fh:
            for side, prov in (("here", here), ("there", there)):
                fh.write(f"# {side}_path: {prov.get('path')}\n")
                fh.write(f"# {side}_commit: {prov.get('commit')}\n")
                fh.write(f"# {side}_config_hash: {prov.get('config_hash')}\n")
                fh.write(f"# {side}_packages: " + json.dumps(prov.get("packages", {}), sort_keys=True) + "\n")
    md = to_markdown(markdown_view(df), TITLE, notes(df, here, there))
    write_text(md, md_path)
    if html_path:
        write_text(markdown_to_html(md), html_path)


def compare_results(here_csv, there_csv, csv_path, md_path, html_path=None, here_name=None, there_name=None):
    """Read both reproduction tables, write the comparison; returns the table."""
    there_csv = Path(there_csv)
    if not there_csv.is_file():
        raise ConfigError(
            f"config key {KEY}: {there_csv.parent.parent} has no {TABLE.as_posix()} "
            "(expected the results/ directory of another finished run)"
        )
    here = {**read_provenance(here_csv), "path": here_name or str(Path(here_csv).parent.parent)}
    there = {**read_provenance(there_csv), "path": there_name or str(there_csv.parent.parent)}
    df = comparison_table(read_table(here_csv), read_table(there_csv))
    write_comparison(df, here, there, csv_path, md_path, html_path)
    return df


__all__ = [
    "COLUMNS",
    "KEY",
    "compare_results",
    "comparison_table",
    "markdown_view",
    "notes",
    "other_table",
    "provenance_lines",
    "read_provenance",
    "read_table",
    "spread_verdict",
    "summary",
    "t975",
    "welch_bound",
    "write_comparison",
]

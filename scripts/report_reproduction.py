"""The reproduction table: every lecture figure beside ours (from the per-run metrics files)."""

from dlrepro.io import read_json
from dlrepro.report.reproduction import reproduction_table, write_reproduction
from dlrepro.runner import run
from dlrepro.tables import provenance


def main(snakemake, log):
    inp = snakemake.input
    runs = {
        "mnist": [read_json(p) for p in inp.mnist],
        "sentiment": [read_json(p) for p in inp.sentiment],
        "sentiment_baselines": [read_json(p) for p in inp.baselines],
        "indian_pines": [read_json(p) for p in inp.indian_pines],
    }
    log.info("runs read: %s", {k: len(v) for k, v in runs.items()})
    p = snakemake.params
    unavailable = {
        e: (status.get("short_reason") or status["reason"], status["reason"])
        for e, status in dict(p.data).items()
        if status["available"] is False
    }
    for experiment, (_, reason) in unavailable.items():
        log.warning("%s: data unavailable: %s", experiment, reason)
    df, notes = reproduction_table(runs, dict(p.tolerances), dict(p.experiments), unavailable)
    log.info("\n%s", df.to_string(index=False))
    for note in notes:
        log.info("note: %s", note)
    out = snakemake.output
    write_reproduction(df, notes, provenance(p.config_hash), out.csv, out.md, out.html)


run(main, snakemake)  # noqa: F821

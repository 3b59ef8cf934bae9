"""Download rule: obtain a dataset's raw files (mirror / download / embedded / synthetic / user)."""

from dlrepro.acquire import acquire
from dlrepro.datasets import get_spec
from dlrepro.runner import run


def main(snakemake, log):
    fetch = snakemake.params.fetch
    spec = get_spec(fetch["dataset"], fetch["options"])
    acquire(
        spec,
        dest=snakemake.output.manifest.rsplit("/", 1)[0],
        source=fetch["source"],
        mirror=fetch["mirror"],
        synthetic_options=fetch["synthetic"],
        logger=log,
        cache=snakemake.params.cache,
        user_path=fetch.get("user_path"),
    )


run(main, snakemake)  # noqa: F821

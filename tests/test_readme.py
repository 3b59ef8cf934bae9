"""The README's two quick-start commands, CI running exactly the test one, and the documented
forms (README and docs/*.md) that the workflow must accept."""

import re

from conftest import REPO


def _quick_start_commands():
    text = (REPO / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_readme_has_exactly_two_commands():
    commands = _quick_start_commands()
    assert len(commands) == 2, commands
    assert commands[0].endswith("snakemake")
    assert commands[1].endswith("pytest")


def test_ci_runs_the_readme_test_command():
    test_command = _quick_start_commands()[1]
    ci = (REPO / ".ci" / "run").read_text()
    # .ci/run may pass -q to pip, nothing else differs
    assert test_command.replace("pip install -r", "pip install -q -r") in ci.splitlines()


# ----------------------------------------------------------------------------- documented forms


def _readme():
    return (REPO / "README.md").read_text()


def _docs():
    """The README and every page of docs/, where the detail lives."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    return "\n".join(page.read_text() for page in pages)


def test_readme_is_one_screen():
    lines = _readme().splitlines()
    assert len(lines) <= 160, len(lines)
    for link in re.findall(r"\]\(((?:docs/)?[\w.-]+\.md)(?:#[\w-]+)?\)", _readme()):
        assert (REPO / link).exists(), link


def _config_examples():
    """Every `--config KEY=VALUE` example of the README and docs/, as the shell passes it."""
    examples = []
    for quoted, bare in re.findall(r"--config (?:'([^']+)'|([A-Za-z_][\w-]*=[^\s`']+))", _docs()):
        examples.append(quoted or bare)
    return examples


def test_readme_config_examples_are_valid():
    """Parsed as Snakemake 9 parses --config, merged into config.yaml, then coerced and
    validated as the workflow does at start-up."""
    import yaml
    from snakemake.cli import parse_config
    from snakemake.utils import update_config

    from dlrepro.config import check_config, coerce_config

    examples = _config_examples()
    assert {"seeds=[1,2]", "experiments={sentiment: false, indian_pines: false}", "strict_data=true"} <= set(
        examples
    ), examples
    schema = REPO / "schemas" / "config.schema.yaml"
    for example in examples:
        config = yaml.safe_load((REPO / "config.yaml").read_text())
        update_config(config, parse_config([example]))
        coerce_config(config, schema)
        check_config(config, schema)
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    update_config(config, parse_config(["experiments={sentiment: false, indian_pines: false}"]))
    coerce_config(config, schema)
    assert config["experiments"] == {"mnist": True, "sentiment": False, "indian_pines": False}


def test_docs_say_what_lint_prints():
    text = _docs()
    assert "prints nothing" not in text
    assert "Congratulations, your workflow is in a good condition!" in text


def test_readme_names_the_not_run_label_of_the_tables():
    from dlrepro import names

    assert getattr(names, "UNAVAILABLE", "not run — data unavailable") in _readme()


def test_docs_cost_table():
    text = (REPO / "docs" / "performance.md").read_text()
    section = text.split("## What each experiment costs", 1)[1].split("\n## ", 1)[0]
    assert "| experiment | runs (epochs × seeds × splits) | s per epoch | wall time per run |" in section
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == 6, rows
    for row in rows:  # every run has a measured time per epoch and per run
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert re.fullmatch(r"[\d.]+", cells[2]) and re.search(r"\d", cells[3]), row
    assert "TODO" not in text

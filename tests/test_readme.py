"""The README's two quick-start commands, and CI running exactly the test one."""

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

"""The README's set-up commands stay true: CI runs exactly the documented test command."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_readme_starts_with_the_two_setup_commands():
    main_job, tests = setup_commands()
    assert "reconciler" in main_job and "examples/desired-state" in main_job
    assert "pytest" in tests and "[test]" in tests


def test_ci_runs_the_readme_test_command_exactly():
    _, tests = setup_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci

"""The README quickstart, as written: plan, apply --auto-approve, plan on a fresh copy of the
example shows the first plan, applies it all, then says `No changes.`."""

from __future__ import annotations

import re
import shlex

from cli_support import ALL_APPLIED

from .support import ROOT, copy_example


def readme_section(title: str) -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def quickstart_commands() -> list[list[str]]:
    """The reconciler commands of the set-up line and the quickstart, arguments only."""
    setup = re.findall(r"```sh\n(.+?)\n```", readme_section("Set up"))[0]
    block = re.findall(r"```sh\n(.+?)\n```", readme_section("Quickstart"), re.S)[0]
    lines = [setup.split("&&")[-1], *block.splitlines()]
    commands = []
    for line in lines:
        words = shlex.split(line, comments=True)
        assert words[0].endswith("reconciler"), line
        commands.append(words[1:])
    return commands


def first_plan_summary() -> str:
    return next(line for line in readme_section("Plans").splitlines() if line.startswith("Plan:"))


def test_the_readme_quickstart_plans_applies_and_then_has_nothing_to_do(tmp_path, monkeypatch, cli):
    example = copy_example(tmp_path / "examples" / "desired-state")
    monkeypatch.chdir(tmp_path)
    plan, apply, plan_again = quickstart_commands()
    assert plan[0] == "plan" and apply[:1] == ["apply"] and "--auto-approve" in apply

    first = cli(*plan)
    assert first.code == 0, first.err
    assert first_plan_summary() in first.out
    applied = cli(*apply)
    assert applied.code == 0, applied.err
    assert ALL_APPLIED in applied.out
    last = cli(*plan_again)
    assert last.code == 0 and last.out.startswith("No changes.")
    # The emulated tenant stays in the copy, where git ignores it.
    assert (example / ".reconciler" / "emulator.json").is_file()
    assert (example / ".reconciler" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_plan_apply_plan_in_the_state_directory(state_dir, monkeypatch, cli):
    """DIR defaults to the current directory."""
    monkeypatch.chdir(state_dir)
    assert cli("plan", "--detailed-exitcode").code == 2
    assert cli("apply", "--auto-approve").code == 0
    last = cli("plan", "--detailed-exitcode")
    assert last.code == 0 and last.out.startswith("No changes.")

"""The README's offboarding run, as written (README, "Offboarding"): on a fresh copy of the
example with its `offboarding:` block uncommented (no org unit), against the embedded
emulator, each plan shows the lines the README quotes, in the order it tells them: the first
apply offboards Sam, the second gives the licenses back once the transfers completed, the
plan after it has no changes, `state: deleted` waits, and 31 days on (RECONCILER_NOW) the
third apply deletes him."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from .support import copy_example, edit
from .test_offboarding import SAM, SAM_ENTRY, offboarding_on
from .test_quickstart import readme_section


def quoted_runs() -> list[str]:
    """The `text` blocks of the README's Offboarding section, in order."""
    return re.findall(r"```text\n(.+?)\n```", readme_section("Offboarding"), re.S)


def entries(block: str) -> list[str]:
    """A quoted block as its entries: a change with its field lines, or one line."""
    found: list[list[str]] = []
    for line in block.splitlines():
        if line.startswith("      ") and found:
            found[-1].append(line)
        elif line.strip():
            found.append([line])
    return ["\n".join(lines) for lines in found]


def shown(out: str) -> str:
    """A plan's output without the source lines the README leaves out (`# file:line`)."""
    return "\n".join(line for line in out.splitlines() if not line.lstrip().startswith("# "))


def assert_quoted(block: str, out: str) -> None:
    text = shown(out)
    for entry in entries(block):
        if entry.startswith("Plan:"):
            summary = next(line for line in text.splitlines() if line.startswith("Plan:"))
            assert summary == entry
        else:
            assert entry in text, f"{entry}\n-- not in --\n{text}"


def test_the_readme_offboarding_run(tmp_path, monkeypatch: pytest.MonkeyPatch, cli):
    first, licenses, waiting, deleting = quoted_runs()
    root = copy_example(tmp_path / "examples" / "desired-state")
    offboarding_on(root, keep_licenses=False)

    plan = cli("plan", root)
    assert plan.code == 0, plan.err
    assert_quoted(first, plan.out)
    applied = cli("apply", root, "--auto-approve")
    assert applied.code == 0, applied.err

    time.sleep(0.5)  # the emulator's transfers complete 200 ms after they are requested
    plan = cli("plan", root)
    assert_quoted(licenses, plan.out)
    assert [line for line in shown(plan.out).splitlines() if line.startswith("  ")] == [
        line for line in licenses.splitlines() if line.startswith("  ")
    ]
    assert cli("apply", root, "--auto-approve").code == 0
    assert cli("plan", root).out.startswith("No changes.")

    edit(root / "users" / "engineering.yaml", SAM_ENTRY, SAM_ENTRY + "    state: deleted\n")
    plan = cli("plan", root)
    no_changes, note = waiting.splitlines()
    assert plan.out.startswith(no_changes + "\n")
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    # The times are the run's own: compared as times.
    assert re.sub(stamp, "<time>", note) in re.sub(stamp, "<time>", plan.out).splitlines()

    since = datetime.fromisoformat(
        re.search(rf"suspended on ({stamp})", plan.out).group(1).replace("Z", "+00:00")
    )
    monkeypatch.setenv("RECONCILER_NOW", (since + timedelta(days=31)).isoformat())
    plan = cli("plan", root)
    assert_quoted(deleting, plan.out)
    applied = cli("apply", root, "--auto-approve")
    assert applied.code == 0, applied.err
    assert SAM not in active_users(root)
    assert cli("plan", root).out.startswith("No changes.")


def active_users(root: Path) -> set[str]:
    """The accounts of the embedded emulator's tenant (kept in the directory)."""
    state = json.loads((root / ".reconciler" / "emulator.json").read_text(encoding="utf-8"))
    users = state["users"]
    return {u["primaryEmail"] for u in (users.values() if isinstance(users, dict) else users)}

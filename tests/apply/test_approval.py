"""Approval: without a terminal apply refuses unless --auto-approve; on a terminal only `yes`
applies. A refused or cancelled apply changes nothing in Google."""

from __future__ import annotations

import pytest
from cli_support import ALL_APPLIED

from .support import run_on_terminal, run_reconciler

# The example's first plan: Google's 4 creates, 3 adopts and 7 updates, and in Entra ID the
# create of Sales and the adopt and update of Engineering.
FIRST_PLAN = "Plan: 5 to create, 3 to rename, 4 to adopt, 8 to update, 1 to unsuspend"
PROMPT = "Apply these changes? Only 'yes' is accepted"


def writes(stats: dict) -> dict[str, int]:
    """API calls that may change the tenant (anything but a list or a get)."""
    return {
        method: n
        for method, n in stats["by_method"].items()
        if not method.endswith((".list", ".get", ".listForProduct"))
    }


def test_without_a_terminal_apply_refuses_and_changes_nothing(emulator, state_dir, tmp_path):
    tenant = emulator()
    before = tenant.snapshot()
    run = run_reconciler("apply", state_dir, cwd=tmp_path)
    assert run.code == 1
    assert FIRST_PLAN in run.out  # the plan is shown, so the log says what was refused
    assert "no terminal to ask for approval" in run.err and "--auto-approve" in run.err
    assert "Traceback" not in run.text
    assert tenant.snapshot() == before
    assert writes(tenant.stats()) == {}


@pytest.mark.parametrize("answer", ["no", "y"])
def test_on_a_terminal_anything_but_yes_cancels(emulator, state_dir, tmp_path, answer):
    tenant = emulator()
    before = tenant.snapshot()
    run = run_on_terminal("apply", state_dir, answer=answer, cwd=tmp_path)
    assert run.code == 1
    assert FIRST_PLAN in run.out and PROMPT in run.out
    assert "Apply cancelled; nothing was changed." in run.err
    assert tenant.snapshot() == before
    assert writes(tenant.stats()) == {}


def test_on_a_terminal_yes_applies(emulator, state_dir, tmp_path, cli):
    emulator()
    run = run_on_terminal("apply", state_dir, answer="yes", cwd=tmp_path)
    assert run.code == 0, run.err
    assert PROMPT in run.out and ALL_APPLIED in run.out
    after = cli("plan", state_dir, "--detailed-exitcode")
    assert after.code == 0 and after.out.startswith("No changes.")


def test_auto_approve_applies_without_asking(state_dir, cli):
    before = cli("plan", state_dir, "--detailed-exitcode")
    assert before.code == 2 and FIRST_PLAN in before.out
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0, run.err
    assert ALL_APPLIED in run.out and PROMPT not in run.text
    after = cli("plan", state_dir, "--detailed-exitcode")
    assert after.code == 0 and after.out.startswith("No changes.")


def test_nothing_to_do_needs_no_approval(state_dir, cli):
    assert cli("apply", state_dir, "--auto-approve").code == 0
    run = cli("apply", state_dir)  # no terminal under pytest, and nothing to approve
    assert run.code == 0, run.err
    assert run.out.startswith("No changes.") and "no terminal" not in run.err

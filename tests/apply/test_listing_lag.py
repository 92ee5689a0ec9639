"""A plan right after an apply, while Google's listings are still behind its writes: the CLI
end to end against an emulator whose listings lag writes by 300 ms.

The emulator's clock moves only when the reconciler waits (its backoff and its waits for
listings to agree), so every read here is made "right after" the writes, however slow the
machine: what the tests see does not depend on timing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import ALL_APPLIED

from reconciler.google import client as client_module

from .support import Clock, edit

LAG_MS = 300


@pytest.fixture
def lagging(emulator, monkeypatch):
    """An emulator whose listings lag writes by 300 ms of its clock, and a reconciler whose
    waits move that clock (backoff cut twenty-fold, reads that disagree waited for up to
    30 s of that clock)."""
    tenant = emulator(listing_lag_ms=LAG_MS)
    clock = Clock()
    tenant.server.api.clock = clock
    policy = client_module.RetryPolicy
    monkeypatch.setattr(
        client_module,
        "RetryPolicy",
        lambda: policy(base_s=0.05, cap_s=1.6, sleep=clock.sleep),
    )
    monkeypatch.delenv(client_module.SETTLE_ENV, raising=False)
    return tenant, clock


def test_a_plan_right_after_an_apply_reads_again_and_finds_nothing_to_do(lagging, state_dir, cli):
    tenant, clock = lagging
    applied = cli("apply", state_dir, "--auto-approve")
    assert applied.code == 0, applied.err
    assert ALL_APPLIED in applied.out

    after = cli("plan", state_dir, "--detailed-exitcode")
    assert after.code == 0, after.text
    assert after.out.startswith("No changes.")
    # The listings were behind: the plan read again what disagreed, then all of it.
    assert "Listings disagree: members.list " in after.err
    assert 0 < clock.waited < 30
    assert tenant.calls("directory.users.list") >= 3  # apply's plan, this one, and again


WRITES = (".insert", ".delete", ".patch", ".update", ".makeAdmin", ".undelete")


def test_an_apply_right_after_an_apply_changes_nothing(lagging, state_dir, cli):
    tenant, _ = lagging

    def writes() -> dict[str, int]:
        return {m: n for m, n in tenant.stats()["by_method"].items() if m.endswith(WRITES)}

    assert cli("apply", state_dir, "--auto-approve").code == 0
    before = writes()
    again = cli("apply", state_dir, "--auto-approve")
    assert again.code == 0, again.text
    assert again.out.startswith("No changes.")
    assert writes() == before


def test_access_git_grants_again_is_planned_from_what_is_not_what_was(
    lagging, state_dir: Path, cli
):
    """The apply removed james.wright from sales@; Git grants it again right away. A
    listing still behind the removal shows him a member: planning from it would leave him
    out, silently. The plan reads again and adds him."""
    assert cli("apply", state_dir, "--auto-approve").code == 0
    edit(
        state_dir / "groups" / "sales.yaml",
        "      - sofia.rossi@example.com\n",
        "      - sofia.rossi@example.com\n      - james.wright@example.com\n",
    )
    plan = cli("plan", state_dir, "--detailed-exitcode")
    assert plan.code == 2, plan.text
    assert "+ add james.wright@example.com to sales@example.com as MEMBER" in plan.out
    # That add and nothing else (the note on Lena, who has no Entra account, follows).
    summary = next(line for line in plan.out.splitlines() if line.startswith("Plan: "))
    assert summary == (
        "Plan: 0 to create, 0 to rename, 0 to adopt, 0 to update, 0 to unsuspend, "
        "0 to suspend, 0 to delete; members: 1 to add."
    )


def test_a_listing_that_stays_short_is_still_refused(lagging, state_dir, cli):
    tenant, clock = lagging
    tenant.server.configure(short_listing={"members": 1})
    plan = cli("plan", state_dir)
    assert plan.code == 1
    assert "refusing to plan from a partial listing" in plan.err
    assert "still so after reading again for 30.0 s" in plan.err
    assert clock.waited == pytest.approx(30.0)


def test_a_plan_right_after_creates_no_group_lists_reads_again(lagging, state_dir: Path, cli):
    """An apply creates an org unit and an account in no group: nothing the plan reads
    disagrees, but the lookups of planned creates find them (verify.py). The listings are
    behind, not short: the plan reads again and finds nothing to do."""
    tenant, clock = lagging
    assert cli("apply", state_dir, "--auto-approve").code == 0
    clock.now += 1.0  # the first apply's writes are listed by now
    edit(
        state_dir / "org_units.yaml",
        "org_units:\n",
        "org_units:\n  - path: /Labs\n    description: Research\n\n",
    )
    edit(
        state_dir / "bindings.yaml",
        "  - user: olivia.grant@example.com\n",
        "  - user: olivia.grant@example.com\n  - user: rita.labs@example.com\n",
    )
    with (state_dir / "users" / "executive.yaml").open("a", encoding="utf-8") as f:
        f.write(
            "\n  - email: rita.labs@example.com\n    given_name: Rita\n"
            "    family_name: Labs\n    org_unit: /Labs\n"
            "    onboarding: {notify: none}\n"  # no manager to mail her sign-in details to
        )
    applied = cli("apply", state_dir, "--auto-approve")
    assert applied.code == 0, applied.text
    # The unit, the account, and its license (the default), the account moments old.
    assert "Apply complete: 3 applied, 0 failed, 0 skipped." in applied.out
    waited = clock.waited
    before = tenant.calls("directory.orgunits.list")
    after = cli("plan", state_dir, "--detailed-exitcode")
    assert after.code == 0, after.text
    assert after.out.startswith("No changes.")
    assert "found by a get but not listed; reading again" in after.err
    assert "org unit /Labs" in after.err and "user rita.labs@example.com" in after.err
    assert 0 < clock.waited - waited < 30
    # The unit listing read again until it showed /Labs, then the whole read once more.
    assert tenant.calls("directory.orgunits.list") - before >= 3

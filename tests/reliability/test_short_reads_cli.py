"""A listing that ends early stops `plan` and `apply` with a clear error and changes nothing.

The emulator leaves the last items out of every listing of one collection; the fetch notices
(member counts, cross-checked references, an empty user list), or the check of every planned
create by key does (a group, org unit or user the plan would create exists), and the
commands exit 1.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from apply.support import EXAMPLE, Tenant, run_reconciler
from cli_support import git
from ruamel.yaml import YAML

from reconciler.google.client import SETTLE_ENV

PARTIAL_READ = "refusing to plan from"


@pytest.fixture(autouse=True)
def _refuse_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A short read here is no lagging listing: no waiting for it to catch up (the child
    processes inherit this), except where a test says otherwise."""
    monkeypatch.setenv(SETTLE_ENV, "0")


WRITES = ("insert", "update", "patch", "delete", "makeAdmin", "undelete")


@pytest.mark.parametrize(
    "short_listing",
    [
        {"users": 1},
        {"users": 1000},  # nothing listed at all
        {"members": 1},
        {"users": 1, "members": 1},
        {"domains": 1000},  # every tenant has a primary domain
    ],
    # A groups listing one short is covered in tests/google/test_short_reads.py: in the
    # example tenant the last group is unmanaged and no member of anything, so leaving it out
    # is undetectable and changes no plan. Groups and org units further short are below.
    ids=["users-one-short", "users-none", "members-one-short", "users-and-members", "domains-none"],
)
@pytest.mark.parametrize("command", [("plan",), ("apply", "--auto-approve")], ids=["plan", "apply"])
def test_a_short_listing_aborts_and_changes_nothing(state_dir, emulator, short_listing, command):
    tenant = emulator(short_listing=short_listing)
    before = tenant.snapshot()

    run = run_reconciler(*command, state_dir, cwd=state_dir.parent)

    assert run.code == 1, run.text
    assert PARTIAL_READ in run.err, run.err
    assert "Traceback" not in run.text and "internal error" not in run.text
    assert "Apply complete" not in run.out
    writes = {m: n for m, n in tenant.stats()["by_method"].items() if m.endswith(WRITES)}
    assert writes == {}
    assert tenant.snapshot() == before


def test_a_short_read_is_refused_after_waiting_for_the_listings(state_dir, emulator, monkeypatch):
    """By default a read that disagrees with itself is read again for a while (listings lag
    writes) before it is refused: the wait is bounded and said on stderr."""
    monkeypatch.setenv(SETTLE_ENV, "1")
    tenant = emulator(short_listing={"members": 1})
    run = run_reconciler("plan", state_dir, cwd=state_dir.parent)
    assert run.code == 1, run.text
    assert "Listings disagree: members.list " in run.err
    assert "still so after reading again for 1.0 s" in run.err
    assert tenant.stats()["by_method"]["directory.members.list"] > 10


def test_a_bad_settle_time_is_an_error(state_dir, emulator, monkeypatch):
    monkeypatch.setenv(SETTLE_ENV, "soon")
    emulator()
    run = run_reconciler("plan", state_dir, cwd=state_dir.parent)
    assert run.code == 1 and f"{SETTLE_ENV} must be a number of seconds" in run.err


def test_after_the_listing_recovers_the_plan_goes_ahead(state_dir, emulator, cli):
    """The refusal is no lasting state: once Google lists everything, plan works again."""
    tenant = emulator(short_listing={"members": 1})
    assert cli("plan", state_dir).code == 1
    tenant.server.configure(short_listing={})
    again = cli("plan", state_dir, "--detailed-exitcode")
    assert again.code == 2, again.text


def writes_made(tenant: Tenant) -> dict[str, int]:
    """API calls that change the tenant, by method (none may be made after a short read)."""
    return {m: n for m, n in tenant.stats()["by_method"].items() if m.endswith(WRITES)}


def assert_refused(run: Any, tenant: Tenant, before: dict[str, Any], *needles: str) -> None:
    assert run.code == 1, run.text
    assert PARTIAL_READ in run.err, run.err
    for needle in needles:
        assert needle in run.err, run.err
    assert "Traceback" not in run.text and "internal error" not in run.text
    assert "Apply complete" not in run.out
    assert writes_made(tenant) == {}
    assert tenant.snapshot() == before


# Listings short of what the diff matches on: each makes the plan create what exists, which
# the lookup by key of every planned create finds (groups.get, orgunits.get).
CREATES_OF_WHAT_EXISTS = [
    # sales@ and social@ left out: sales@ is in Git (a create), social@ is not (no change).
    ({"groups": 2}, ["group sales@example.com exists but was not listed"]),
    # No group listed at all: every exported group in Git plans as a create.
    (
        {"groups": 1000},
        ["group audit@example.com exists", "group finance@example.com exists", "more)"],
    ),
    # /Sales/Europe (the last by path) left out: Git declares it.
    ({"orgunits": 1}, ["org unit /Sales/Europe exists but was not listed"]),
    # Nothing listed: every unit Git declares and Google has.
    ({"orgunits": 1000}, ["org unit /Contractors exists"]),
]


@pytest.mark.parametrize(
    ("short_listing", "needles"),
    CREATES_OF_WHAT_EXISTS,
    ids=["groups-two-short", "groups-none", "orgunits-one-short", "orgunits-none"],
)
@pytest.mark.parametrize("command", [("plan",), ("apply", "--auto-approve")], ids=["plan", "apply"])
def test_a_planned_create_of_what_exists_aborts(
    state_dir, emulator, short_listing, needles, command
):
    tenant = emulator(short_listing=short_listing)
    before = tenant.snapshot()
    run = run_reconciler(*command, state_dir, cwd=state_dir.parent)
    assert_refused(run, tenant, before, *needles)
    # The groups or units were looked up by key: the calls that proved the listing short.
    by_method = tenant.stats()["by_method"]
    method = "groups" if "groups" in short_listing else "orgunits"
    assert by_method.get(f"directory.{method}.get", 0) >= 1


def test_a_saved_plan_is_checked_again_when_applied(state_dir, emulator, cli, tmp_path):
    """apply PLAN.json plans afresh: the lookups run again on the fresh plan's creates."""
    tenant = emulator()
    saved = tmp_path / "plan.json"
    assert cli("plan", state_dir, "--out", saved).code == 0
    tenant.server.configure(short_listing={"groups": 2})
    before = tenant.snapshot()
    run = cli("apply", saved)
    assert_refused(run, tenant, before, "group sales@example.com exists but was not listed")


def with_last_user(state_dir: Path, git_email: str, previous: str | None = None) -> dict:
    """Add zoe.zimmer@example.com to the tenant (she sorts last) and a bound user to Git:
    herself, or under a new address with her old one as a previous email; return the seed."""
    seed = YAML(typ="safe").load((EXAMPLE / "tenant.yaml").read_text(encoding="utf-8"))
    seed["users"].append(
        {
            "primaryEmail": "zoe.zimmer@example.com",
            "name": {"givenName": "Zoe", "familyName": "Zimmer"},
            "orgUnitPath": "/Operations",
        }
    )
    entry = (
        f"\n  - email: {git_email}\n    given_name: Zoe\n    family_name: Zimmer\n"
        "    org_unit: /Operations\n    onboarding: {notify: none}\n"  # no manager to mail
    )
    if previous:
        entry += f"    previous_emails: [{previous}]\n"
    with (state_dir / "users" / "operations.yaml").open("a", encoding="utf-8") as f:
        f.write(entry)
    with (state_dir / "bindings.yaml").open("a", encoding="utf-8") as f:
        f.write(f"  - user: {git_email}\n")
    return seed


@pytest.mark.parametrize("command", [("plan",), ("apply", "--auto-approve")], ids=["plan", "apply"])
def test_a_short_users_listing_that_would_create_an_existing_user(state_dir, emulator, command):
    """She is in no group, so no member cross-check can miss her: only the lookup can."""
    seed = with_last_user(state_dir, "zoe.zimmer@example.com")
    tenant = emulator(seed, short_listing={"users": 1})
    before = tenant.snapshot()
    run = run_reconciler(*command, state_dir, cwd=state_dir.parent)
    assert_refused(run, tenant, before, "user zoe.zimmer@example.com exists but was not listed")


def test_a_renamed_user_whose_old_account_was_not_listed(state_dir, emulator):
    """Without the lookup by previous email, apply would make a second account for her."""
    seed = with_last_user(state_dir, "zoe.new@example.com", previous="zoe.zimmer@example.com")
    tenant = emulator(seed, short_listing={"users": 1})
    before = tenant.snapshot()
    run = run_reconciler("apply", "--auto-approve", state_dir, cwd=state_dir.parent)
    assert_refused(
        run,
        tenant,
        before,
        "user zoe.new@example.com exists under its previous email zoe.zimmer@example.com",
    )
    assert "zoe.new@example.com" not in tenant.users()


def test_with_the_whole_listing_the_same_users_plan_as_usual(state_dir, emulator, cli):
    """The lookups refuse nothing real: listed in full, she is adopted, not created."""
    emulator(with_last_user(state_dir, "zoe.zimmer@example.com"))
    run = cli("plan", state_dir, "--detailed-exitcode")
    assert run.code == 2, run.text
    assert "adopt user zoe.zimmer@example.com" in run.out
    assert "create user zoe.zimmer" not in run.out


@pytest.mark.parametrize("command", [("plan",), ("apply", "--auto-approve")], ids=["plan", "apply"])
def test_a_targeted_plan_refuses_a_short_member_listing_too(state_dir, emulator, command):
    """The targeted read lists only the changed groups' members: one short listing among
    them stops the command as it stops a full one."""
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "the example"]):
        git(state_dir, *args)
    groups = state_dir / "groups" / "finance.yaml"
    text = groups.read_text(encoding="utf-8")
    old = "description: Invoices, expenses and payroll questions"
    assert text.count(old) == 1
    groups.write_text(text.replace(old, "description: Invoices and expenses"))
    tenant = emulator(short_listing={"members": 1})
    before = tenant.snapshot()

    run = run_reconciler(*command, state_dir, "--changed-since", "HEAD", cwd=state_dir.parent)

    assert run.code == 1, run.text
    # finance@ is what the change touches; audit@ is in every targeted plan (an entry there
    # expired): whichever is listed first is the one refused.
    assert re.search(r"members\.list (finance|audit)@example\.com: read", run.err), run.err
    assert PARTIAL_READ in run.err
    assert "Traceback" not in run.text and "Apply complete" not in run.out
    assert tenant.snapshot() == before

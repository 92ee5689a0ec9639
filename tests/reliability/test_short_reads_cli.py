"""A listing that ends early stops `plan` and `apply` with a clear error and changes nothing.

The emulator leaves the last items out of every listing of one collection; the fetch notices
(member counts, cross-checked references, an empty user list) and the commands exit 1.
"""

from __future__ import annotations

import pytest
from apply.support import run_reconciler

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
    ],
    # A groups listing one short is covered in tests/google/test_short_reads.py: in the
    # example tenant the last group is unmanaged and no member of anything, so leaving it out
    # is undetectable and changes no plan.
    ids=["users-one-short", "users-none", "members-one-short", "users-and-members"],
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

"""The offboarding steps of the plan (reconciler/plan/offboarding.py), on tiny States."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from reconciler.plan.diff import make_plan
from reconciler.plan.offboarding import OffboardingError
from reconciler.settings import Workspace
from reconciler.state import Credentials, Transfer, User

from .builder import group, have, member, rows, state, unit, want, workspace

# Drive and Calendar, each moved: what a transfer must hold to cover an account.
MOVED = (("55656082996", "completed"), ("435070579839", "completed"))

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ALL = {
    "sign_out": True,
    "revoke_tokens": True,
    "transfer_to": "manager",
    "delete_after_days": 30,
}
AFTER = "2026-05-15T00:00:02.500Z"  # a transfer requested right after the suspension
CREDS = Credentials(tokens=("app-1", "app-2"), asps=("7",), backup_codes=10)


def plan(desired, actual, ws: Workspace | None = None):
    return make_plan(desired, actual, ws or workspace(offboarding=ALL), now=NOW)


def leaver(name: str = "sam", **account) -> User:
    """An active account of ours, with tokens, no transfer yet, managed by boss."""
    values = {"credentials": CREDS, "transfers": (), "manager": "boss@x.io", **account}
    return have(name, **values)


def test_without_a_block_a_suspension_is_all():
    p = plan(state(want("sam", bound=False)), state(leaver()), workspace(offboarding=None))
    assert rows(p) == [("suspend", "user", "sam@x.io")]


def test_every_step_after_the_suspension_in_order_with_its_reason():
    p = plan(state(want("sam", bound=False), want("boss")), state(leaver(), have("boss")))
    assert rows(p) == [
        ("suspend", "user", "sam@x.io"),
        ("sign_out", "user", "sam@x.io"),
        (
            "revoke_tokens",
            "user",
            "sam@x.io",
            {
                "tokens": (("app-1", "app-2"), ()),
                "app_passwords": (("7",), ()),
                "backup_codes": (10, 0),
            },
        ),
        ("transfer_data", "user", "sam@x.io", {"to": (None, "boss@x.io")}),
    ]
    assert [c.reason for c in p.changes[1:]] == [
        "offboarding: sign_out",
        "offboarding: revoke_tokens",
        "offboarding: transfer_to manager",
    ]


def test_an_account_marked_as_ours_that_git_no_longer_names_is_offboarded_too():
    p = plan(state(want("boss")), state(leaver(), have("boss")))
    assert [r[0] for r in rows(p)] == ["suspend", "sign_out", "revoke_tokens", "transfer_data"]


def test_steps_run_once_what_google_and_the_marker_show_done_is_not_planned_again():
    done = leaver(
        suspended=True,
        suspended_at="2026-05-01T10:00:00Z",
        signed_out_at="2026-05-01T10:00:05Z",
        credentials=Credentials(),
        transfers=(
            Transfer(
                "t1", "inProgress", request_time="2026-05-01T10:00:06.120Z", applications=MOVED
            ),
        ),
    )
    p = plan(state(want("sam", bound=False), want("boss")), state(done, have("boss")))
    assert rows(p) == []


def test_a_suspension_newer_than_the_last_sign_out_signs_out_again():
    again = leaver(
        suspended=True,
        suspended_at="2026-05-02T10:00:00Z",
        signed_out_at="2026-05-01T10:00:05Z",
        credentials=Credentials(),
        transfers=(
            Transfer("t1", "completed", request_time="2026-05-02T10:00:00Z", applications=MOVED),
        ),
    )
    p = plan(state(want("sam", bound=False), want("boss")), state(again, have("boss")))
    assert rows(p) == [("sign_out", "user", "sam@x.io")]


def test_a_user_overrides_the_workspace_keys():
    sam = replace(want("sam", state="suspended"), offboarding={"transfer_to": "none"})
    p = plan(state(sam, want("boss")), state(leaver(), have("boss")))
    assert [r[0] for r in rows(p)] == ["suspend", "sign_out", "revoke_tokens"]


def test_transfer_to_an_address():
    ws = workspace(offboarding={"transfer_to": "keeper@x.io"})
    p = plan(state(want("sam", bound=False)), state(leaver(), have("keeper", owner=None)), ws)
    assert rows(p)[-1] == ("transfer_data", "user", "sam@x.io", {"to": (None, "keeper@x.io")})


@pytest.mark.parametrize(
    ("boss", "why"),
    [
        (have("boss", suspended=True), "who is not an active account"),
        (None, "who has no account"),
    ],
)
def test_a_recipient_who_is_not_an_active_account_is_an_error_naming_the_user(boss, why):
    accounts = [leaver()] + ([boss] if boss else [])
    with pytest.raises(OffboardingError) as raised:
        plan(state(want("sam", bound=False)), state(*accounts))
    assert "user sam@x.io: its data would go to boss@x.io" in str(raised.value)
    assert why in str(raised.value)


def test_a_failed_transfer_is_an_error_naming_the_user():
    failed = leaver(
        suspended=True,
        suspended_at="2026-05-01T00:00:00Z",
        transfers=(
            Transfer("t9", "failed", request_time="2026-05-01T00:00:02Z", applications=MOVED),
        ),
    )
    with pytest.raises(OffboardingError, match=r"user sam@x.io: the transfer of its data \(t9\)"):
        plan(state(want("sam", bound=False), want("boss")), state(failed, have("boss")))


def test_no_manager_is_an_error_naming_the_user():
    with pytest.raises(OffboardingError, match=r"user sam@x\.io: `transfer_to: manager`, but"):
        plan(state(want("sam", bound=False)), state(leaver(manager=None)))


# -- deleting ---------------------------------------------------------------------------------


def test_without_transfer_to_a_delete_waits_and_says_how_to_say_it():
    p = plan(state(want("x", state="deleted")), state(have("x")), workspace(offboarding=None))
    assert rows(p) == [("suspend", "user", "x@x.io")]
    assert "delete of x@x.io waits: no `transfer_to` is said" in p.notes[0]
    assert "`transfer_to: none`" in p.notes[0]


def test_a_delete_waits_for_the_transfer_and_the_days():
    deleted = [want("sam", state="deleted"), want("boss")]
    first = plan(state(*deleted), state(leaver(), have("boss")))
    assert [r[0] for r in rows(first)] == ["suspend", "sign_out", "revoke_tokens", "transfer_data"]
    assert first.notes == [
        "delete of sam@x.io waits: its data is not transferred yet (this plan requests the "
        "transfer); delete_after_days is 30: it is suspended in this plan first"
    ]
    offboarded = leaver(
        suspended=True,
        suspended_at="2026-05-15T00:00:00Z",
        signed_out_at="2026-05-15T00:00:01Z",
        credentials=Credentials(),
    )
    running = replace(
        offboarded,
        transfers=(Transfer("t1", "inProgress", request_time=AFTER, applications=MOVED),),
    )
    second = plan(state(*deleted), state(running, have("boss")))
    assert rows(second) == []
    assert "its data transfer (t1) is inProgress" in second.notes[0]
    assert "it may be deleted from 2026-06-14T00:00:00Z" in second.notes[0]
    done = replace(
        offboarded, transfers=(Transfer("t1", "completed", request_time=AFTER, applications=MOVED),)
    )
    assert rows(plan(state(*deleted), state(done, have("boss")))) != [
        ("delete", "user", "sam@x.io")
    ]
    ready = replace(
        done,
        suspended_at="2026-04-01T00:00:00Z",
        transfers=(
            Transfer("t1", "completed", request_time="2026-04-01T00:00:00Z", applications=MOVED),
        ),
    )
    assert rows(plan(state(*deleted), state(ready, have("boss")))) == [
        ("delete", "user", "sam@x.io")
    ]


def rehired(**account) -> User:
    """Sam, offboarded in 2025 (the transfer then completed), rehired, suspended again on
    2026-05-01 (the marker's suspendedAt)."""
    old = Transfer("t0", "completed", request_time="2025-03-01T09:00:00Z", applications=MOVED)
    values = {"suspended": True, "suspended_at": "2026-05-01T00:00:00Z", "transfers": (old,)}
    return leaver(**(values | account))


def test_a_transfer_older_than_the_latest_suspension_is_requested_again():
    p = plan(state(want("sam", bound=False), want("boss")), state(rehired(), have("boss")))
    assert ("transfer_data", "user", "sam@x.io", {"to": (None, "boss@x.io")}) in rows(p)
    # One requested at or after the suspension covers it: not requested again.
    new = Transfer("t1", "inProgress", request_time="2026-05-01T00:00:00Z", applications=MOVED)
    covered = rehired(transfers=(*rehired().transfers, new))
    p = plan(state(want("sam", bound=False), want("boss")), state(covered, have("boss")))
    assert "transfer_data" not in [r[0] for r in rows(p)]


def test_a_transfer_older_than_the_latest_suspension_does_not_let_the_delete_go():
    ws = workspace(offboarding=ALL | {"delete_after_days": 0})
    deleted = state(want("sam", state="deleted"), want("boss"))
    p = plan(deleted, state(rehired(), have("boss")), ws)
    assert ("delete", "user", "sam@x.io") not in rows(p)
    assert "transfer_data" in [r[0] for r in rows(p)]
    assert "delete of sam@x.io waits: its data is not transferred yet" in p.notes[0]
    # Active again (rehired), Git deletes it: the old transfer covers nothing either.
    active = rehired(suspended=False)
    p = plan(deleted, state(active, have("boss")), ws)
    assert [r[0] for r in rows(p)] == ["suspend", "sign_out", "revoke_tokens", "transfer_data"]
    done = Transfer("t1", "completed", request_time="2026-05-02T00:00:00Z", applications=MOVED)
    ready = rehired(transfers=(*rehired().transfers, done), credentials=Credentials())
    assert rows(plan(deleted, state(ready, have("boss")), ws)) == [("delete", "user", "sam@x.io")]


def test_without_a_suspension_date_no_transfer_covers_it_and_the_plan_records_the_date():
    # Suspended outside this tool, signed out by it once, its data transferred at some time.
    old = rehired(
        suspended_at=None, signed_out_at="2026-05-01T00:00:00Z", credentials=Credentials()
    )
    p = plan(state(want("sam", bound=False), want("boss")), state(old, have("boss")))
    assert [r[0] for r in rows(p)] == ["suspend", "sign_out", "transfer_data"]
    assert p.changes[0].reason.startswith("offboarding: to record the suspension date")
    # After that apply: the date recorded, the transfer and sign-out after it; nothing left.
    after = replace(
        old,
        suspended_at="2026-06-01T12:00:00Z",
        signed_out_at="2026-06-01T12:00:01Z",
        transfers=(
            *old.transfers,
            Transfer("t1", "inProgress", "1", "2026-06-01T12:00:02Z", applications=MOVED),
        ),
    )
    assert (
        rows(plan(state(want("sam", bound=False), want("boss")), state(after, have("boss")))) == []
    )


def test_a_suspension_without_a_date_is_dated_before_the_days_count():
    old = have("x", suspended=True)  # suspended before offboarding, or by someone else
    ws = workspace(offboarding={"transfer_to": "none", "delete_after_days": 7})
    p = plan(state(want("x", state="deleted")), state(old), ws)
    assert rows(p) == [("suspend", "user", "x@x.io")]
    assert "no suspension date is recorded" in p.notes[0]


def test_transfer_to_none_and_no_days_deletes_at_once():
    ws = workspace(offboarding={"transfer_to": "none"})
    p = plan(state(want("x", state="deleted")), state(have("x")), ws)
    assert rows(p) == [("delete", "user", "x@x.io")]


# -- groups and org units ---------------------------------------------------------------------


def test_remove_from_groups_takes_a_suspended_user_out_of_every_managed_group():
    ws = workspace(offboarding={"remove_from_groups": True})
    jo = want("jo", state="suspended")
    desired = state(jo, want("ann"), group("team", member("jo"), member("ann"), additive=True))
    actual = state(have("jo"), have("ann"), group("team", member("jo"), member("ann")))
    p = plan(desired, actual, ws)
    assert ("remove_member", "membership", "team@x.io/jo@x.io", "MEMBER") in rows(p)
    removal = next(c for c in p.changes if c.action == "remove_member")
    assert removal.reason == "offboarding: remove_from_groups"


def test_org_unit_moves_suspended_accounts_with_an_update():
    ws = workspace(offboarding={"org_unit": "/Former staff"})
    desired = state(
        want("jo", state="suspended", org_unit="/Eng"), unit("/Eng"), unit("/Former staff")
    )
    actual = state(have("jo", org_unit="/Eng"), unit("/Eng"), unit("/Former staff"))
    p = plan(desired, actual, ws)
    assert ("update", "user", "jo@x.io", {"org_unit": ("/Eng", "/Former staff")}) in rows(p)
    orphan = plan(state(unit("/Former staff")), state(have("old"), unit("/Former staff")), ws)
    assert ("update", "user", "old@x.io", {"org_unit": ("/", "/Former staff")}) in rows(orphan)


# -- security timestamps ----------------------------------------------------------------------


def test_security_timestamps_act_once_and_only_once_passed():
    jo = replace(
        want("jo"),
        sign_out_after="2026-05-31T09:00:00Z",
        password_change_after="2026-05-31T09:00:00Z",
    )
    p = plan(state(jo), state(have("jo")), workspace(offboarding=None))
    assert rows(p) == [
        ("sign_out", "user", "jo@x.io"),
        ("require_password_change", "user", "jo@x.io"),
    ]
    assert p.changes[0].reason == "sign_out_after: 2026-05-31T09:00:00Z"
    done = have(
        "jo", signed_out_at="2026-05-31T10:00:00Z", password_change_at="2026-05-31T10:00:00Z"
    )
    assert rows(plan(state(jo), state(done), workspace(offboarding=None))) == []
    future = replace(jo, sign_out_after="2026-07-01T00:00:00Z", password_change_after=None)
    assert rows(plan(state(future), state(have("jo")), workspace(offboarding=None))) == []


# -- limits -----------------------------------------------------------------------------------


def test_the_suspension_limit_counts_offboarded_accounts():
    done = leaver(suspended=True, suspended_at="2026-05-01T00:00:00Z", transfers=())
    ws = workspace(offboarding=ALL, max_suspend=0)
    p = plan(state(want("sam", bound=False), want("boss")), state(done, have("boss")), ws)
    assert "suspend" not in [r[0] for r in rows(p)]
    assert p.over_limits == ["1 suspensions and offboardings planned; the limit is 0"]


def _ready(*transfers: Transfer) -> User:
    """Sam, suspended on 2026-04-01 with everything else done: only his transfers say
    whether the delete (days long past) may go."""
    return leaver(
        suspended=True,
        suspended_at="2026-04-01T00:00:00Z",
        signed_out_at="2026-04-01T00:00:01Z",
        credentials=Credentials(),
        transfers=transfers,
    )


def test_a_transfer_of_drive_alone_does_not_let_the_delete_go():
    """An admin may transfer Drive alone by hand: Sam's Calendar data would go with him."""
    deleted = [want("sam", state="deleted"), want("boss")]
    drive_only = Transfer(
        "t5", "completed", request_time="2026-04-02T00:00:00Z", applications=MOVED[:1]
    )
    p = plan(state(*deleted), state(_ready(drive_only), have("boss")))
    assert ("delete", "user", "sam@x.io") not in rows(p)
    assert [r[:3] for r in rows(p)] == [("transfer_data", "user", "sam@x.io")]  # a whole one


def test_a_transfer_completed_with_one_application_failed_is_failed():
    deleted = [want("sam", state="deleted"), want("boss")]
    half = Transfer(
        "t6",
        "completed",
        request_time="2026-04-02T00:00:00Z",
        applications=(MOVED[0], ("435070579839", "failed")),
    )
    with pytest.raises(OffboardingError, match=r"the transfer of its data \(t6\) failed"):
        plan(state(*deleted), state(_ready(half), have("boss")))


@pytest.mark.parametrize(
    ("requested", "covers"),
    [
        ("2026-03-31T23:56:00Z", True),  # 4 minutes before: the same apply, clocks apart
        ("2026-03-31T23:54:00Z", False),  # 6 minutes before: an earlier transfer
    ],
)
def test_a_transfer_a_few_minutes_before_the_recorded_suspension_covers_it(requested, covers):
    """The suspension date is the tool's clock, requestTime Google's: a transfer the same
    apply requested on a clock behind covers the suspension, and no second one is asked."""
    deleted = [want("sam", state="deleted"), want("boss")]
    done = Transfer("t7", "completed", request_time=requested, applications=MOVED)
    p = plan(state(*deleted), state(_ready(done), have("boss")))
    assert (("delete", "user", "sam@x.io") in rows(p)) is covers
    assert (("transfer_data", "user", "sam@x.io") in [r[:3] for r in rows(p)]) is not covers


def test_an_unreadable_suspension_date_is_recorded_again_without_a_transfer():
    """`suspendedAt` that reads as no date, with `transfer_to: none`: the delete waits for
    delete_after_days, so the plan records a date (it said so, and did not)."""
    user = want("sam", state="deleted", offboarding={"transfer_to": "none"})
    account = replace(_ready(), suspended_at="01/01/2026")
    p = plan(state(user, want("boss")), state(account, have("boss")))
    assert ("suspend", "user", "sam@x.io") in rows(p)
    assert "delete of sam@x.io waits" in p.notes[0]

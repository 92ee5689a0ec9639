"""License changes of the plan (reconciler/plan/diff_licenses.py), on tiny States: what Git
decides (User.license, resolved from the rules by the loader) against what Google holds."""

from __future__ import annotations

from dataclasses import replace

from reconciler.plan.diff import make_plan
from reconciler.plan.kinds import LicenseChange, change_from_json
from reconciler.plan.render import render_text, summary_line
from reconciler.state import State, Transfer

from .builder import THEIRS, have, rows, state, want, workspace

# Drive and Calendar, each moved: what a transfer must hold to cover an account.
MOVED = (("55656082996", "completed"), ("435070579839", "completed"))

STARTER, STANDARD, PLUS = "1010020027", "1010020028", "1010020025"
BLOCK = {"default": "business-standard"}


def held(s: State, **licenses: str) -> State:
    """`s` with Google's license assignments read: local part -> SKU id."""
    s.licenses = {f"{name}@x.io": sku for name, sku in licenses.items()}
    return s


def plan(desired: State, actual: State, **block):
    return make_plan(desired, actual, workspace(licenses={**BLOCK, **block}))


def license_rows(p):
    return [r for r in rows(p) if r[1] == "license"]


def test_assign_change_and_revoke_to_what_git_decides():
    desired = state(
        want("ana", license=STANDARD), want("jo", license=PLUS), want("sam", license="none")
    )
    actual = held(state(have("ana"), have("jo"), have("sam")), jo=STANDARD, sam=STARTER)
    assert license_rows(plan(desired, actual)) == [
        ("revoke_license", "license", "sam@x.io", {"sku": (STARTER, "none")}),
        ("change_license", "license", "jo@x.io", {"sku": (STANDARD, PLUS)}),
        ("assign_license", "license", "ana@x.io", {"sku": ("none", STANDARD)}),
    ]


def test_a_license_that_matches_or_that_git_does_not_decide_is_left_alone():
    desired = state(want("ana", license=STANDARD), want("jo"))  # jo: no rule, no default
    actual = held(state(have("ana"), have("jo")), ana=STANDARD, jo=PLUS)
    assert license_rows(plan(desired, actual)) == []


def test_without_a_block_or_a_read_nothing_about_licenses_is_planned():
    desired = state(want("ana", license=STANDARD))
    actual = held(state(have("ana")))
    assert license_rows(make_plan(desired, actual, workspace())) == []
    assert license_rows(plan(desired, state(have("ana")))) == []  # licenses not read: None


def test_a_new_account_gets_its_license_after_it_is_created():
    p = plan(state(want("new", license=PLUS)), held(state()))
    assert [(c.action, c.kind) for c in p.changes] == [
        ("create", "user"),
        ("assign_license", "license"),
    ]
    assert p.changes[1].needs() == ["new@x.io"]  # skipped if the create fails


def test_a_renamed_account_is_licensed_under_its_new_address():
    desired = state(want("ana.new", previous=("ana",), license=PLUS))
    actual = held(state(have("ana")), ana=STANDARD)
    assert license_rows(plan(desired, actual)) == [
        ("change_license", "license", "ana.new@x.io", {"sku": (STANDARD, PLUS)})
    ]


def test_accounts_this_repository_does_not_manage_are_never_touched():
    desired = state(want("ana", license=PLUS), want("bo", license=PLUS, bound=False))
    actual = held(state(have("ana", owner=THEIRS), have("bo", owner=None), have("eve")))
    actual.licenses = {"ana@x.io": STANDARD, "bo@x.io": STANDARD, "zed@x.io": STARTER}
    # ana's account is another repository's, bo's is unmarked and not bound, zed has none
    # of Google's accounts here, eve (ours, not in Git) holds no license to give back.
    assert license_rows(plan(desired, actual, on_suspend="revoke")) == []


def test_a_suspended_account_keeps_its_license_unless_on_suspend_revoke():
    desired = state(want("sam", state="suspended", license=PLUS))
    actual = held(state(have("sam")), sam=PLUS)
    assert license_rows(plan(desired, actual)) == []
    revoked = plan(desired, actual, on_suspend="revoke")
    assert license_rows(revoked) == [
        ("revoke_license", "license", "sam@x.io", {"sku": (PLUS, "none")})
    ]
    change = next(c for c in revoked.changes if c.kind == "license")
    assert change.reason == "suspended; licenses.on_suspend: revoke"
    # Revocations come before any assignment (the seats they free are there for new
    # hires), so before the suspension too: the plan is applied whole or refused whole.
    assert [c.action for c in revoked.changes] == ["revoke_license", "suspend"]


def test_an_account_no_longer_in_git_gives_its_license_back_with_revoke():
    actual = held(state(have("eve")), eve=STARTER)
    assert license_rows(plan(state(), actual, on_suspend="revoke")) == [
        ("revoke_license", "license", "eve@x.io", {"sku": (STARTER, "none")})
    ]


def test_the_revocation_waits_for_the_data_transfer_offboarding_asks_for():
    sam = want("sam", bound=False, offboarding={"transfer_to": "boss@x.io"})
    desired = state(sam, want("boss"))
    pending = Transfer("t1", "inProgress", applications=MOVED)
    actual = held(state(have("sam", transfers=(pending,)), have("boss")), sam=PLUS)
    waiting = plan(desired, actual, on_suspend="revoke")
    assert license_rows(waiting) == []
    assert "license of sam@x.io (business-plus) is kept until its data transfer has completed" in (
        waiting.notes
    )
    # A transfer completed before the latest suspension (a rehire) leaves out what came
    # since: the license waits for one requested at or after it.
    stale = Transfer("t0", "completed", request_time="2025-01-01T00:00:00Z", applications=MOVED)
    suspended = replace(
        actual.users["sam@x.io"], suspended=True, suspended_at="2026-05-01T00:00:00Z"
    )
    actual.users["sam@x.io"] = replace(suspended, transfers=(stale,))
    assert license_rows(plan(desired, actual, on_suspend="revoke")) == []
    done = Transfer("t1", "completed", request_time="2026-05-01T00:00:01Z", applications=MOVED)
    actual.users["sam@x.io"] = replace(suspended, transfers=(stale, done))
    assert license_rows(plan(desired, actual, on_suspend="revoke")) == [
        ("revoke_license", "license", "sam@x.io", {"sku": (PLUS, "none")})
    ]


def test_a_plan_past_the_seats_bought_is_unsafe_naming_the_sku_and_counts():
    desired = state(want("ana", license=PLUS), want("jo", license=PLUS))
    actual = held(state(have("ana"), have("jo"), have("eve", owner=None)), eve=PLUS)
    p = plan(desired, actual, seats={"business-plus": 2})
    assert p.unsafe
    assert p.over_limits == [
        "3 business-plus licenses after this plan (2 assigned by it); licenses.seats allows 2"
    ]
    assert not plan(desired, actual, seats={"business-plus": 3}).unsafe


def test_a_tenant_already_over_its_seats_is_not_refused_for_changes_that_add_none():
    desired = state(want("ana", license="none"))
    actual = held(state(have("ana"), have("eve", owner=None)), ana=PLUS, eve=PLUS)
    assert not plan(desired, actual, seats={"business-plus": 1}).unsafe


def test_revocations_past_the_safety_limit_need_allow_unsafe():
    desired = state(*(want(n, license="none") for n in ("a", "b", "c")))
    actual = held(state(*(have(n) for n in ("a", "b", "c"))), a=PLUS, b=PLUS, c=PLUS)
    ws = workspace(licenses=BLOCK, max_license_revocations=2)
    p = make_plan(desired, actual, ws)
    assert p.over_limits == ["3 license revocations and changes planned; the limit is 2"]


def test_license_changes_read_in_the_plan_and_round_trip_through_json():
    desired = state(want("ana", license=PLUS), want("jo", license=STARTER))
    actual = held(state(have("ana"), have("jo")), jo=STANDARD)
    p = plan(desired, actual)
    text = render_text(p)
    assert "  + assign a license to ana@x.io\n      sku: business-plus (1010020025)" in text
    assert (
        "  ~ change the license of jo@x.io\n"
        "      sku: business-standard (1010020028) -> business-starter (1010020027)"
    ) in text
    assert summary_line(p).endswith("; licenses: 1 to assign, 1 to change.")
    for change in p.changes:
        data = change.to_json()
        assert data["product"] == "Google-Apps" and data["kind"] == "license"
        assert change_from_json(data) == change
        assert isinstance(change_from_json(data), LicenseChange)


def test_the_license_of_a_protected_account_or_a_super_admin_is_never_revoked():
    desired = state(want("ana", state="suspended"), want("root", license="none"))
    actual = held(state(have("ana"), have("root", admin=True), have("gone", admin=True)))
    actual.licenses = {"ana@x.io": PLUS, "root@x.io": PLUS, "gone@x.io": PLUS}
    ws = workspace(licenses={"on_suspend": "revoke"}, protected=("ana",))
    p = make_plan(desired, actual, ws)
    refused = sorted((c.action, c.key) for c in p.refused)
    assert refused == [
        ("revoke_license", "ana@x.io"),
        ("revoke_license", "gone@x.io"),  # a super admin no longer in Git
        ("revoke_license", "root@x.io"),
        ("suspend", "ana@x.io"),
        ("suspend", "gone@x.io"),
    ]
    assert license_rows(p) == [] and p.unsafe


def test_a_suspended_account_git_says_none_for_gives_its_license_back_even_with_keep():
    desired = state(want("sam", state="suspended", license="none"), want("jo", state="suspended"))
    actual = held(state(have("sam"), have("jo")), sam=PLUS, jo=PLUS)
    p = plan(desired, actual)  # on_suspend: keep
    assert license_rows(p) == [("revoke_license", "license", "sam@x.io", {"sku": (PLUS, "none")})]
    assert next(c for c in p.changes if c.kind == "license").reason == ("suspended; license: none")
    # A suspended account is never given, or moved to, a license.
    moved = state(want("sam", state="suspended", license=STARTER))
    assert license_rows(plan(moved, held(state(have("sam")), sam=PLUS))) == []
    assert license_rows(plan(moved, held(state(have("sam"))))) == []


def test_changes_of_sku_count_with_the_revocations_against_the_limit():
    desired = state(
        want("a", license=STARTER), want("b", license=STARTER), want("c", license="none")
    )
    actual = held(state(*(have(n) for n in ("a", "b", "c"))), a=PLUS, b=PLUS, c=PLUS)
    p = make_plan(desired, actual, workspace(licenses=BLOCK, max_license_revocations=2))
    assert p.over_limits == ["3 license revocations and changes planned; the limit is 2"]

"""Protection follows accounts, not addresses: each protected address is resolved to an
account by primary email, alias, then Git's entry for it, and any suspension, rename or
deletion of that account is refused whatever address the change names. An address that
finds no account refuses the plan, unless Git creates the account in this plan (and the
plan suspends no marked account Git does not name: that could be the protected one,
renamed in Google with its alias removed)."""

from __future__ import annotations

import pytest

from reconciler.plan.diff import make_plan
from reconciler.plan.safety import UnmatchedProtected

from .builder import have, heads, row, state, want, workspace


def refused(plan) -> list[tuple[tuple, str]]:
    return [(row(c), c.reason) for c in plan.refused]


def test_an_alias_protects_its_account():
    """protected: [ceo@]: ceo@ is Olivia's alias; Git unbinding her would suspend her."""
    plan = make_plan(
        state(want("olivia", bound=False)),
        state(have("olivia", aliases=("ceo",))),
        workspace(protected=("ceo",)),
    )
    assert plan.changes == []
    assert refused(plan) == [
        (
            ("suspend", "user", "olivia@x.io"),
            "refused: olivia@x.io is protected (workspace.yaml: protected lists its alias "
            "ceo@x.io); no longer bound",
        )
    ]


def test_an_account_renamed_in_google_keeps_its_protection_through_the_old_address():
    """Google keeps the old primary as an alias: the break-glass admin Git does not name,
    renamed to root@, is not suspended as "marked as ours but not in Git"."""
    plan = make_plan(
        state(), state(have("root", aliases=("admin",))), workspace(protected=("admin",))
    )
    assert plan.changes == []
    assert [row(c) for c in plan.refused] == [("suspend", "user", "root@x.io")]
    assert "lists its alias admin@x.io" in plan.refused[0].reason


def test_git_renaming_it_back_is_refused_too():
    plan = make_plan(
        state(want("admin")),
        state(have("root", aliases=("admin",))),
        workspace(protected=("admin",)),
    )
    # Found by its alias: the rename carries the alias it removes first.
    assert [row(c) for c in plan.refused] == [
        (
            "rename",
            "user",
            "admin@x.io",
            "root@x.io",
            {"aliases": (("admin@x.io",), ("root@x.io",))},
        )
    ]


def test_renamed_with_the_alias_removed_and_git_binding_it_the_plan_is_refused():
    """Nothing links root@ to admin@ any more: the plan would create a blank admin@ and
    suspend root@. It is refused, naming both."""
    with pytest.raises(UnmatchedProtected) as raised:
        make_plan(state(want("admin")), state(have("root")), workspace(protected=("admin",)))
    [unmatched] = raised.value.unmatched
    assert (unmatched.index, unmatched.address) == (0, "admin@x.io")
    assert unmatched.message.startswith(
        "protected: 'admin@x.io' matches no account in Google, and the plan would create it "
        "while suspending root@x.io (marked as ours but not in Git)"
    )


def test_a_previous_email_in_git_links_the_protected_address_to_its_account():
    """Git's entry for admin@ says the account was root@: protection holds for root@."""
    plan = make_plan(
        state(want("admin", previous=("root",), state="suspended")),
        state(have("root")),
        workspace(protected=("admin",)),
    )
    assert {row(c)[:2] for c in plan.refused} == {("rename", "user"), ("suspend", "user")}
    assert all(
        "root@x.io is protected (workspace.yaml: protected lists admin@x.io, its email in Git)"
        in c.reason
        for c in plan.refused
    )
    assert heads(plan.changes) == []


def test_the_protected_address_as_a_previous_email_in_git_finds_the_renamed_account():
    """Git renamed admin@ to it@ (previous_emails: [admin@]) and Google forgot admin@."""
    plan = make_plan(
        state(want("it", previous=("admin",), state="deleted")),
        state(have("it")),
        workspace(protected=("admin",)),
    )
    assert refused(plan) == [
        (
            ("delete", "user", "it@x.io"),
            "refused: it@x.io is protected (workspace.yaml: protected lists admin@x.io, a "
            "previous email in Git)",
        )
    ]


@pytest.mark.parametrize(
    "desired",
    [
        pytest.param(state(), id="not-in-git"),
        pytest.param(state(want("ghost", bound=False)), id="unbound"),
        pytest.param(state(want("ghost", state="staged")), id="staged"),
        pytest.param(state(want("ghost", state="suspended")), id="suspended"),
    ],
)
def test_a_protected_address_that_finds_no_account_refuses_the_plan(desired):
    with pytest.raises(UnmatchedProtected) as raised:
        make_plan(desired, state(have("admin")), workspace(protected=("admin", "ghost")))
    [unmatched] = raised.value.unmatched
    assert (unmatched.index, unmatched.address) == (1, "ghost@x.io")
    assert "protected: 'ghost@x.io' matches no account in Google" in unmatched.message
    assert "workspace.yaml: protected: 'ghost@x.io'" in str(raised.value)


def test_a_protected_account_git_creates_in_this_plan_is_fine():
    plan = make_plan(
        state(want("svc")), state(have("admin", owner=None)), workspace(protected=("svc",))
    )
    assert heads(plan.changes) == [("create", "user", "svc@x.io")]
    assert plan.refused == []


def test_protection_by_account_leaves_other_changes_alone():
    """Updates of the protected account, and other accounts' suspensions, still plan."""
    plan = make_plan(
        state(want("root", aliases=("admin",), title="Admin"), want("jo", bound=False)),
        state(have("root", aliases=("admin",)), have("jo")),
        workspace(protected=("admin",)),
    )
    assert heads(plan.changes) == [("update", "user", "root@x.io"), ("suspend", "user", "jo@x.io")]
    assert plan.refused == []

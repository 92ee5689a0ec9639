"""The pieces of a targeted plan that need no tenant: which changes a scope covers, the
desired State restricted to it, which workspace.yaml changes force a full plan, and the
safety limits' percentages taken of Git's counts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconciler.changed_since import fingerprints, workspace_changes
from reconciler.plan.diff import make_plan
from reconciler.plan.kinds import GroupChange, MembershipChange, OrgUnitChange, UserChange
from reconciler.scope import Scope, git_bases, restrict, safety_bases, touches
from reconciler.state import Origin

from .builder import addr, group, have, member, state, want, wants, workspace


def scope(users=(), groups=()) -> Scope:
    return Scope("HEAD", "0" * 40, {addr(u) for u in users}, {addr(g) for g in groups})


def test_a_scope_covers_its_users_groups_their_members_and_every_org_unit() -> None:
    covered = scope(users=["jo"], groups=["team"])
    assert touches(UserChange("update", addr("jo")), covered)
    assert touches(UserChange("rename", addr("joe"), from_=addr("jo")), covered)
    assert not touches(UserChange("update", addr("ann")), covered)
    assert touches(GroupChange("update", addr("team")), covered)
    assert not touches(GroupChange("update", addr("other")), covered)
    team_member = MembershipChange(
        "add_member", f"{addr('team')}/{addr('ann')}", group=addr("team"), member=addr("ann")
    )
    assert touches(team_member, covered)  # a member of a covered group, whoever it is
    other_member = MembershipChange(
        "add_member", f"{addr('other')}/{addr('jo')}", group=addr("other"), member=addr("jo")
    )
    assert not touches(other_member, covered)
    assert touches(OrgUnitChange("create", "/Sales"), covered)


def test_restricting_keeps_the_scope_and_every_org_unit() -> None:
    desired = state(*wants("jo", "ann"), group("team", member("jo")), group("other"))
    desired.org_units = {"/": None, "/Sales": None}  # type: ignore[dict-item]
    kept = restrict(desired, scope(users=["jo"], groups=["team"]))
    assert set(kept.users) == {addr("jo")}
    assert set(kept.groups) == {addr("team")}
    assert kept.org_units == desired.org_units
    assert set(desired.users) == {addr("jo"), addr("ann")}  # the original is untouched


def test_fingerprints_ignore_the_source_line_and_see_every_other_field() -> None:
    jo = want("jo", title="Engineer")
    moved = replace(jo, origin=Origin("users.yaml", 40))  # type: ignore[arg-type]
    assert fingerprints(state(jo))["users"] == fingerprints(state(moved))["users"]
    for changed in (
        replace(jo, title="Lead"),
        replace(jo, license="business-plus"),  # left out of equality, still a change
        replace(jo, offboarding={"transfer_to": "none"}),
        replace(jo, bound=False),
    ):
        assert fingerprints(state(changed))["users"] != fingerprints(state(jo))["users"]
    team = group("team", member("jo"))
    assert fingerprints(
        state(replace(team, settings={"who_can_join": "INVITED_CAN_JOIN"}))
    ) != fingerprints(state(team))


@pytest.mark.parametrize(
    ("change", "moved"),
    [
        ({"group_settings": {"who_can_join": "INVITED_CAN_JOIN"}}, []),
        ({"licenses": {"product": "Google-Apps", "default": "business-plus"}}, []),
        ({"licenses": {"product": "Google-Apps", "seats": {"business-plus": 3}}}, ["licenses"]),
        ({"safety": {"max_suspend": 1}}, ["safety"]),
        ({"protected": [addr("jo")]}, ["protected"]),
        ({"directory": {"domains": ["example.com"]}}, ["directory"]),
    ],
)
def test_which_workspace_changes_need_a_full_plan(change, moved) -> None:
    base = workspace(licenses={"product": "Google-Apps", "default": "business-standard"})
    data = base.model_dump(exclude_unset=True)
    for key, value in change.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    after = type(base).model_validate(data)
    assert workspace_changes(base, after) == moved


def test_a_targeted_plans_percentages_are_of_what_git_holds() -> None:
    # Two of the four accounts read are suspended: 50% of what was read, 2% of what Git
    # binds (100 accounts).
    ws = workspace(max_suspend_percent=10, percent_floor=1)
    desired = state(*wants("a", "b"))
    actual = state(*(have(n) for n in ("a", "b", "gone1", "gone2")))
    assert any("suspensions" in why for why in make_plan(desired, actual, ws).over_limits)
    git = state(*wants(*(f"u{i}" for i in range(100))))
    actual.bases = git_bases(git)
    assert actual.bases["accounts"] == 100
    assert make_plan(desired, actual, ws).over_limits == []


def test_the_bases_are_gits_counts_at_the_revision() -> None:
    # Unbinding many cannot shrink the base, binding many cannot inflate it.
    now = {"accounts": 37, "members": 10, "licensed": 0}
    then = {"accounts": 20, "members": 12, "licensed": 0}
    assert safety_bases(now, then) == then
    assert safety_bases(now, {}) == now

"""Entra ID changes of the plan (reconciler/plan/diff_entra.py), on tiny States: the groups
Git exports (`State.entra_groups`) against what Graph lists (`State.entra`)."""

from __future__ import annotations

import pytest

from reconciler.entra.state import EntraActual, EntraGroup, EntraGroupRecord, EntraMember
from reconciler.plan.diff import make_plan
from reconciler.plan.kinds import change_from_json
from reconciler.plan.render import render_text, summary_line
from reconciler.problems import ReconcilerError
from reconciler.state import State

from .builder import OURS, THEIRS, have, state, want, workspace
from .simulate import simulate

ADA, BO, CY = "ada@x.io", "bo@x.io", "cy@x.io"
USERS = {ADA: "id-ada", BO: "id-bo", CY: "id-cy"}


def tenant(*groups: EntraGroupRecord, members=None, users=USERS) -> EntraActual:
    return EntraActual(
        users_by_upn=dict(users),
        groups=list(groups),
        members={k: tuple(v) for k, v in (members or {}).items()},
    )


def record(name, id="g1", owner=OURS, **kw) -> EntraGroupRecord:
    return EntraGroupRecord(id=id, display_name=name, owner=owner, **kw)


def user(email: str) -> EntraMember:
    return EntraMember(USERS[email], "user", email)


def plan_of(wanted: list[EntraGroup], actual: EntraActual, **ws):
    # Google holds the same three users as Git (protected addresses find their accounts).
    desired = state(want("ada"), want("bo"), want("cy"))
    desired.entra_groups = {g.display_name: g for g in wanted}
    google = state(have("ada"), have("bo"), have("cy"))
    google.entra = actual
    return make_plan(desired, google, workspace(**ws))


def rows(p):
    return [(c.kind, c.action, c.key) for c in p.changes]


def test_a_group_with_members_is_created_then_filled():
    p = plan_of([EntraGroup("Eng", "Engineers", users=(ADA, BO))], tenant())
    assert rows(p) == [
        ("entra_group", "create", "Eng"),
        ("entra_membership", "add_member", "Eng/ada@x.io"),
        ("entra_membership", "add_member", "Eng/bo@x.io"),
    ]
    assert p.changes[0].fields["description"].new == "Engineers"


def test_a_group_with_no_member_in_entra_is_not_created_and_says_why():
    p = plan_of([EntraGroup("Eng", users=("nobody@x.io",))], tenant())
    assert p.changes == []
    assert any('"Eng" is not created yet' in n for n in p.notes)
    assert any("nobody@x.io" in n and "no Entra account" in n for n in p.notes)


def test_an_unmarked_security_group_with_the_name_is_adopted_and_its_members_made_exact():
    have = record("Eng", owner=None)
    p = plan_of(
        [EntraGroup("Eng", users=(ADA,))],
        tenant(have, members={"g1": [user(BO)]}),
    )
    assert rows(p) == [
        ("entra_group", "adopt", "Eng"),
        ("entra_membership", "add_member", "Eng/ada@x.io"),
        ("entra_membership", "remove_member", "Eng/bo@x.io"),
    ]


def test_a_managed_group_matching_git_plans_nothing():
    have = record("Eng", description="Engineers")
    p = plan_of(
        [EntraGroup("Eng", "Engineers", users=(ADA,))],
        tenant(have, members={"g1": [user(ADA)]}),
    )
    assert p.changes == []


def test_the_description_is_updated_only_when_git_manages_it():
    have = record("Eng", description="old")
    p = plan_of([EntraGroup("Eng", "new", users=(ADA,))], tenant(have, members={"g1": [user(ADA)]}))
    assert rows(p) == [("entra_group", "update", "Eng")]
    assert p.changes[0].fields["description"].old == "old"
    unmanaged = plan_of(
        [EntraGroup("Eng", users=(ADA,))], tenant(have, members={"g1": [user(ADA)]})
    )
    assert unmanaged.changes == []


def test_a_name_several_groups_share_is_refused_with_a_note_and_touched_not():
    twins = [record("Eng", id="g1", owner=None), record("Eng", id="g2", owner=None)]
    p = plan_of([EntraGroup("Eng", users=(ADA,))], tenant(*twins))
    assert p.changes == []
    assert any('"Eng" is refused: 2 groups' in n and "g1, g2" in n for n in p.notes)


def test_our_marked_group_wins_over_an_unmarked_namesake():
    both = [record("Eng", id="g1", owner=None), record("Eng", id="g2")]
    p = plan_of([EntraGroup("Eng", users=(ADA,))], tenant(*both, members={"g2": [user(ADA)]}))
    assert p.changes == []


@pytest.mark.parametrize(
    ("kind", "why"),
    [
        ({"group_types": ("Unified",)}, "Microsoft 365 group"),
        ({"mail_enabled": True}, "mail-enabled"),
        ({"owner": THEIRS}, "another repository"),
    ],
)
def test_groups_that_are_not_ours_to_take_are_refused(kind, why):
    p = plan_of([EntraGroup("Eng", users=(ADA,))], tenant(record("Eng", **{"owner": None, **kind})))
    assert p.changes == []
    assert any(why in n for n in p.notes)


def test_nested_exported_groups_are_group_members_even_when_created_in_the_same_plan():
    p = plan_of(
        [EntraGroup("All", groups=("Eng",)), EntraGroup("Eng", users=(ADA,))],
        tenant(),
    )
    assert rows(p) == [
        ("entra_group", "create", "All"),
        ("entra_group", "create", "Eng"),
        ("entra_membership", "add_member", "All/Eng"),
        ("entra_membership", "add_member", "Eng/ada@x.io"),
    ]
    add = p.changes[2]
    assert add.member_type == "GROUP" and add.needs() == ["All", "Eng"]


def test_users_are_matched_by_mail_when_the_upn_differs():
    actual = tenant(users={})
    actual.users_by_upn["ada_x.io#EXT#@t.onmicrosoft.com"] = "id-ada"
    actual.users_by_mail[ADA] = "id-ada"
    actual.groups.append(record("Eng"))
    actual.members["g1"] = (EntraMember("id-ada", "user", "ada_x.io#ext#@t.onmicrosoft.com"),)
    p = plan_of([EntraGroup("Eng", users=(ADA,))], actual)
    assert p.changes == []  # compared by object id, not by name


def test_external_addresses_are_skipped_with_a_note():
    p = plan_of([EntraGroup("Eng", users=(ADA,), external=("pat@gmail.com",))], tenant())
    assert any("pat@gmail.com" in n and "external" in n for n in p.notes)
    assert "Eng/pat@gmail.com" not in [c.key for c in p.changes]


def test_a_group_git_empties_is_emptied_and_protected_addresses_stay():
    have = record("Eng")
    actual = tenant(have, members={"g1": [user(ADA), user(BO)]})
    p = plan_of([EntraGroup("Eng")], actual, protected=("bo",))
    assert rows(p) == [("entra_membership", "remove_member", "Eng/ada@x.io")]
    assert any("bo@x.io stays" in n for n in p.notes)


def test_members_that_are_neither_users_nor_groups_are_removed_too():
    device = EntraMember("dev-1", "other", "device:dev-1")
    p = plan_of(
        [EntraGroup("Eng", users=(ADA,))],
        tenant(record("Eng"), members={"g1": [user(ADA), device]}),
    )
    assert rows(p) == [("entra_membership", "remove_member", "Eng/device:dev-1")]
    assert p.changes[0].member_type == "OTHER"


def test_entra_member_removals_have_their_own_safety_limit():
    actual = tenant(record("Eng"), members={"g1": [user(ADA), user(BO), user(CY)]})
    p = plan_of([EntraGroup("Eng", users=(ADA,))], actual, max_member_removals=1)
    assert p.over_limits == ["2 Entra member removals planned; the limit is 1"]


def test_a_marked_group_git_no_longer_exports_is_named_in_a_note():
    p = plan_of([], tenant(record("Old"), members={"g1": [user(ADA)]}))
    assert p.changes == []
    assert any('"Old" (g1) is marked as ours' in n and "1 members" in n for n in p.notes)


def test_an_unread_entra_tenant_stops_the_plan():
    desired = State(entra_groups={"Eng": EntraGroup("Eng", users=(ADA,))})
    with pytest.raises(ReconcilerError, match="Entra ID was not read"):
        make_plan(desired, State(), workspace())


def test_entra_changes_render_after_google_and_round_trip_through_json():
    p = plan_of([EntraGroup("Eng team", "Engineers", users=(ADA,))], tenant())
    text = render_text(p)
    assert '  + create Entra security group "Eng team"\n' in text
    assert '  + add ada@x.io to Entra group "Eng team"\n' in text
    assert summary_line(p).startswith("Plan: 1 to create")
    assert "members: 1 to add" in summary_line(p)
    for change in p.changes:
        data = change.to_json()
        assert change_from_json(data) == change
    member = p.changes[1].to_json()
    assert member["kind"] == "entra_membership" and member["key"] == "Eng team/ada@x.io"
    assert (member["group"], member["member"], member["member_type"]) == (
        "Eng team",
        "ada@x.io",
        "USER",
    )


def test_an_additive_group_gains_git_s_members_and_loses_no_one():
    actual = tenant(record("Eng"), members={"g1": [user(BO)]})
    p = plan_of([EntraGroup("Eng", users=(ADA,), additive=True)], actual)
    assert rows(p) == [("entra_membership", "add_member", "Eng/ada@x.io")]


def test_a_removal_acts_on_the_object_id_even_when_another_member_shares_the_name():
    # Ours ("Plat", g2) is nested in Eng; a hand-made namesake (g9) was put there too.
    ours = record("Plat", id="g2")
    eng = record("Eng", id="g1")
    foreign = EntraMember("g9", "group", "Plat")
    actual = tenant(
        eng,
        ours,
        record("Plat", id="g9", owner=None),
        members={"g1": [EntraMember("g2", "group", "Plat"), foreign], "g2": [user(ADA)]},
    )
    p = plan_of([EntraGroup("Eng", groups=("Plat",)), EntraGroup("Plat", users=(ADA,))], actual)
    assert rows(p) == [("entra_membership", "remove_member", "Eng/Plat (g9)")]
    removal = p.changes[0]
    assert removal.fields["object_id"].old == "g9"
    assert removal.to_json()["fields"] == {"object_id": {"old": "g9", "new": None}}
    assert change_from_json(removal.to_json()) == removal


def test_a_member_whose_nested_name_is_refused_stays():
    twins = [record("Plat", id="g2", owner=None), record("Plat", id="g3", owner=None)]
    actual = tenant(record("Eng"), *twins, members={"g1": [EntraMember("g2", "group", "Plat")]})
    p = plan_of([EntraGroup("Eng", groups=("Plat",)), EntraGroup("Plat", users=(ADA,))], actual)
    assert p.changes == []
    assert any('its member "Plat" (g2) stays' in n for n in p.notes)


def test_a_group_our_marker_names_is_renamed_when_its_display_name_changes():
    # Git's `engineering` was exported as "Eng"; Git now calls it "Engineering".
    have = record("Eng", git_name="engineering")
    actual = tenant(have, members={"g1": [user(ADA)]})
    p = plan_of([EntraGroup("Engineering", users=(ADA,), git_name="engineering")], actual)
    assert rows(p) == [("entra_group", "update", "Engineering")]
    assert p.changes[0].fields["display_name"].old == "Eng"
    assert not any("left as it is" in n for n in p.notes)  # not left behind


def test_a_group_matched_by_name_gets_the_git_name_on_its_marker():
    actual = tenant(record("Eng"), members={"g1": [user(ADA)]})  # marked, no Git name yet
    p = plan_of([EntraGroup("Eng", users=(ADA,), git_name="eng")], actual)
    assert rows(p) == [("entra_group", "update", "Eng")]
    assert p.changes[0].fields["git_name"].new == "eng"


def test_a_rename_and_its_members_converge_in_one_apply():
    held = record("Eng", git_name="engineering")
    actual = tenant(held, record("Other", id="g5", owner=None), members={"g1": [user(BO)]})
    wanted = [
        EntraGroup("Engineering", "Builders", users=(ADA,), git_name="engineering"),
        EntraGroup("Other", users=(CY,), git_name="other"),
    ]
    first = plan_of(wanted, actual)
    desired = state(want("ada"), want("bo"), want("cy"))
    desired.entra_groups = {g.display_name: g for g in wanted}
    google = state(have("ada"), have("bo"), have("cy"))
    google.entra = actual
    after = simulate(google, first, OURS, desired)
    assert make_plan(desired, after, workspace()).changes == []
    renamed = next(g for g in after.entra.groups if g.id == "g1")
    assert (renamed.display_name, renamed.description) == ("Engineering", "Builders")


@pytest.mark.parametrize(
    ("kind", "why"),
    [
        ({"on_premises": True}, "synced from on-premises Active Directory"),
        ({"role_assignable": True}, "role-assignable"),
        ({"group_types": ("DynamicMembership",)}, "a dynamic group"),
    ],
)
def test_groups_whose_members_graph_cannot_change_are_not_taken_over(kind, why):
    p = plan_of([EntraGroup("Eng", users=(ADA,))], tenant(record("Eng", owner=None, **kind)))
    assert p.changes == []
    assert any(why in n for n in p.notes)


def test_two_git_groups_never_share_one_entra_group():
    # Git renamed `eng` to "Eng Legacy" and gave a new group `eng2` the old name "Eng": the
    # marked group stays `eng`'s (renamed); `eng2` waits until the rename is applied.
    held = record("Eng", git_name="eng")
    actual = tenant(held, members={"g1": [user(ADA), user(BO)]})
    wanted = [
        EntraGroup("Eng Legacy", users=(ADA, BO), git_name="eng"),
        EntraGroup("Eng", users=(CY,), git_name="eng2"),
    ]
    p = plan_of(wanted, actual)
    assert rows(p) == [("entra_group", "update", "Eng Legacy")]
    assert p.changes[0].fields["display_name"].new == "Eng Legacy"
    assert any('"Eng" is refused' in n and "renames" in n for n in p.notes)


def test_a_marked_group_of_another_git_group_is_not_taken_by_name():
    # "Eng" carries the marker of Git's `old`, which Git still exports under another name
    # whose own group is ambiguous: `new` named "Eng" does not take it.
    marked = record("Eng", git_name="old")
    actual = tenant(marked, record("Old", id="g2", owner=None), record("Old", id="g3", owner=None))
    wanted = [
        EntraGroup("Old", users=(ADA,), git_name="old-renamed"),
        EntraGroup("Eng", users=(CY,), git_name="new"),
    ]
    wanted.append(EntraGroup("Kept", users=(BO,), git_name="old"))
    p = plan_of(wanted, actual)
    updates = [c for c in p.changes if c.kind == "entra_group" and c.action == "update"]
    assert [c.key for c in updates] == ["Kept"]  # `old` keeps its group, renamed to "Kept"
    assert not any(c.key.startswith("Eng/") for c in p.changes)


def test_a_rename_onto_a_name_another_group_has_is_refused_but_members_are_managed():
    held = record("Eng", git_name="eng")
    actual = tenant(held, record("Sales", id="g7", owner=None), members={"g1": [user(BO)]})
    p = plan_of([EntraGroup("Sales", users=(ADA,), git_name="eng")], actual)
    assert ("entra_group", "update", "Sales") not in rows(p)
    assert any("is not renamed" in n and "g7 already has that name" in n for n in p.notes)
    assert ("entra_membership", "add_member", "Sales/ada@x.io") in rows(p)

"""The change model: one type per kind, one table of actions, nothing outside them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from reconciler.plan.change import ACTIONS, Change, FieldChange
from reconciler.plan.kinds import (
    CHANGE_TYPES,
    DECLARED,
    PHASES,
    GroupChange,
    MembershipChange,
    OrgUnitChange,
    UserChange,
    change_from_json,
    check_kinds,
)


def test_a_change_of_an_action_its_kind_lacks_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="no delete of kind 'group'"):
        GroupChange("delete", "g@x.io")
    with pytest.raises(ValueError, match="no add_member of kind 'user'"):
        UserChange("add_member", "a@x.io")
    with pytest.raises(ValueError, match="no create of kind 'license'"):
        change_from_json({"action": "create", "kind": "license", "key": "a@x.io"})
    with pytest.raises(ValueError, match="no kind of change 'licence'"):
        change_from_json({"action": "assign_license", "kind": "licence", "key": "a@x.io"})


def test_every_action_of_every_kind_is_in_the_action_table_and_describes_itself() -> None:
    for change_type in CHANGE_TYPES:
        for action in change_type.phases:
            assert action in ACTIONS
            change = (
                MembershipChange(action, "g@x.io/a@x.io", group="g@x.io", member="a@x.io")
                if change_type is MembershipChange
                else change_type(action, "a@x.io")
            )
            assert change.describe()
            assert change_from_json(change.to_json()) == change


def test_phases_are_plan_wide_and_distinct() -> None:
    ranks = [dict(t.phases) for t in CHANGE_TYPES]
    assert sum(len(r) for r in ranks) == len(PHASES)
    assert PHASES[:4] == [
        ("org_unit", "create"),
        ("org_unit", "update"),
        ("user", "rename"),
        ("group", "rename"),
    ]


def test_the_json_keeps_the_contract_order() -> None:
    change = MembershipChange(
        "update_member",
        "g@x.io/a@x.io",
        {"role": FieldChange("MEMBER", "OWNER")},
        group="g@x.io",
        member="a@x.io",
        role="OWNER",
        member_type="USER",
        reason="why",
    )
    assert list(change.to_json()) == [
        "action",
        "kind",
        "key",
        "fields",
        "group",
        "member",
        "role",
        "member_type",
        "reason",
    ]
    rename = UserChange("rename", "new@x.io", {"aliases": FieldChange((), ("a@x.io",))}, "old@x.io")
    assert rename.to_json() == {
        "action": "rename",
        "kind": "user",
        "key": "new@x.io",
        "fields": {"aliases": {"old": [], "new": ["a@x.io"]}},
        "from": "old@x.io",
    }
    assert OrgUnitChange("create", "/A", {"description": FieldChange(None, "d")}).to_json() == {
        "action": "create",
        "kind": "org_unit",
        "key": "/A",
        "fields": {"description": {"old": None, "new": "d"}},
    }


def test_a_change_names_the_keys_it_needs_and_whether_it_establishes_its_own() -> None:
    moved = UserChange("update", "a@x.io", {"org_unit": FieldChange("/", "/A/B")})
    assert moved.needs() == ["a@x.io", "/A/B", "/A"]
    assert UserChange("rename", "new@x.io", from_="old@x.io").needs() == ["new@x.io", "old@x.io"]
    assert OrgUnitChange("create", "/A/B/C").needs() == ["/A", "/A/B"]
    member = MembershipChange("add_member", "g@x.io/a@x.io", group="g@x.io", member="a@x.io")
    assert member.needs() == ["g@x.io", "a@x.io"]
    establishing = {a for t in CHANGE_TYPES for a in t.phases if ACTIONS[a].establishes}
    assert establishing == {"create", "undelete", "rename", "adopt"}
    assert OrgUnitChange("update", "/A").establishes()
    assert not UserChange("update", "a@x.io").establishes()


def test_every_kind_declares_what_the_guards_ask_of_it() -> None:
    """A targeted plan's scope and the safety limits and protection ask the type, so a new
    kind is its own module and its line in CHANGE_TYPES: nothing elsewhere names it."""
    for change_type in CHANGE_TYPES:
        for name in DECLARED:
            assert any(name in vars(t) for t in change_type.__mro__[:-2]), (change_type, name)
    check_kinds(CHANGE_TYPES)  # what the import runs


def test_a_kind_that_does_not_declare_them_is_refused() -> None:
    @dataclass(frozen=True)
    class NoteChange(Change):
        kind = "note"
        label = "note"
        plural = "notes"
        phases = {"update": 999}

    with pytest.raises(AssertionError, match=r"NoteChange does not declare \['scoped_by'"):
        check_kinds((NoteChange,))

    @dataclass(frozen=True)
    class WrongChange(NoteChange):
        scoped_by = "accounts"
        limits = {}
        protected = frozenset()

    with pytest.raises(AssertionError, match="no Scope set of that name"):
        check_kinds((WrongChange,))

    @dataclass(frozen=True)
    class StrayChange(NoteChange):
        scoped_by = None
        limits = {"delete": "deletions"}
        protected = frozenset({"suspend"})

    with pytest.raises(AssertionError, match=r"no actions \['delete', 'suspend'\]"):
        check_kinds((StrayChange,))

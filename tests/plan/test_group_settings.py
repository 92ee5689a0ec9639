"""Group settings changes of the plan (reconciler/plan/diff_group_settings.py), on tiny
States: the settings Git declares against the ones Google holds."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconciler.plan.diff import make_plan
from reconciler.plan.kinds import GroupSettingsChange, change_from_json
from reconciler.plan.render import render_text
from reconciler.problems import ReconcilerError

from .builder import THEIRS, group, have, member, rows, state, want, workspace

CLOSED = {"who_can_join": "INVITED_CAN_JOIN", "allow_external_members": False}
OPEN = {"who_can_join": "ANYONE_CAN_JOIN", "allow_external_members": True, "archive_only": False}


def settings_rows(p):
    return [r for r in rows(p) if r[1] == "group_settings"]


def test_only_the_settings_git_declares_and_that_differ_are_changed():
    desired = state(want("jo"), replace(group("eng", member("jo")), settings=CLOSED))
    actual = state(have("jo"), replace(group("eng", member("jo")), settings=OPEN))
    p = make_plan(desired, actual, workspace())
    assert settings_rows(p) == [
        (
            "update",
            "group_settings",
            "eng@x.io",
            {
                "allow_external_members": (True, False),
                "who_can_join": ("ANYONE_CAN_JOIN", "INVITED_CAN_JOIN"),
            },
        )
    ]
    same = state(have("jo"), replace(group("eng", member("jo")), settings={**OPEN, **CLOSED}))
    assert settings_rows(make_plan(desired, same, workspace())) == []  # archive_only not Git's


def test_a_new_group_gets_its_settings_after_it_is_created_before_its_members():
    desired = state(want("jo"), replace(group("eng", member("jo")), settings=CLOSED))
    p = make_plan(desired, state(have("jo")), workspace())
    assert [(c.kind, c.action) for c in p.changes] == [
        ("group", "create"),
        ("group_settings", "update"),
        ("membership", "add_member"),
    ]
    assert p.changes[1].fields["who_can_join"].old is None


def test_a_renamed_group_is_set_under_its_new_address():
    desired = state(
        want("jo"), replace(group("eng", member("jo"), previous=("dev",)), settings=CLOSED)
    )
    actual = state(have("jo"), replace(group("dev", member("jo")), settings=OPEN))
    p = make_plan(desired, actual, workspace())
    assert [r[2] for r in settings_rows(p)] == ["eng@x.io"]


def test_groups_of_another_repository_without_group_management_or_settings_are_left_alone():
    desired = state(want("jo"), replace(group("eng", member("jo")), settings=CLOSED))
    theirs = state(have("jo"), replace(group("eng", member("jo"), owner=THEIRS), settings=OPEN))
    assert settings_rows(make_plan(desired, theirs, workspace())) == []
    ours = state(have("jo"), replace(group("eng", member("jo")), settings=OPEN))
    assert settings_rows(make_plan(desired, ours, workspace(group_management=False))) == []
    bare = state(want("jo"), group("eng", member("jo")))  # Git declares none
    assert settings_rows(make_plan(bare, ours, workspace())) == []


def test_settings_changes_read_in_the_plan_and_round_trip_through_json():
    desired = state(want("jo"), replace(group("eng", member("jo")), settings=CLOSED))
    actual = state(have("jo"), replace(group("eng", member("jo")), settings=OPEN))
    p = make_plan(desired, actual, workspace())
    text = render_text(p)
    assert "  ~ update the settings of group eng@x.io\n" in text
    assert '      who_can_join:           "ANYONE_CAN_JOIN" -> "INVITED_CAN_JOIN"' in text
    assert "      allow_external_members: true -> false" in text
    change = next(c for c in p.changes if c.kind == "group_settings")
    assert isinstance(change_from_json(change.to_json()), GroupSettingsChange)
    assert change_from_json(change.to_json()) == change


def test_a_group_whose_settings_were_not_read_stops_the_plan():
    desired = state(want("jo"), replace(group("eng", member("jo")), settings=CLOSED))
    unread = state(have("jo"), group("eng", member("jo")))  # settings None: not read
    with pytest.raises(ReconcilerError, match=r"the settings of group eng@x\.io were not read"):
        make_plan(desired, unread, workspace())

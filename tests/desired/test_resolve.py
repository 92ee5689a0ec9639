"""Desired State: bindings resolved, memberships flattened, attributes normalized."""

from pathlib import Path

import pytest

from reconciler.desired import load_desired
from reconciler.state import Member

WORKSPACE = """\
directory:
  domains: [example.com, example.org]
ownership:
  id: acme/identity
provider:
  kind: emulator
{extra}
"""

PEOPLE = """\
users:
  - {email: Ana@Example.com, given_name: Ana, family_name: Ruiz, org_unit: /Eng/Platform,
     title: CTO, aliases: [ana.r@example.com, A@example.com]}
  - {email: jo@example.com, given_name: Jo, family_name: Lei, manager: ana@example.com,
     previous_emails: [jlei@example.com]}
  - {email: kim@example.org, given_name: Kim, family_name: Park}
  - {email: new@example.com, given_name: New, family_name: Hire, state: staged}
  - {email: gone@example.com, given_name: Gone, family_name: Away, state: suspended}
  - {email: free@example.com, given_name: Free, family_name: Lance}
groups:
  - {name: all-staff, members: [eng, kim@example.org, gone@example.com]}
  - {name: eng, email: eng@example.com, owners: [ana@example.com],
     members: [jo@example.com, ana@example.com, leads, platform]}
  - {name: leads, members: [jo@example.com, new@example.com]}
  - {name: platform, email: Platform@Example.com, managers: [jo@example.com],
     members: [contractor@partner.com]}
  - {name: alumni, email: alumni@example.com, members: [free@example.com, jo@example.com]}
  - {name: empty, email: empty@example.com, members: [new@example.com]}
bindings:
  - group: all-staff
"""


def make(tmp_path: Path, extra: str = "", people: str = PEOPLE) -> Path:
    (tmp_path / "workspace.yaml").write_text(WORKSPACE.format(extra=extra))
    (tmp_path / "people.yaml").write_text(people)
    return tmp_path


def test_bindings_resolve_through_nested_groups(tmp_path):
    state = load_desired(make(tmp_path)).state
    assert state.bound_users() == {
        "ana@example.com",
        "jo@example.com",
        "kim@example.org",
        "new@example.com",
        "gone@example.com",
    }
    assert not state.users["free@example.com"].bound


def test_users_are_normalized(tmp_path):
    state = load_desired(make(tmp_path)).state
    ana = state.users["ana@example.com"]
    assert ana.aliases == ("a@example.com", "ana.r@example.com")
    assert ana.org_unit == "/Eng/Platform" and ana.title == "CTO"
    assert ana.origin.line == 2 and ana.origin.path.name == "people.yaml"
    jo = state.users["jo@example.com"]
    assert jo.manager == "ana@example.com" and jo.previous_emails == ("jlei@example.com",)
    assert jo.aliases is None  # not written: not managed
    assert state.users["gone@example.com"].suspended
    assert state.users["free@example.com"].suspended  # unbound: suspended if it exists
    assert not state.users["new@example.com"].suspended  # staged: left alone


def test_exported_groups_have_resolved_members_and_roles(tmp_path):
    state = load_desired(make(tmp_path)).state
    assert set(state.groups) == {
        "alumni@example.com",
        "empty@example.com",
        "eng@example.com",
        "platform@example.com",
    }
    assert list(state.groups["alumni@example.com"].members) == ["jo@example.com"]
    eng = state.groups["eng@example.com"]
    assert eng.git_name == "eng" and eng.name == "eng"
    assert eng.members == {
        # The owner is listed as a member too: the highest role wins.
        "ana@example.com": Member("ana@example.com", "OWNER", "USER"),
        "jo@example.com": Member("jo@example.com", "MEMBER", "USER"),
        # An exported group is a GROUP member; "leads" is not exported, so it is flattened
        # (and its staged member, who has no account, is left out).
        "platform@example.com": Member("platform@example.com", "MEMBER", "GROUP"),
    }
    platform = state.groups["platform@example.com"]
    assert platform.members == {
        "jo@example.com": Member("jo@example.com", "MANAGER", "USER"),
        "contractor@partner.com": Member("contractor@partner.com", "MEMBER", "EXTERNAL"),
    }


def test_group_with_no_members_is_still_exported_with_no_members(tmp_path):
    # The plan gives a group that exists exactly Git's membership, nobody included; it is
    # the plan that declines to create an empty one.
    state = load_desired(make(tmp_path)).state
    assert state.groups["empty@example.com"].members == {}


def test_org_units_include_ancestors(tmp_path):
    state = load_desired(make(tmp_path)).state
    assert list(state.org_units) == ["/Eng", "/Eng/Platform"]
    assert state.org_units["/Eng/Platform"].parent == "/Eng"


def test_org_units_are_spelt_as_git_declares_them(tmp_path):
    # Google's org unit paths ignore case: a user's /ENG/platform is the declared /Eng's.
    people = """\
org_units:
  - {path: /Eng, description: Engineering}
users:
  - {email: ana@example.com, given_name: Ana, family_name: Ruiz, org_unit: /ENG/platform}
  - {email: jo@example.com, given_name: Jo, family_name: Lei, org_unit: /eng/platform}
  - {email: kim@example.com, given_name: Kim, family_name: Park, org_unit: /eng}
bindings:
  - {user: ana@example.com}
"""
    state = load_desired(make(tmp_path, people=people)).state
    assert list(state.org_units) == ["/Eng", "/Eng/platform"]
    assert state.org_units["/Eng"].description == "Engineering"
    assert [u.org_unit for u in state.users.values()] == ["/Eng/platform"] * 2 + ["/Eng"]


def test_unsynced_attributes_are_not_managed(tmp_path):
    extra = "sync:\n  attributes: [given_name, family_name]"
    ana = load_desired(make(tmp_path, extra)).state.users["ana@example.com"]
    assert ana.given_name == "Ana" and ana.title is None and ana.org_unit is None
    assert ana.aliases is None


def test_unbound_member_of_exported_group_is_a_warning(tmp_path):
    desired = load_desired(make(tmp_path))
    rendered = [w.render() for w in desired.warnings]
    assert any("'free@example.com' has no binding" in w for w in rendered), rendered


@pytest.mark.parametrize("name", ["eng", "ENG"])
def test_group_names_are_case_sensitive_keys(tmp_path, name):
    people = PEOPLE.replace("  - group: all-staff", f"  - group: {name}")
    if name == "eng":
        assert load_desired(make(tmp_path, people=people)).state.bound_users()
    else:
        from reconciler.problems import InvalidInput

        with pytest.raises(InvalidInput) as exc:
            load_desired(make(tmp_path, people=people))
        assert "group 'ENG' is not defined" in str(exc.value)


def test_member_addresses_share_the_users_strings(tmp_path):
    # One string per address however many groups name it (memory at 500k memberships).
    state = load_desired(make(tmp_path)).state
    shared = [
        m.email is state.users[m.email].email
        for g in state.groups.values()
        for m in g.members.values()
        if m.email in state.users
    ]
    assert len(shared) > 3 and all(shared)

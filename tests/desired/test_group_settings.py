"""Group settings in Git: workspace.yaml's `group_settings:` defaults under a group's own
`settings:`, resolved into `Group.settings`, and the rules over them.

Each error, with its file and line, is a case of the bad-input corpus
(tests/fixtures/invalid/group-settings-*, group-own-settings-*, external-member-*); these
tests resolve valid trees and check what the rules leave alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import WORKSPACE, write_state

from reconciler.desired import load_desired
from reconciler.desired.checks import run_checks
from reconciler.desired.index import Index
from reconciler.desired.load import read_tree
from reconciler.desired.write import format_text
from reconciler.group_settings_fields import FIELDS
from reconciler.problems import InvalidInput
from reconciler.settings import GroupSettings

PEOPLE = """\
users:
  - {email: ann@example.com, given_name: Ann, family_name: Lee}
bindings:
  - user: ann@example.com
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # paths in messages print relative to the working folder


def tree_of(tmp_path: Path, defaults: str, groups: str) -> Path:
    return write_state(
        tmp_path, {"workspace.yaml": WORKSPACE + defaults, "groups.yaml": groups + PEOPLE}
    )


def problems_of(root: Path) -> list[str]:
    tree, problems = read_tree(root)
    problems += run_checks(Index.build(tree))
    return [f"{p.path.name}:{p.line}: {p.message}" for p in problems if not p.warning]


DEFAULTS = """\
group_settings:
  who_can_join: INVITED_CAN_JOIN
  who_can_post_message: ALL_MEMBERS_CAN_POST
  allow_external_members: false
"""


def test_a_groups_own_settings_are_over_the_defaults(tmp_path):
    groups = """\
groups:
  - name: eng
    email: eng@example.com
    members: [ann@example.com]
    settings:
      allow_external_members: true
      custom_footer_text: Engineering
  - name: plain
    email: plain@example.com
"""
    desired = load_desired(tree_of(tmp_path, DEFAULTS, groups))
    eng = desired.state.groups["eng@example.com"].settings
    assert eng == {
        "who_can_join": "INVITED_CAN_JOIN",
        "who_can_post_message": "ALL_MEMBERS_CAN_POST",
        "allow_external_members": True,
        "custom_footer_text": "Engineering",
    }
    assert list(eng) == [f.key for f in FIELDS if f.key in eng]  # the table's order
    plain = desired.state.groups["plain@example.com"].settings
    assert plain == {
        "who_can_join": "INVITED_CAN_JOIN",
        "who_can_post_message": "ALL_MEMBERS_CAN_POST",
        "allow_external_members": False,
    }


def test_no_settings_anywhere_is_none(tmp_path):
    groups = "groups:\n  - {name: eng, email: eng@example.com}\n"
    desired = load_desired(tree_of(tmp_path, "", groups))
    assert desired.state.groups["eng@example.com"].settings is None


def test_a_groups_own_settings_without_defaults(tmp_path):
    groups = """\
groups:
  - name: eng
    email: eng@example.com
    settings: {who_can_view_group: ALL_MEMBERS_CAN_VIEW, archive_only: false}
  - {name: other, email: other@example.com}
"""
    desired = load_desired(tree_of(tmp_path, "", groups))
    assert desired.state.groups["eng@example.com"].settings == {
        "who_can_view_group": "ALL_MEMBERS_CAN_VIEW",
        "archive_only": False,
    }
    assert desired.state.groups["other@example.com"].settings is None


def test_every_setting_of_the_table_is_a_key():
    assert list(GroupSettings.model_fields) == [f.key for f in FIELDS]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("who_can_join", "ANYONE_CAN_JOIN"),
        ("allow_web_posting", True),
        ("primary_language", "en"),
        ("custom_footer_text", "x" * 1000),
    ],
)
def test_valid_values_are_kept_as_written(key, value):
    assert GroupSettings.model_validate({key: value}).declared() == {key: value}


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("yes", "is true or false, not 'yes'"),
        (1, "is true or false, not 1"),
    ],
)
def test_a_boolean_is_true_or_false(value, said):
    with pytest.raises(ValueError, match=said):
        GroupSettings.model_validate({"allow_external_members": value})


def test_an_external_member_is_allowed_where_the_group_allows_it(tmp_path):
    groups = """\
groups:
  - name: eng
    email: eng@example.com
    members: [ann@example.com, jo@partner.com]
    settings:
      allow_external_members: true
"""
    assert problems_of(tree_of(tmp_path, DEFAULTS, groups)) == []


def test_external_members_are_allowed_when_nothing_says_otherwise(tmp_path):
    groups = """\
groups:
  - {name: eng, email: eng@example.com, members: [jo@partner.com, contractors]}
  - {name: contractors, members: [bo@partner.com]}
"""
    assert problems_of(tree_of(tmp_path, "", groups)) == []


def test_a_nested_exported_group_is_a_member_of_its_own(tmp_path):
    # Its external members are its own, not the parent's: Google lists the group.
    groups = """\
groups:
  - {name: eng, email: eng@example.com, members: [partners]}
  - name: partners
    email: partners@example.com
    members: [jo@partner.com]
    settings: {allow_external_members: true}
"""
    assert problems_of(tree_of(tmp_path, DEFAULTS, groups)) == []


def test_a_user_group_nested_twice_names_every_group_that_gets_the_member(tmp_path):
    groups = """\
groups:
  - {name: eng, email: eng@example.com, members: [contractors]}
  - {name: ops, email: ops@example.com, owners: [outer]}
  - {name: outer, members: [contractors]}
  - {name: contractors, members: [jo@partner.com]}
"""
    found = problems_of(tree_of(tmp_path, DEFAULTS, groups))
    assert found == [
        "groups.yaml:5: group eng: member 'jo@partner.com' (through user group contractors) "
        "is outside the organization, but allow_external_members is false (workspace.yaml's "
        "default, workspace.yaml:10): Google refuses external members; remove it, or set "
        "`allow_external_members: true` in the group's settings",
        "groups.yaml:5: group ops: member 'jo@partner.com' (through user group outer > "
        "contractors) is outside the organization, but allow_external_members is false "
        "(workspace.yaml's default, workspace.yaml:10): Google refuses external members; "
        "remove it, or set `allow_external_members: true` in the group's settings",
    ]


def test_an_address_in_a_managed_domain_is_not_external(tmp_path):
    groups = "groups:\n  - {name: eng, email: eng@example.com, members: [zed@example.com]}\n"
    found = problems_of(tree_of(tmp_path, DEFAULTS, groups))
    assert len(found) == 1 and "is not a user or group in Git" in found[0]


def test_an_invalid_group_settings_block_is_the_only_problem(tmp_path):
    # The defaults are unknown: no group is judged by what they might have said.
    defaults = "group_settings:\n  allow_external_members: false\n  who_can_jion: X\n"
    groups = """\
groups:
  - name: eng
    email: eng@example.com
    members: [jo@partner.com]
    settings: {who_can_post_message: NONE_CAN_POST, archive_only: true}
"""
    found = problems_of(tree_of(tmp_path, defaults, groups))
    assert len(found) == 1 and "'who_can_jion' is not a group setting" in found[0]


@pytest.mark.parametrize(
    "settings",
    [
        "{archive_only: true, who_can_post_message: NONE_CAN_POST}",
        "{archive_only: true}",
        "{who_can_post_message: ANYONE_CAN_POST, message_moderation_level: MODERATE_NON_MEMBERS}",
        "{who_can_post_message: ALL_IN_DOMAIN_CAN_POST, "
        "message_moderation_level: MODERATE_NON_MEMBERS}",
        "{message_moderation_level: MODERATE_NON_MEMBERS}",
    ],
)
def test_settings_google_takes_together(tmp_path, settings):
    groups = f"groups:\n  - name: eng\n    email: eng@example.com\n    settings: {settings}\n"
    assert problems_of(tree_of(tmp_path, "", groups)) == []


def test_a_conflict_of_the_defaults_alone_is_said_once_at_workspace_yaml(tmp_path):
    defaults = "group_settings:\n  who_can_post_message: NONE_CAN_POST\n"
    groups = """\
groups:
  - {name: eng, email: eng@example.com, settings: {who_can_join: INVITED_CAN_JOIN}}
  - {name: ops, email: ops@example.com}
"""
    found = problems_of(tree_of(tmp_path, defaults, groups))
    assert found == [
        "workspace.yaml:8: group_settings: who_can_post_message: NONE_CAN_POST needs "
        '`archive_only: true` (archive_only is not given); Google: "When archiveOnly is false, '
        'updating whoCanPostMessage to NONE_CAN_POST, results in an error"'
    ]


def test_a_group_that_resolves_the_defaults_conflict_is_fine(tmp_path):
    defaults = "group_settings:\n  archive_only: true\n"
    groups = """\
groups:
  - name: eng
    email: eng@example.com
    settings: {archive_only: false, who_can_post_message: ALL_MEMBERS_CAN_POST}
"""
    assert problems_of(tree_of(tmp_path, defaults, groups)) == []


def test_a_groups_key_that_conflicts_with_a_default_is_said_at_the_group(tmp_path):
    defaults = "group_settings:\n  archive_only: false\n"
    groups = """\
groups:
  - name: eng
    email: eng@example.com
    settings:
      who_can_post_message: NONE_CAN_POST
"""
    found = problems_of(tree_of(tmp_path, defaults, groups))
    assert found == [
        "groups.yaml:5: group eng: settings: who_can_post_message: NONE_CAN_POST needs "
        "`archive_only: true` (archive_only: false (workspace.yaml's default, "
        'workspace.yaml:8)); Google: "When archiveOnly is false, updating whoCanPostMessage '
        'to NONE_CAN_POST, results in an error"'
    ]


def test_invalid_settings_stop_the_load(tmp_path):
    groups = "groups:\n  - {name: eng, email: eng@example.com, settings: {reply_to: REPLY_TO_LSIT}}"
    groups += "\n"
    with pytest.raises(InvalidInput) as raised:
        load_desired(tree_of(tmp_path, "", groups))
    (problem,) = raised.value.problems
    assert problem.line == 2
    assert "reply_to: 'REPLY_TO_LSIT' is not one of" in problem.message
    assert "(did you mean 'REPLY_TO_LIST'?)" in problem.message


DOC = Path(__file__).resolve().parents[2] / "docs" / "state-directory.md"


def doc_section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"### {title}\n")
    return text[start : text.index("\n### ", start + 1)]


def test_the_documented_table_is_the_tools():
    def values(f) -> str:
        if f.boolean:
            return "`true` or `false`"
        if f.values:
            return ", ".join(f"`{v}`" for v in f.values)
        return f"text, at most {f.max_length:,} characters" if f.max_length else "text"

    section = doc_section("Group settings")
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert rows == [f"| `{f.key}` | `{f.api}` | {values(f)} |" for f in FIELDS]


def test_the_documented_example_is_valid(tmp_path):
    example = doc_section("Group settings").split("```yaml\n", 1)[1].split("```", 1)[0]
    workspace, groups = example.split("# groups.yaml\n")
    root = tree_of(tmp_path, workspace.replace("# workspace.yaml\n", ""), groups)
    desired = load_desired(root)
    assert desired.state.groups["partners@example.com"].settings == {
        "who_can_join": "INVITED_CAN_JOIN",
        "who_can_view_membership": "ALL_MEMBERS_CAN_VIEW",
        "who_can_post_message": "ANYONE_CAN_POST",
        "message_moderation_level": "MODERATE_NON_MEMBERS",
        "allow_external_members": True,
    }


def test_an_empty_map_of_settings_is_an_error(tmp_path):
    groups = "groups:\n  - {name: eng, email: eng@example.com, settings: {}}\n"
    with pytest.raises(InvalidInput) as raised:
        load_desired(tree_of(tmp_path, "", groups))
    (problem,) = raised.value.problems
    assert problem.message == (
        "group eng: settings: is empty: give at least one setting (see docs/state-directory.md, "
        '"Group settings")'
    )


def test_fmt_writes_settings_in_the_tables_order_once_for_all():
    text = (
        "groups:\n  - name: eng\n    settings: {archive_only: true,  who_can_post_message: "
        "NONE_CAN_POST}   # archived\n    email: eng@example.com\n"
    )
    formatted = format_text(text, Path("groups.yaml"))
    assert formatted == (
        "groups:\n  - name: eng\n    email: eng@example.com\n    settings:\n"
        "      who_can_post_message: NONE_CAN_POST\n      archive_only: true  # archived\n"
    )
    assert format_text(formatted, Path("groups.yaml")) == formatted
    workspace = WORKSPACE + "group_settings: {allow_external_members: false, who_can_join: X}\n"
    assert format_text(workspace, Path("workspace.yaml"), workspace=True).endswith(
        "group_settings:\n  who_can_join: X\n  allow_external_members: false\n"
    )

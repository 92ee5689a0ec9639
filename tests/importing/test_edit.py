"""desired/edit.py: minimal in-place edits. Every byte outside an edited value stays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from reconciler.desired.edit import FileEdit
from reconciler.desired.write import format_text
from reconciler.problems import InvalidInput

from .support import changed_lines

PATH = Path("users.yaml")


def edit(text: str) -> FileEdit:
    return FileEdit(PATH, text)


def entry(e: FileEdit, email: str, key: str = "users"):
    return next(n for n in e.entries(key) if e.scalar(n, "email") == email)


def load(text: str) -> Any:
    return YAML(typ="safe").load(text)


USERS = """\
# Engineering. Keep this header.

users:
  # The lead.
  - email: ana@example.com   # primary
    given_name: Ana
    family_name: 'Ruiz'
    title: "VP Engineering"  # since 2024
    phone: "+1 555 0110"
    aliases: [ana.r@example.com, a@example.com]


  - email: jo@example.com
    given_name: Jo
    family_name: Lei
    title:
    aliases:
      - jo.lei@example.com   # old
      - j@example.com
  # Between entries.
  - email: kim@example.com
    given_name: Kim
    family_name: Park
# The end.
"""


# -- set_field: scalars ------------------------------------------------------------------------


def test_replacing_a_scalar_changes_only_its_text_and_keeps_the_end_of_line_comment():
    e = edit(USERS)
    e.set_field(entry(e, "ana@example.com"), "title", "CTO")
    gone, new = changed_lines(USERS, e.text())
    assert gone == ['    title: "VP Engineering"  # since 2024\n']
    assert new == ["    title: CTO  # since 2024\n"]


def test_replacing_a_quoted_scalar_with_a_value_that_needs_quotes():
    e = edit(USERS)
    ana = entry(e, "ana@example.com")
    e.set_field(ana, "family_name", "Ruiz: de la Vega # II")
    e.set_field(ana, "phone", "+1 555 0199")
    out = e.text()
    gone, new = changed_lines(USERS, out)
    assert new == ['    family_name: "Ruiz: de la Vega # II"\n', '    phone: "+1 555 0199"\n']
    assert len(gone) == 2
    users = load(out)["users"]
    assert users[0]["family_name"] == "Ruiz: de la Vega # II"
    assert users[0]["phone"] == "+1 555 0199"  # text, not a number


@pytest.mark.parametrize("value", ["yes", "null", "0123", "- x", "@home", "a: b", "", "x #y"])
def test_values_yaml_would_misread_are_quoted(value):
    e = edit(USERS)
    e.set_field(entry(e, "kim@example.com"), "title", value)
    assert load(e.text())["users"][2]["title"] == value


def test_an_empty_value_is_filled_in_place():
    e = edit(USERS)
    e.set_field(entry(e, "jo@example.com"), "title", "Engineer")
    gone, new = changed_lines(USERS, e.text())
    assert (gone, new) == (["    title:\n"], ["    title: Engineer\n"])


def test_adding_a_field_goes_after_the_entry_and_before_the_blank_lines_that_follow():
    e = edit(USERS)
    e.set_field(entry(e, "ana@example.com"), "department", "Engineering")
    out = e.text()
    gone, new = changed_lines(USERS, out)
    assert gone == [] and new == ["    department: Engineering\n"]
    assert (
        "    aliases: [ana.r@example.com, a@example.com]\n    department: Engineering\n\n\n" in out
    )


def test_fields_added_to_one_entry_keep_the_order_they_were_set_in():
    e = edit(USERS)
    kim = entry(e, "kim@example.com")
    e.set_field(kim, "title", "Designer")
    e.set_field(kim, "phone", "+1 555 0150")
    e.set_field(kim, "employee_id", "E-7")
    out = e.text()
    assert (
        "    family_name: Park\n"
        "    title: Designer\n"
        '    phone: "+1 555 0150"\n'
        "    employee_id: E-7\n"
        "# The end.\n"
    ) in out


def test_adding_a_field_to_the_last_entry_of_a_file_without_a_final_newline():
    text = "users:\n  - email: a@example.com\n    given_name: A\n    family_name: B"
    e = edit(text)
    e.set_field(entry(e, "a@example.com"), "title", "Boss")
    assert e.text() == text + "\n    title: Boss\n"


def test_an_entry_followed_by_comments_gets_the_field_above_them():
    e = edit(USERS)
    e.set_field(entry(e, "jo@example.com"), "department", "Engineering")
    out = e.text()
    assert "      - j@example.com\n    department: Engineering\n  # Between entries.\n" in out
    assert changed_lines(USERS, out) == ([], ["    department: Engineering\n"])


def test_removing_a_field_removes_its_line_only():
    e = edit(USERS)
    e.set_field(entry(e, "ana@example.com"), "phone", None)
    gone, new = changed_lines(USERS, e.text())
    assert gone == ['    phone: "+1 555 0110"\n'] and new == []


def test_removing_a_field_that_is_absent_changes_nothing():
    e = edit(USERS)
    e.set_field(entry(e, "kim@example.com"), "phone", None)
    assert e.text() == USERS


def test_removing_the_field_on_the_dash_line_keeps_the_entry():
    text = "users:\n  - title: Boss\n    email: a@example.com\n    given_name: A\n"
    e = edit(text)
    e.set_field(entry(e, "a@example.com"), "title", None)
    out = e.text()
    assert load(out) == {"users": [{"email": "a@example.com", "given_name": "A"}]}
    assert out == "users:\n  - email: a@example.com\n    given_name: A\n"


def test_replacing_a_block_scalar_keeps_the_next_key_on_its_own_line():
    text = (
        "groups:\n"
        "  - name: eng\n"
        "    description: |\n"
        "      Line one\n"
        "      line two\n"
        "\n"
        "    email: eng@example.com\n"
    )
    e = edit(text)
    e.set_field(e.entries("groups")[0], "description", "One line")
    out = e.text()
    assert load(out)["groups"][0] == {
        "name": "eng",
        "description": "One line",
        "email": "eng@example.com",
    }
    assert out == (
        "groups:\n  - name: eng\n    description: One line\n\n    email: eng@example.com\n"
    )


def test_a_block_scalar_can_become_multi_line_text_again():
    text = "groups:\n  - name: eng\n    description: >-\n      folded\n      text\n"
    e = edit(text)
    e.set_field(e.entries("groups")[0], "description", "two\nlines")
    assert load(e.text())["groups"][0]["description"] == "two\nlines"


def test_removing_a_block_scalar_removes_all_its_lines():
    text = (
        "groups:\n  - name: eng\n    description: |\n      a\n      b\n    email: e@example.com\n"
    )
    e = edit(text)
    e.set_field(e.entries("groups")[0], "description", None)
    assert e.text() == "groups:\n  - name: eng\n    email: e@example.com\n"


# -- set_field: lists --------------------------------------------------------------------------


def test_a_flow_list_is_rewritten_in_place():
    e = edit(USERS)
    e.set_field(entry(e, "ana@example.com"), "aliases", ["a@example.com", "ana@example.com"])
    gone, new = changed_lines(USERS, e.text())
    assert gone == ["    aliases: [ana.r@example.com, a@example.com]\n"]
    assert new == ["    aliases: [a@example.com, ana@example.com]\n"]


def test_a_flow_list_too_long_for_one_line_becomes_a_block_list():
    many = [f"address-number-{i:02d}@example.com" for i in range(6)]
    e = edit(USERS)
    e.set_field(entry(e, "ana@example.com"), "aliases", many)
    out = e.text()
    assert load(out)["users"][0]["aliases"] == many
    assert "    aliases:\n      - address-number-00@example.com\n" in out
    _, new = changed_lines(USERS, out)
    assert len(new) == 7


def test_a_block_list_is_replaced_line_for_line():
    e = edit(USERS)
    e.set_field(entry(e, "jo@example.com"), "aliases", ["jl@example.com"])
    out = e.text()
    gone, new = changed_lines(USERS, out)
    assert gone == [
        "    aliases:\n",
        "      - jo.lei@example.com   # old\n",
        "      - j@example.com\n",
    ]
    assert new == ["    aliases: [jl@example.com]\n"]  # short enough for one line
    assert load(out)["users"][1]["aliases"] == ["jl@example.com"]


def test_a_block_list_can_become_empty():
    e = edit(USERS)
    e.set_field(entry(e, "jo@example.com"), "aliases", [])
    out = e.text()
    assert load(out)["users"][1]["aliases"] == []
    assert "    aliases: []\n  # Between entries.\n" in out


def test_member_lists_are_written_one_per_line_even_when_short():
    text = "groups:\n  - name: eng\n    members: [a@example.com]\n"
    e = edit(text)
    e.set_field(e.entries("groups")[0], "members", ["a@example.com", "b@example.com"])
    assert e.text() == (
        "groups:\n  - name: eng\n    members:\n      - a@example.com\n      - b@example.com\n"
    )


def test_a_new_list_field_is_added_as_a_block_when_it_must_be():
    e = edit("groups:\n  - name: eng\n    email: eng@example.com\n")
    node = e.entries("groups")[0]
    e.set_field(node, "owners", ["a@example.com"])
    e.set_field(node, "aliases", ["e@example.com"])
    assert e.text() == (
        "groups:\n  - name: eng\n    email: eng@example.com\n"
        "    owners:\n      - a@example.com\n    aliases: [e@example.com]\n"
    )


def test_flow_style_entries_are_refused():
    e = edit("users:\n  - {email: a@example.com, given_name: A, family_name: B}\n")
    with pytest.raises(ValueError, match="flow-style"):
        e.set_field(e.entries("users")[0], "title", "X")


def test_reading_helpers():
    e = edit(USERS)
    assert [e.scalar(n, "email") for n in e.entries("users")] == [
        "ana@example.com",
        "jo@example.com",
        "kim@example.com",
    ]
    assert e.entries("groups") == []
    assert e.scalar(e.entries("users")[0], "aliases") is None  # not a scalar
    assert not e.created and edit("").created


# -- append_entry ------------------------------------------------------------------------------

NEW_USER = {"email": "new@example.com", "given_name": "New", "family_name": "Person"}


def test_appending_to_an_existing_list_keeps_everything_above_byte_for_byte():
    e = edit(USERS)
    e.append_entry("users", NEW_USER)
    out = e.text()
    cut = USERS.index("# The end.\n")
    assert out.startswith(USERS[:cut])
    assert out[cut:] == (
        "  - email: new@example.com\n    given_name: New\n    family_name: Person\n# The end.\n"
    )
    assert load(out)["users"][-1] == NEW_USER


def test_appending_to_a_list_followed_by_another_key():
    text = "users:\n  - email: a@example.com\n\nbindings:\n  - user: a@example.com\n"
    e = edit(text)
    e.append_entry("users", NEW_USER)
    e.append_entry("bindings", {"user": "new@example.com"})
    out = e.text()
    assert load(out) == {
        "users": [{"email": "a@example.com"}, NEW_USER],
        "bindings": [{"user": "a@example.com"}, {"user": "new@example.com"}],
    }
    assert out.startswith("users:\n  - email: a@example.com\n  - email: new@example.com\n")
    assert out.endswith("bindings:\n  - user: a@example.com\n  - user: new@example.com\n")


def test_appending_a_missing_key_adds_it_at_the_end():
    e = edit(USERS)
    e.append_entry("bindings", {"user": "new@example.com"})
    e.append_entry("groups", {"name": "eng", "members": ["a@example.com"]})
    out = e.text()
    assert out.startswith(USERS)
    assert out[len(USERS) :] == (
        "\ngroups:\n  - name: eng\n    members:\n      - a@example.com\n"
        "\nbindings:\n  - user: new@example.com\n"
    )


def test_appending_to_the_last_entry_of_a_file_without_a_final_newline():
    text = "users:\n  - email: a@example.com\n    given_name: A"
    e = edit(text)
    e.append_entry("users", NEW_USER)
    out = e.text()
    assert out.startswith(text + "\n")
    assert load(out)["users"] == [{"email": "a@example.com", "given_name": "A"}, NEW_USER]


def test_appending_a_key_to_a_file_without_a_final_newline():
    text = "# settings\nusers:\n  - email: a@example.com"
    e = edit(text)
    e.append_entry("bindings", {"user": "a@example.com"})
    assert e.text() == text + "\n\nbindings:\n  - user: a@example.com\n"


@pytest.mark.parametrize(
    "text",
    [
        "users:\n- email: a@example.com\n  given_name: A\n",  # dashes at the key's column
        "users:\n-   email: a@example.com\n    given_name: A\n",  # extra space after the dash
        "users:\n    - email: a@example.com\n      given_name: A\n",  # deeper indentation
    ],
)
def test_appending_follows_the_list_indentation(text):
    e = edit(text)
    e.append_entry("users", NEW_USER)
    out = e.text()
    assert out.startswith(text)
    assert load(out)["users"] == [{"email": "a@example.com", "given_name": "A"}, NEW_USER]


@pytest.mark.parametrize("value", ["[]", "", "[]  # none yet", "~"])
def test_appending_to_an_empty_list(value):
    text = f"# header\nusers: {value}\n\nbindings:\n  - user: a@example.com\n"
    e = edit(text)
    e.append_entry("users", NEW_USER)
    out = e.text()
    assert load(out) == {"users": [NEW_USER], "bindings": [{"user": "a@example.com"}]}
    assert out.startswith("# header\n")
    assert out.endswith("\n\nbindings:\n  - user: a@example.com\n")


def test_appending_to_a_list_in_flow_style_is_refused():
    e = edit("users: [{email: a@example.com}]\n")
    e.append_entry("users", NEW_USER)
    with pytest.raises(InvalidInput) as exc:
        e.text()
    assert exc.value.problems[0].line == 1
    assert "'users' is not a block list" in exc.value.problems[0].message


def test_a_new_file_is_written_in_canonical_form():
    e = FileEdit(Path("/nonexistent/imported.yaml"))
    assert e.created and e.original == ""
    e.append_entry("bindings", {"user": "b@example.com"})
    e.append_entry("users", {**NEW_USER, "email": "b@example.com", "phone": "+1 5"})
    e.append_entry("users", NEW_USER)
    e.append_entry("bindings", {"user": "new@example.com"})
    out = e.text()
    assert out == format_text(out, PATH)
    assert out == (
        "users:\n"
        "  - email: b@example.com\n"
        "    given_name: New\n"
        "    family_name: Person\n"
        '    phone: "+1 5"\n'
        "\n"
        "  - email: new@example.com\n"
        "    given_name: New\n"
        "    family_name: Person\n"
        "\n"
        "bindings:\n"
        "  - user: b@example.com\n"
        "  - user: new@example.com\n"
    )


def test_a_file_of_only_comments_keeps_them():
    text = "# Imported from Google.\n"
    e = edit(text)
    e.append_entry("users", NEW_USER)
    out = e.text()
    assert out.startswith(text + "\n")
    assert load(out) == {"users": [NEW_USER]}


def test_set_and_append_together():
    e = edit(USERS)
    e.set_field(entry(e, "kim@example.com"), "title", "Designer")
    e.append_entry("users", NEW_USER)
    out = e.text()
    users = load(out)["users"]
    assert users[2]["title"] == "Designer" and users[3] == NEW_USER
    assert out.index("title: Designer") < out.index("new@example.com")


def test_a_file_whose_top_is_not_a_mapping_has_no_entries():
    assert edit("- a\n- b\n").entries("users") == []


def test_removing_a_block_list_removes_all_its_lines_and_keeps_the_comment_after():
    e = edit(USERS)
    e.set_field(entry(e, "jo@example.com"), "aliases", None)
    gone, new = changed_lines(USERS, e.text())
    assert new == []
    assert gone == [
        "    aliases:\n",
        "      - jo.lei@example.com   # old\n",
        "      - j@example.com\n",
    ]


def test_removing_the_last_line_of_a_file_without_a_final_newline():
    text = "users:\n  - email: a@example.com\n    given_name: A\n    title: Boss"
    e = edit(text)
    e.set_field(entry(e, "a@example.com"), "title", None)
    assert e.text() == "users:\n  - email: a@example.com\n    given_name: A\n"
    assert load(e.text()) == {"users": [{"email": "a@example.com", "given_name": "A"}]}


def test_replacing_the_last_value_of_a_file_without_a_final_newline():
    text = "users:\n  - email: a@example.com\n    title: Boss"
    e = edit(text)
    e.set_field(entry(e, "a@example.com"), "title", "Chief: of staff")
    assert e.text() == 'users:\n  - email: a@example.com\n    title: "Chief: of staff"'

"""Rendering: snapshots of the example's first plan in text, markdown and json, and the
promises of each format (legend, `old -> new`, `Plan:` / `No changes.`, colour on request;
summary table first, folded details, escaping, a size cap; the contract JSON shape and a
checksum that only the changes move)."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from cli_support import EXAMPLE_CHANGES
from ruamel.yaml import YAML

from reconciler.desired import load_desired
from reconciler.plan.change import FieldChange
from reconciler.plan.diff import make_plan
from reconciler.plan.kinds import UserChange, change_from_json
from reconciler.plan.plan import Plan
from reconciler.plan.render import render_json, render_markdown, render_text, summary_line

from .builder import gone, group, have, member, state, unit, want, workspace
from .conftest import Example, copy_example

SNAPSHOTS = Path(__file__).parent / "snapshots"
GITHUB_COMMENT_LIMIT = 65_536


@pytest.fixture
def snap(snapshot):
    snapshot.snapshot_dir = SNAPSHOTS
    return snapshot


# -- snapshots of the example ----------------------------------------------------------------


def test_example_text(example: Example, snap) -> None:
    snap.assert_match(render_text(example.plan), "example-plan.txt")


def test_example_markdown(example: Example, snap) -> None:
    snap.assert_match(render_markdown(example.plan), "example-plan.md")


def test_example_json(example: Example, snap) -> None:
    # Without `meta` (time, commit, directory): only the plan, which is stable.
    snap.assert_match(render_json(example.plan), "example-plan.json")


# -- text ------------------------------------------------------------------------------------


def _small_plan() -> Plan:
    return make_plan(
        state(want("new", title="Eng"), want("jo", title="Lead"), want("old", state="deleted")),
        state(have("jo", title="Engineer"), have("old"), have("gone")),
        workspace(),
    )


def test_text_has_the_legend_a_block_per_change_and_the_summary_last() -> None:
    plan = _small_plan()
    text = render_text(plan)
    lines = text.splitlines()
    assert lines[0].startswith("Symbols: + create")
    assert "~ change in place" in lines[0] and "- suspend, delete or remove" in lines[0]
    heads = [line for line in lines if re.match(r"  [+~-] ", line)]
    assert heads == [
        "  + create user new@x.io",
        "  ~ update user jo@x.io",
        "  - suspend user gone@x.io (marked as ours but not in Git)",
        "  - delete user old@x.io",
    ]
    assert '      title: "Engineer" -> "Lead"' in lines
    assert '      title: "Eng"' in lines  # a create shows the new value only
    assert lines[-1] == (
        "Plan: 1 to create, 0 to rename, 0 to adopt, 1 to update, 0 to unsuspend, "
        "1 to suspend, 1 to delete."
    )


def test_text_shows_member_changes_in_the_summary() -> None:
    plan = make_plan(
        state(want("a"), want("b"), group("g", member("a", "OWNER"), member("b"))),
        state(have("a"), have("b"), have("c"), group("g", member("a"), member("c"))),
        workspace(),
    )
    text = render_text(plan)
    assert "  + add b@x.io to g@x.io as MEMBER" in text
    assert "  ~ change the role of a@x.io in g@x.io" in text
    assert '    role: "MEMBER" -> "OWNER"' in text
    assert "  - remove c@x.io from g@x.io" in text
    assert text.rstrip().endswith("members: 1 to add, 1 to change, 1 to remove.")


def _restoring_plan() -> Plan:
    return make_plan(
        state(want("jo", org_unit="/A", title="Lead"), want("al"), group("g", member("jo"))),
        state(
            unit("/A"),
            gone("jo", org_unit="/B", title="Eng", deleted="2026-03-02T10:00:00.000Z"),
            gone("al", owner=None, deleted="2026-03-05T08:00:00.000Z"),
            have("x", owner=None),
            group("g", member("x")),
        ),
        workspace(),
    )


def test_text_shows_an_undelete_as_a_restore_with_its_dates_and_org_unit() -> None:
    text = render_text(_restoring_plan())
    assert text.startswith("Symbols: + create, undelete or add, ~ change in place")
    assert (
        "  + undelete user al@x.io (deleted 2026-03-05; restorable until 2026-03-25)\n"
        '      org_unit: "/"\n'  # it stays where it was: the value once
        "  + undelete user jo@x.io (deleted 2026-03-02; restorable until 2026-03-22)\n"
        '      org_unit: "/B" -> "/A"\n'
        "  ~ adopt user al@x.io (takeover of a restored account)\n"
        "  ~ update user jo@x.io\n"
        '      title: "Eng" -> "Lead"\n'
        "  + add jo@x.io to g@x.io as MEMBER\n"
    ) in text


def test_the_summary_line_names_undeletes_only_when_there_are_some() -> None:
    plan = _restoring_plan()
    assert summary_line(plan) == (
        "Plan: 0 to create, 0 to rename, 1 to adopt, 1 to update, 0 to unsuspend, "
        "0 to suspend, 0 to delete, 2 to undelete; members: 1 to add, 1 to remove."
    )
    # Every plan without one keeps the line as it always was.
    assert "undelete" not in summary_line(_small_plan())


def test_markdown_and_json_count_undeletes() -> None:
    plan = _restoring_plan()
    assert "| undelete | 2 |" in render_markdown(plan)
    data = json.loads(render_json(plan))
    assert data["summary"]["undelete"] == 2
    first = data["changes"][0]
    assert first == {
        "action": "undelete",
        "kind": "user",
        "key": "al@x.io",
        "fields": {"org_unit": {"old": "/", "new": "/"}},
        "reason": "deleted 2026-03-05; restorable until 2026-03-25",
    }
    assert change_from_json(first) == plan.changes[0]


def test_text_says_no_changes_and_keeps_the_notes() -> None:
    assert render_text(Plan()) == "No changes. Google matches the desired state.\n"
    noted = render_text(Plan(notes=["user x@x.io: suspended by Google (ABUSE)"]))
    assert noted.startswith("No changes.")
    assert "Note: user x@x.io: suspended by Google (ABUSE)" in noted


def test_text_has_colour_only_when_asked() -> None:
    plan = _small_plan()
    assert "\x1b[" not in render_text(plan)
    coloured = render_text(plan, colour=True)
    assert "\x1b[32m+ create user new@x.io" in coloured  # green
    assert "\x1b[33m~ update user jo@x.io" in coloured  # yellow
    assert "\x1b[31m- delete user old@x.io" in coloured  # red
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == render_text(plan)


def test_text_says_plainly_when_a_plan_is_over_a_limit_and_how_to_override() -> None:
    within = make_plan(state(), state(have("a")), workspace(max_suspend=1))
    assert "UNSAFE" not in render_text(within)
    plan = make_plan(state(), state(have("a"), have("b"), have("c")), workspace(max_suspend=1))
    text = render_text(plan)
    assert "UNSAFE: this plan exceeds the safety limits of workspace.yaml:" in text
    assert "  - 3 suspensions planned; the limit is 1" in text
    assert "--allow-unsafe" in text


def test_text_says_plainly_what_is_refused() -> None:
    plan = make_plan(
        state(want("admin", state="suspended"), want("new")),
        state(have("admin")),
        workspace(protected=("admin",)),
    )
    text = render_text(plan)
    assert "Refused: never applied, with or without --allow-unsafe:" in text
    assert "  ! suspend user admin@x.io (refused: admin@x.io is protected" in text
    assert "UNSAFE: this plan would suspend, rename or delete protected accounts" in text
    assert "; 1 refused." in text


def test_text_names_the_source_of_each_change(example: Example) -> None:
    text = render_text(example.plan)
    assert "  + create user kenji.watanabe@example.com\n" in text
    assert "      # users/engineering.yaml:28\n" in text


# -- markdown --------------------------------------------------------------------------------


def test_markdown_puts_the_summary_table_first_and_folds_the_details(example: Example) -> None:
    md = render_markdown(example.plan)
    lines = md.splitlines()
    assert lines[0] == "### Reconciler plan" and lines[1] == ""
    assert lines[2].startswith("| | users | groups | org units | members |")
    assert lines[3].startswith("| --- |")
    details = lines.index(f"<details><summary>Details ({EXAMPLE_CHANGES} changes)</summary>")
    end = lines.index("</details>")
    table_end = lines.index("", 2)
    assert table_end < details < end
    assert all("rename" not in line for line in lines[:2])
    body = "\n".join(lines[details:end])
    assert "~ rename user maria.costa@example.com -> maria.silva@example.com" in body
    assert '    title:    "Senior Software Engineer" -> "Platform Team Lead"' in body


def test_markdown_summary_table_counts(example: Example) -> None:
    md = render_markdown(example.plan)
    rows = {
        line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
        for line in md.splitlines()
        if line.startswith("| ") and not line.startswith("| |")
    }
    # Columns: users, groups, org units, members, licenses, group settings, Entra groups,
    # Entra members.
    assert rows["create"] == ["2", "1", "1", "", "", "", "1", ""]
    assert rows["rename"] == ["2", "1", "", "", "", "", "", ""]
    assert rows["update"] == ["4", "1", "", "", "", "2", "1", ""]
    assert rows["add member"] == ["", "", "", "6", "", "", "", "8"]
    assert rows["assign license"] == ["", "", "", "", "4", "", "", ""]
    assert "delete" not in rows  # empty rows are left out


def test_markdown_says_no_changes() -> None:
    assert render_markdown(Plan()) == (
        "### Reconciler plan\n\nNo changes. Google matches the desired state.\n"
    )


HOSTILE = "a | b <script>alert(1)</script> `x` ``` ```` </details> *bold* [link](http://x)"


def _fences(md: str) -> list[tuple[int, str]]:
    return [(i, line) for i, line in enumerate(md.splitlines()) if re.match(r"^ {0,3}`{3,}", line)]


def test_markdown_values_cannot_break_out_of_the_code_block() -> None:
    plan = make_plan(
        state(want("jo", title=HOSTILE), group("g", member("jo"), description=HOSTILE)),
        state(have("jo"), group("g", member("jo"), description="plain")),
        workspace(),
    )
    md = render_markdown(plan)
    fences = _fences(md)
    # Exactly one code block: its opening and its closing fence, nothing in between that a
    # renderer would take for a fence.
    assert len(fences) == 2, fences
    (start, opening), (end, closing) = fences
    fence = opening.removesuffix("diff")
    assert closing == fence and len(fence) > 4  # longer than any run of backticks inside
    lines = md.splitlines()
    inside = "\n".join(lines[start + 1 : end])
    assert inside.count("<script>") == 2 and inside.count("</details>") == 2
    # The details element closes after the block.
    assert lines.index("</details>") == end + 2


def test_markdown_escapes_what_lies_outside_the_code_block() -> None:
    plan = Plan(
        changes=[UserChange("create", "a@x.io")],
        notes=[f"user a@x.io: {HOSTILE}"],
        over_limits=[f"limit | {HOSTILE}"],
    )
    md = render_markdown(plan, title="Plan for <b>main</b> | `x`")
    lines = md.splitlines()
    start, end = (i for i, _ in _fences(md))
    outside = [x for i, x in enumerate(lines) if not start <= i <= end and not x.startswith("|")]
    ours = re.compile(r"</?(details|summary)>|^\*\*|\*\*$")
    # Every <, |, backtick and * of a value outside the code block is escaped.
    unescaped = [x for x in outside if re.search(r"(?<!\\)[<|*]", ours.sub("", x))]
    assert unescaped == []
    assert r"### Plan for \<b\>main\</b\> \| \`x\`" in md
    assert r"\<script\>alert(1)\</script\>" in md
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert {line.count("|") - line.count(r"\|") for line in table} == {3}


def _huge_plan(n: int) -> Plan:
    changes = [
        UserChange(
            "update",
            f"user{i:05d}@x.io",
            {"title": FieldChange("Engineer " * 5, "Senior Engineer " * 5)},
        )
        for i in range(n)
    ]
    return Plan(changes=changes)


def test_markdown_truncates_a_huge_plan_with_a_clear_note() -> None:
    plan = _huge_plan(20_000)
    md = render_markdown(plan)
    assert len(md) < GITHUB_COMMENT_LIMIT
    assert "Plan: 0 to create, 0 to rename, 0 to adopt, 20000 to update" in md
    note = re.search(r"_Plan truncated: (\d+) of (\d+) lines not shown\. (.*)_", md)
    assert note is not None and note.group(2) == "40000"
    assert "The JSON plan has every change." in note.group(3)
    # The code block is still closed, and comes before the note.
    lines = md.splitlines()
    assert lines.index("</details>") < next(i for i, x in enumerate(lines) if "truncated" in x)
    assert len(_fences(md)) == 2


def test_markdown_of_a_plan_that_fits_is_not_truncated(example: Example) -> None:
    assert "truncated" not in render_markdown(example.plan)


def test_markdown_stays_under_the_limit_with_many_notes_and_refusals() -> None:
    """Notes (say, thousands of accounts of another repository that Git names) and refused
    changes count against the comment size too."""
    plan = _huge_plan(100)
    plan.notes = [
        f"user u{i:05d}@x.io: the account is managed by 'acme/other', not by this "
        "repository; left alone"
        for i in range(5_000)
    ]
    plan.refused = [
        UserChange("suspend", f"admin{i:05d}@x.io", reason="refused: a super admin")
        for i in range(2_000)
    ]
    md = render_markdown(plan)
    assert len(md) < GITHUB_COMMENT_LIMIT
    assert "> ... and 1980 more refused changes." in md
    assert "- ... and 4980 more notes; the JSON plan has them all." in md
    assert "! suspend user admin00000@x.io" in md  # the first refusals fit in the details
    assert "_Plan truncated: " in md


# -- json ------------------------------------------------------------------------------------


def test_json_has_the_design_shape(example: Example) -> None:
    data = json.loads(render_json(example.plan, {"created": "now"}))
    assert data["format_version"] == 1
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", data["checksum"])
    assert data["meta"] == {"created": "now"}
    counted = Counter(c["action"] for c in data["changes"])
    # Every action is listed, with 0 where there are none.
    assert data["summary"] == {action: counted.get(action, 0) for action in data["summary"]}
    assert set(data["summary"]) == {
        "create",
        "undelete",
        "update",
        "rename",
        "adopt",
        "suspend",
        "unsuspend",
        "delete",
        "add_member",
        "remove_member",
        "update_member",
        "sign_out",
        "revoke_tokens",
        "transfer_data",
        "require_password_change",
        "notify",
        "assign_license",
        "change_license",
        "revoke_license",
    }
    assert {a: n for a, n in data["summary"].items() if n} == {
        # Google's changes, and Entra ID's: a group created, one adopted and updated, eight
        # members added and one removed.
        "create": 4 + 1,
        "rename": 3,
        "adopt": 3 + 1,
        "update": 7 + 1,
        "unsuspend": 1,
        "add_member": 6 + 8,
        "update_member": 1,
        "remove_member": 1 + 1 + 1,  # the expired auditor too
        "suspend": 2,
        "notify": 1,  # Kenji's sign-in details to his manager
        "assign_license": 4,
        "change_license": 1,
        "revoke_license": 2,
    }
    by_action = {}
    for change in data["changes"]:
        assert {"action", "kind", "key"} <= set(change)
        if change["kind"] not in ("org_unit", "entra_group", "entra_membership"):
            assert change["key"] == change["key"].lower()  # Entra's: display names
        by_action.setdefault(change["action"], change)
    assert by_action["rename"]["from"] == "maria.costa@example.com"
    add = by_action["add_member"]
    assert add["kind"] == "membership"
    assert add["key"] == f"{add['group']}/{add['member']}"
    assert add["role"] in ("MEMBER", "MANAGER", "OWNER")
    update = next(c for c in data["changes"] if c["key"] == "priya.natarajan@example.com")
    assert update["fields"]["title"] == {
        "old": "Senior Software Engineer",
        "new": "Platform Team Lead",
    }
    assert update["source"] == "users/engineering.yaml:63"
    assert data["refused"] == [] and data["over_limits"] == []
    assert [n.split(":")[0] for n in data["notes"]] == ['Entra group "Engineering"']  # Lena


def test_change_json_round_trip(example: Example) -> None:
    for change in example.plan.changes:
        again = change_from_json(json.loads(json.dumps(change.to_json())))
        assert again == change
        assert again.to_json() == {k: v for k, v in change.to_json().items() if k != "source"}
    again = Plan(changes=[change_from_json(c.to_json()) for c in example.plan.changes])
    assert again.checksum() == example.plan.checksum()


def test_change_json_round_trip_of_aliases_and_renames() -> None:
    plan = make_plan(
        state(want("robert", aliases=("bob",))),
        state(have("rfischer", aliases=("robert", "rf"))),
        workspace(),
    )
    for change in plan.changes:
        assert change_from_json(json.loads(json.dumps(change.to_json()))) == change


def test_checksum_is_stable_across_runs(example: Example) -> None:
    again = make_plan(example.desired.state, example.actual, example.desired.workspace)
    assert again.checksum() == example.plan.checksum()
    assert render_json(again) == render_json(example.plan)


def test_checksum_ignores_where_entries_are_written(example: Example, tmp_path: Path) -> None:
    """Moving YAML entries to other lines and files changes `source`, not the checksum."""
    root = copy_example(tmp_path)
    yaml = YAML()
    engineering = root / "users" / "engineering.yaml"
    doc = yaml.load(engineering)
    doc["users"] = list(reversed(doc["users"]))
    (root / "people").mkdir()
    with (root / "people" / "eng-team.yaml").open("w") as f:
        f.write("# Moved here, in another order.\n\n\n")
        yaml.dump(doc, f)
    engineering.unlink()
    shutil.move(root / "groups" / "sales.yaml", root / "people" / "sales-groups.yaml")
    moved = load_desired(root)
    plan = make_plan(moved.state, example.actual, moved.workspace)
    assert plan.checksum() == example.plan.checksum()
    sources = {c.to_json().get("source") for c in plan.changes}
    assert "users/engineering.yaml:28" not in sources
    assert any(s and s.startswith("people/eng-team.yaml:") for s in sources)


def test_checksum_differs_when_a_change_differs(example: Example) -> None:
    base = example.plan.checksum()
    desired = example.desired.state
    users = dict(desired.users)
    users["emma.johnson@example.com"] = replace(
        users["emma.johnson@example.com"], phone="+1 555 0138"
    )
    other = make_plan(replace(desired, users=users), example.actual, example.desired.workspace)
    assert other.checksum() != base
    fewer = Plan(changes=example.plan.changes[:-1])
    assert fewer.checksum() != base
    moved = Plan(changes=[replace(c, origin=None) for c in example.plan.changes])
    assert moved.checksum() == base

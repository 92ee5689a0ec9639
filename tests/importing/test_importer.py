"""plan_import on hand-made actual States: cases the emulator cannot hold or that are quicker
to state directly (a customer member, shared nested groups, flow-style entries)."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from reconciler.commands.importing import ImportOptions, plan_import, write_edits
from reconciler.desired.load import load_tree
from reconciler.google.fetch import Actual
from reconciler.state import Group, Member, State, User

from .support import workspace_text

ME = "acme/identity"


def directory(root: Path, files: dict[str, str] | None = None) -> Path:
    root.mkdir()
    (root / "workspace.yaml").write_text(workspace_text(), encoding="utf-8")
    for name, text in (files or {}).items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def actual(users: list[User], groups: list[Group]) -> Actual:
    state = State(
        users={u.email: u for u in users},
        groups={g.email: g for g in groups},
    )
    return Actual(state, marker_schema=True)


def members(*rows: tuple[str, str, str]) -> dict[str, Member]:
    return {email: Member(email, role, kind) for email, role, kind in rows}  # type: ignore[arg-type]


def run(root: Path, found: Actual, **options) -> tuple[dict, list[str]]:
    edits, report = plan_import(load_tree(root), found, ImportOptions(**options))
    write_edits(edits, report)
    target = root / "imported.yaml"
    doc = YAML(typ="safe").load(target.read_text(encoding="utf-8")) if target.exists() else {}
    return doc or {}, report.notes


ANN = User("ann@example.com", "Ann", "A", org_unit="/")


def test_the_customer_as_a_member_cannot_be_named(tmp_path):
    group = Group(
        "all@example.com",
        "all",
        members=members(("ann@example.com", "MEMBER", "USER"), ("C01abc", "MEMBER", "CUSTOMER")),
    )
    doc, notes = run(directory(tmp_path / "d"), actual([ANN], [group]), groups=True)
    assert doc["groups"] == [
        {
            "name": "all",
            "email": "all@example.com",
            "members": ["ann@example.com"],
            "membership": "additive",
        }
    ]
    assert "group all@example.com: some members are not in Git; imported as additive" in notes


def test_a_nested_group_shared_by_two_parents(tmp_path):
    inner = Group(
        "inner@example.com", "inner", members=members(("ann@example.com", "MEMBER", "USER"))
    )
    parents = [
        Group(f"{p}@example.com", p, members=members(("inner@example.com", "MEMBER", "GROUP")))
        for p in ("a", "b")
    ]
    doc, _ = run(directory(tmp_path / "d"), actual([ANN], [inner, *parents]), groups=True)
    by_name = {g["name"]: g for g in doc["groups"]}
    assert by_name["a"]["members"] == by_name["b"]["members"] == ["inner@example.com"]
    assert "membership" not in by_name["a"] and "membership" not in by_name["b"]


def test_groups_that_hold_each_other(tmp_path):
    # Google refuses such loops, but a listing read mid-change could show one.
    loop = [
        Group("x@example.com", "x", members=members(("y@example.com", "MEMBER", "GROUP"))),
        Group("y@example.com", "y", members=members(("x@example.com", "MEMBER", "GROUP"))),
    ]
    doc, _ = run(directory(tmp_path / "d"), actual([], loop), groups=True)
    assert {g["name"]: g.get("members") for g in doc["groups"]} == {"x": None, "y": None}


def test_a_flow_style_group_is_noted_not_edited(tmp_path):
    text = "groups:\n  - {name: team, email: team@example.com, members: [x@partner.net]}\n"
    root = directory(tmp_path / "d", {"teams.yaml": text})
    group = Group(
        "team@example.com", "Team", members=members(("y@partner.net", "MEMBER", "EXTERNAL"))
    )
    _, notes = run(root, actual([], [group]), groups=True, mode="updates")
    assert "group team: written in flow style; not updated" in notes
    assert (root / "teams.yaml").read_text(encoding="utf-8") == text


def test_git_keeps_its_manager_when_googles_is_no_one_git_knows(tmp_path):
    text = (
        "users:\n"
        "  - email: ann@example.com\n    given_name: Ann\n    family_name: A\n"
        "  - email: jo@example.com\n    given_name: Jo\n    family_name: J\n"
        "    manager: ann@example.com\n"
    )
    root = directory(tmp_path / "d", {"people.yaml": text})
    jo = User("jo@example.com", "Jo", "J", manager="ghost@example.com")
    _, notes = run(root, actual([ANN, jo], []), mode="updates")
    assert "jo@example.com: manager ghost@example.com is not in Git; manager left out" in notes
    assert (root / "people.yaml").read_text(encoding="utf-8") == text


def test_a_manager_google_names_by_an_alias_is_written_by_the_primary_email(tmp_path):
    root = directory(tmp_path / "d")
    boss = User("boss@example.com", "B", "B", aliases=("ceo@example.com",))
    jo = User("jo@example.com", "Jo", "J", manager="ceo@example.com")
    text = "users:\n  - email: boss@example.com\n    given_name: B\n    family_name: B\n"
    (root / "people.yaml").write_text(text, encoding="utf-8")
    doc, _ = run(root, actual([boss, jo], []), mode="new")
    assert doc["users"] == [
        {
            "email": "jo@example.com",
            "given_name": "Jo",
            "family_name": "J",
            "manager": "boss@example.com",
        }
    ]


def test_group_aliases_outside_the_domains_stay_unmanaged_in_updates(tmp_path):
    text = "groups:\n  - name: team\n    email: team@example.com\n    members: [x@partner.net]\n"
    root = directory(tmp_path / "d", {"teams.yaml": text})
    group = Group(
        "team@example.com",
        "team",
        aliases=("team@elsewhere.net",),
        members=members(("x@partner.net", "MEMBER", "EXTERNAL")),
    )
    _, notes = run(root, actual([], [group]), groups=True, mode="updates")
    assert (
        "group team@example.com: alias team@elsewhere.net is not in directory.domains"
        in " ".join(notes)
    )
    assert (root / "teams.yaml").read_text(encoding="utf-8") == text

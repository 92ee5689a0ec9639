"""`import --groups` and group settings, on hand-made actual States (the settings Google
holds are `Group.settings` of the actual side, by YAML key): imported groups get the keys Git
declares, where Google differs from workspace.yaml's defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from reconciler.commands.importing import ImportOptions, plan_import, write_edits
from reconciler.desired.checks import RULES, run_checks
from reconciler.desired.index import Index
from reconciler.desired.load import load_tree, read_tree
from reconciler.google.fetch import Actual
from reconciler.state import Group, Member, State, User

from .support import workspace_text

ANN = User("ann@example.com", "Ann", "A", org_unit="/")
ANN_ENTRY = "users:\n  - {email: ann@example.com, given_name: Ann, family_name: A}\n"
DEFAULTS = """\
group_settings:                      # every group
  who_can_join: INVITED_CAN_JOIN
  allow_external_members: false
"""
# Every setting Google answers for a group (a few of them), as the actual side reads them.
GOOGLE = {
    "who_can_join": "INVITED_CAN_JOIN",
    "who_can_post_message": "ALL_MEMBERS_CAN_POST",
    "allow_external_members": False,
    "archive_only": False,
    "primary_language": "en",
}


def directory(root: Path, defaults: str = DEFAULTS, files: dict[str, str] | None = None) -> Path:
    root.mkdir()
    (root / "workspace.yaml").write_text(workspace_text() + defaults, encoding="utf-8")
    for name, text in {"people.yaml": ANN_ENTRY, **(files or {})}.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def group(email: str, settings: dict[str, Any] | None, *externals: str) -> Group:
    listed = {ANN.email: Member(ANN.email)}
    listed |= {e: Member(e, "MEMBER", "EXTERNAL") for e in externals}
    return Group(email, email.partition("@")[0], members=listed, settings=settings)


def run(root: Path, *groups: Group, mode: str = "all") -> tuple[dict, list[str]]:
    found = Actual(State(users={ANN.email: ANN}, groups={g.email: g for g in groups}), True)
    edits, report = plan_import(load_tree(root), found, ImportOptions(mode=mode, groups=True))  # type: ignore[arg-type]
    write_edits(edits, report)
    target = root / "imported.yaml"
    doc = YAML(typ="safe").load(target.read_text(encoding="utf-8")) if target.exists() else {}
    # What was written is valid (the emulator's seed file aside, which these tests lack).
    tree, problems = read_tree(root)
    rules = [name for name in RULES if name != "workspace"]
    problems += run_checks(Index.build(tree), rules)
    assert [p.message for p in problems if not p.warning] == []
    return doc or {}, report.notes


def test_a_new_group_gets_the_declared_keys_that_differ_from_the_defaults(tmp_path):
    settings = {**GOOGLE, "who_can_join": "ALL_IN_DOMAIN_CAN_JOIN"}
    doc, _ = run(directory(tmp_path / "d"), group("eng@example.com", settings))
    (eng,) = doc["groups"]
    # who_can_post_message, archive_only, primary_language: Git declares them nowhere.
    assert eng["settings"] == {"who_can_join": "ALL_IN_DOMAIN_CAN_JOIN"}


def test_a_new_group_like_the_defaults_gets_no_settings(tmp_path):
    doc, _ = run(directory(tmp_path / "d"), group("eng@example.com", GOOGLE))
    assert "settings" not in doc["groups"][0]


def test_settings_not_read_are_not_written(tmp_path):
    doc, _ = run(directory(tmp_path / "d"), group("eng@example.com", None))
    assert "settings" not in doc["groups"][0]


def test_without_settings_in_git_none_are_imported(tmp_path):
    root = directory(tmp_path / "d", defaults="")
    doc, _ = run(root, group("eng@example.com", {**GOOGLE, "who_can_join": "ANYONE_CAN_JOIN"}))
    assert "settings" not in doc["groups"][0]


def test_a_key_one_group_declares_is_imported_for_every_group(tmp_path):
    ops = (
        "groups:\n  - name: ops\n    email: ops@example.com\n    settings:\n"
        "      primary_language: de\n"
    )
    root = directory(tmp_path / "d", files={"ops.yaml": ops})
    doc, _ = run(root, group("eng@example.com", GOOGLE), mode="new")
    assert doc["groups"][0]["settings"] == {"primary_language": "en"}


def test_an_existing_group_is_edited_key_by_key(tmp_path):
    text = """\
groups:
  - name: eng
    email: eng@example.com   # the engineers
    members:
      - ann@example.com
    settings:
      primary_language: de   # German first
      who_can_join: ANYONE_CAN_JOIN   # open
"""
    root = directory(tmp_path / "d", files={"groups.yaml": text})
    # Google: who_can_join is now the default, allow_external_members differs from it.
    settings = {**GOOGLE, "allow_external_members": True, "primary_language": "de"}
    run(root, group("eng@example.com", settings), mode="updates")
    assert (root / "groups.yaml").read_text(encoding="utf-8") == text.replace(
        "      who_can_join: ANYONE_CAN_JOIN   # open\n",
        "      allow_external_members: true\n",
    )


def test_an_existing_group_like_the_defaults_loses_its_settings(tmp_path):
    text = (
        "groups:\n  - name: eng\n    email: eng@example.com\n    members: [ann@example.com]\n"
        "    settings: {who_can_join: ANYONE_CAN_JOIN}\n"
    )
    root = directory(tmp_path / "d", files={"groups.yaml": text})
    run(root, group("eng@example.com", GOOGLE), mode="updates")
    assert (root / "groups.yaml").read_text(encoding="utf-8") == text.replace(
        "    settings: {who_can_join: ANYONE_CAN_JOIN}\n", ""
    )


def test_an_existing_group_without_settings_gets_them(tmp_path):
    text = "groups:\n  - name: eng\n    email: eng@example.com\n    members: [ann@example.com]\n"
    root = directory(tmp_path / "d", files={"groups.yaml": text})
    run(root, group("eng@example.com", {**GOOGLE, "who_can_join": "CAN_REQUEST_TO_JOIN"}))
    assert (root / "groups.yaml").read_text(encoding="utf-8") == text + (
        "    settings:\n      who_can_join: CAN_REQUEST_TO_JOIN\n"
    )


def test_external_members_google_kept_are_left_out_where_they_are_not_allowed(tmp_path):
    # Google keeps the external members a group had when allowExternalMembers was turned
    # off; Git cannot list them (the external-members rule), so the group is additive.
    doc, notes = run(directory(tmp_path / "d"), group("eng@example.com", GOOGLE, "jo@partner.com"))
    (eng,) = doc["groups"]
    assert eng["members"] == ["ann@example.com"]
    assert eng["membership"] == "additive"
    assert (
        "group eng@example.com: external member jo@partner.com while allow_external_members "
        "is false; left out (Google keeps it)"
    ) in notes


def test_external_members_are_imported_where_the_group_allows_them(tmp_path):
    settings = {**GOOGLE, "allow_external_members": True}
    doc, _ = run(directory(tmp_path / "d"), group("eng@example.com", settings, "jo@partner.com"))
    (eng,) = doc["groups"]
    assert eng["members"] == ["ann@example.com", "jo@partner.com"]
    assert eng["settings"] == {"allow_external_members": True}
    assert "membership" not in eng

"""Attributes Google owns (`sync.import_attributes`): never written to Google but at create,
a plan note where Git differs, and `reconciler import --mode updates --summary` bringing
Google's values back into the YAML (the scheduled import's pull request)."""

from __future__ import annotations

import difflib
from pathlib import Path

from reconciler.settings import SYNCABLE_ATTRIBUTES, Sync

from .support import (
    account,
    cli,
    copy_example,
    example_tenant,
    plan_json,
    serve,
    state_dir,
    tenant,
)


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    gone, new = [], []
    for line in difflib.ndiff(before.splitlines(True), after.splitlines(True)):
        if line.startswith("- "):
            gone.append(line[2:])
        elif line.startswith("+ "):
            new.append(line[2:])
    return gone, new


def owned(root: Path, text: str) -> None:
    """Append workspace.yaml settings (sync:, import:) to the directory's workspace.yaml."""
    path = root / "workspace.yaml"
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


# -- settings ----------------------------------------------------------------------------------


def test_sync_attributes_default_to_every_attribute_google_does_not_own():
    sync = Sync.model_validate({"import_attributes": ["phone", "title"]})
    assert sync.attributes == [a for a in SYNCABLE_ATTRIBUTES if a not in ("phone", "title")]
    assert Sync.model_validate({}).attributes == list(SYNCABLE_ATTRIBUTES)
    assert Sync.model_validate({}).import_attributes == []


def test_an_attribute_in_both_lists_is_an_error_at_its_line(tmp_path, capsys):
    root = state_dir(tmp_path / "d", tenant([]))
    owned(root, "sync:\n  attributes: [title, phone]\n  import_attributes:\n    - title\n")
    owned(root, "import:\n  new_users: always\n")
    run = cli(capsys, "validate", root)
    assert run.code == 1
    lines = (root / "workspace.yaml").read_text(encoding="utf-8").splitlines()
    number = lines.index("    - title") + 1
    assert (
        f"workspace.yaml:{number}: workspace: sync.import_attributes.0: 'title' is in "
        "sync.attributes too: an attribute Google owns is never written to Google; name it "
        "in one of the two"
    ) in run.out + run.err
    assert "import.new_users: must be one of 'pr' or 'report'" in run.out + run.err


# -- the plan ----------------------------------------------------------------------------------

TEAM = """\
users:
  - email: jo@example.com
    given_name: Jo
    family_name: Lei
    title: Engineer        # Git's idea
    phone: "+1 555 0100"
  - email: new@example.com
    given_name: New
    family_name: Hire
    title: Analyst
bindings:
  - user: jo@example.com
  - user: new@example.com
"""


def test_the_plan_never_writes_an_attribute_google_owns_and_notes_the_difference(tmp_path, capsys):
    seed = tenant([account("jo@example.com", "Jo", "Lei", owner="acme/identity", title="Staff")])
    seed["users"][0]["phones"] = [{"type": "work", "value": "+1 555 0199"}]
    root = state_dir(tmp_path / "d", seed, {"users/team.yaml": TEAM})
    owned(root, "sync:\n  import_attributes: [title]\n")
    plan = plan_json(capsys, root)
    by_key = {(c["action"], c["key"]): c for c in plan["changes"]}
    # Git's phone is written (Git owns it); Google's title stays.
    assert by_key[("update", "jo@example.com")]["fields"] == {
        "phone": {"old": "+1 555 0199", "new": "+1 555 0100"}
    }
    # A create writes Git's value: the only one there is.
    assert by_key[("create", "new@example.com")]["fields"]["title"] == {
        "old": None,
        "new": "Analyst",
    }
    note = (
        'title of jo@example.com: Google has "Staff", Git "Engineer" (Google owns title: the '
        "import brings Google's value)"
    )
    assert note in plan["notes"]
    text = cli(capsys, "plan", root)
    assert f"Note: {note}" in text.out
    markdown = cli(capsys, "plan", root, "--format", "markdown")
    assert "title of jo@example.com: Google has" in markdown.out
    assert "Staff" not in "".join(str(c["fields"]) for c in plan["changes"])


# -- the scheduled import, end to end on the example -------------------------------------------


def test_a_change_in_google_comes_back_as_a_yaml_diff_and_a_summary(tmp_path, monkeypatch, capsys):
    """The done criterion: the example owns `department` in Google; an admin changes Jo's in
    the emulated Google; the import rewrites that one line (comments kept) and the summary,
    the pull request's body, lists it per user."""
    root = copy_example(tmp_path / "directory")
    server, google = serve(monkeypatch, example_tenant(), tmp_path / "tenant-state.json")
    try:
        quiet = plan_json(capsys, root)
        assert not [n for n in quiet["notes"] if "Google owns" in n]
        google.service.users().patch(
            userKey="jo.lei@example.com",
            body={
                "organizations": [
                    {"title": "Senior Software Engineer", "department": "Platform", "primary": True}
                ]
            },
        ).execute()
        # Before the import, a plan of Git notes Google's new value and writes nothing.
        plan = plan_json(capsys, root)
        assert (
            'department of jo.lei@example.com: Google has "Platform", Git "Engineering" '
            "(Google owns department: the import brings Google's value)"
        ) in plan["notes"]
        for change in plan["changes"]:
            if change["action"] != "create":  # a create writes Git's value, the only one
                assert "department" not in (change.get("fields") or {}), change
        assert plan["summary"] == quiet["summary"]

        users = root / "users" / "engineering.yaml"
        before = {p: p.read_bytes() for p in root.rglob("*.yaml")}
        summary = tmp_path / "summary.md"
        run = cli(capsys, "import", root, "--mode", "updates", "--summary", summary)
        assert run.code == 0, run.err
        assert "Imported 0 new and 1 updated users" in run.out
        after = {p: p.read_bytes() for p in root.rglob("*.yaml")}
        assert [p for p in after if after[p] != before.get(p)] == [users]
        gone, new = changed_lines(before[users].decode(), after[users].decode())
        assert gone == ["    department: Engineering\n"]
        assert new == ["    department: Platform\n"]

        body = summary.read_text(encoding="utf-8")
        assert "Attributes Google owns: department." in body
        assert "- **jo.lei@example.com**\n  - department: `Engineering` \u2192 `Platform`" in body
        # Accounts Google has that Git lacks are listed, not imported (new_users: report).
        assert "Not imported: set `import.new_users: pr`" in body
        assert "### In Google, not in Git (1 account)" in body and "- info@example.com" in body

        # After the import, the plan of the import's branch is quiet again.
        again = plan_json(capsys, root)
        assert not [n for n in again["notes"] if "Google owns" in n]
        assert again["summary"] == quiet["summary"]
        # Nothing differs any more: the summary says so, and no file changes.
        run = cli(capsys, "import", root, "--mode", "updates", "--summary", summary)
        assert run.code == 0, run.err
        assert {p: p.read_bytes() for p in root.rglob("*.yaml")} == after
        assert "No changes: Git holds Google's values." in summary.read_text(encoding="utf-8")
    finally:
        server.stop()


def test_updates_rewrite_only_the_attributes_google_owns(tmp_path, monkeypatch, capsys):
    seed = tenant(
        [
            account("jo@example.com", "Joanna", "Lei", owner="acme/identity", title="Staff"),
            account("cy@example.com", "Cy", "Ng", title="Intern"),
        ]
    )
    root = state_dir(tmp_path / "d", seed, {"users/team.yaml": TEAM})
    owned(root, "sync:\n  import_attributes: [title]\n")
    server, _ = serve(monkeypatch, seed, tmp_path / "tenant-state.json")
    try:
        path = root / "users" / "team.yaml"
        before = path.read_text(encoding="utf-8")
        summary = tmp_path / "summary.md"
        run = cli(capsys, "import", root, "--mode", "updates", "--summary", summary)
        assert run.code == 0, run.err
        gone, new = changed_lines(before, path.read_text(encoding="utf-8"))
        # Google's given name and phone differ too, but Git owns them: the plan writes them.
        assert gone == ["    title: Engineer        # Git's idea\n"]
        assert new == ["    title: Staff        # Git's idea\n"]
        assert not (root / "imported.yaml").exists()
        body = summary.read_text(encoding="utf-8")
        assert "  - title: `Engineer` \u2192 `Staff`" in body
        assert "given_name" not in body
        assert "### In Google, not in Git (1 account)" in body
        assert "- cy@example.com" in body
    finally:
        server.stop()


def test_new_users_pr_imports_the_accounts_git_lacks(tmp_path, monkeypatch, capsys):
    seed = tenant(
        [
            account("jo@example.com", "Jo", "Lei", owner="acme/identity", title="Engineer"),
            account("cy@example.com", "Cy", "Ng", title="Intern", phone="+1 555 0177"),
        ]
    )
    root = state_dir(tmp_path / "d", seed, {"users/team.yaml": TEAM})
    owned(root, "sync:\n  import_attributes: [title]\nimport:\n  new_users: pr\n")
    server, _ = serve(monkeypatch, seed, tmp_path / "tenant-state.json")
    try:
        summary = tmp_path / "summary.md"
        run = cli(capsys, "import", root, "--mode", "updates", "--summary", summary)
        assert run.code == 0, run.err
        assert "Imported 1 new and 0 updated users" in run.out
        imported = (root / "imported.yaml").read_text(encoding="utf-8")
        assert "email: cy@example.com" in imported and "user: cy@example.com" in imported
        assert "title: Intern" in imported and "+1 555 0177" in imported
        body = summary.read_text(encoding="utf-8")
        assert "### New in Google, imported (1 account)\n\n- cy@example.com" in body
        assert "Not imported" not in body
        assert cli(capsys, "validate", root).code == 0
    finally:
        server.stop()

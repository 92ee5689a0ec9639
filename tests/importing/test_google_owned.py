"""Attributes Google owns (`sync.import_attributes`): never written to Google but at create,
a plan note where Git differs, and `reconciler import --mode updates --summary` bringing
Google's values back into the YAML (the scheduled import's pull request)."""

from __future__ import annotations

from pathlib import Path

from reconciler.settings import SYNCABLE_ATTRIBUTES, Sync

from .support import (
    account,
    changed_lines,
    cli,
    copy_example,
    example_tenant,
    plan_json,
    serve,
    state_dir,
    tenant,
)


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
        assert '- **jo.lei@example.com**\n  - department: "Engineering" \u2192 "Platform"' in body
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
        assert '  - title: "Engineer" \u2192 "Staff"' in body
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


# -- what Google owns is not managed anywhere else: restores, org units, offboarding ----------

JO_IN_ENG = """\
users:
  - email: jo@example.com
    given_name: Jo
    family_name: Lei
    org_unit: /Eng
bindings:
  - user: jo@example.com
"""


def _changes(plan: dict) -> list[tuple[str, str, dict]]:
    return [(c["action"], c["key"], c.get("fields") or {}) for c in plan["changes"]]


def test_a_restore_leaves_an_org_unit_google_owns_where_google_had_it(tmp_path, capsys):
    seed = tenant(
        [account("admin@example.com", "Ad", "Min", admin=True)], org_units=["/Eng", "/Sales"]
    )
    gone = account("jo@example.com", "Jo", "Lei", owner="acme/identity", org_unit="/Sales")
    gone["id"] = "123"
    seed["deletedUsers"] = [gone]
    root = state_dir(tmp_path / "d", seed, {"users/team.yaml": JO_IN_ENG})
    owned(root, "sync:\n  import_attributes: [org_unit]\n")
    plan = plan_json(capsys, root)
    undelete = [c for c in _changes(plan) if c[0] == "undelete"]
    assert undelete and undelete[0][2].get("org_unit", {}).get("new", "/Sales") == "/Sales"
    assert not [c for c in _changes(plan) if c[0] == "update" and "org_unit" in c[2]]


def test_org_units_only_git_values_of_a_google_owned_attribute_name_are_not_made(tmp_path, capsys):
    seed = tenant(
        [
            account("jo@example.com", "Jo", "Lei", owner="acme/identity", org_unit="/Eng"),
            account("al@example.com", "Al", "Lo", owner="acme/identity", org_unit="/Eng"),
        ]
    )
    team = JO_IN_ENG.replace("org_unit: /Eng", "org_unit: /eng").replace(
        "bindings:",
        "  - email: al@example.com\n    given_name: Al\n    family_name: Lo\n"
        "    org_unit: /Gone/Old\nbindings:\n  - user: al@example.com",
    )
    root = state_dir(tmp_path / "d", seed, {"users/team.yaml": team})
    owned(root, "sync:\n  import_attributes: [org_unit]\n")
    plan = plan_json(capsys, root)
    assert [c for c in _changes(plan) if c[1].startswith("/")] == []  # no unit made or renamed
    assert any("org_unit of al@example.com" in n for n in plan["notes"])


def test_offboarding_moves_an_account_even_when_google_owns_its_unit(tmp_path, capsys):
    seed = tenant(
        [account("jo@example.com", "Jo", "Lei", owner="acme/identity", org_unit="/Eng")],
        org_units=["/Former"],
    )
    team = JO_IN_ENG.replace("    org_unit: /Eng\n", "    org_unit: /Eng\n    state: suspended\n")
    root = state_dir(tmp_path / "d", seed, {"users/team.yaml": team})
    owned(root, "sync:\n  import_attributes: [org_unit]\noffboarding:\n  org_unit: /Former\n")
    plan = plan_json(capsys, root)
    moves = [c for c in _changes(plan) if c[0] == "update" and "org_unit" in c[2]]
    assert moves and moves[0][2]["org_unit"]["new"] == "/Former"


def test_data_goes_to_the_manager_google_has_when_google_owns_the_manager(tmp_path, capsys):
    seed = tenant(
        [
            account(
                "jo@example.com",
                "Jo",
                "Lei",
                owner="acme/identity",
                manager="new@example.com",
                suspended=True,
            ),
            account("new@example.com", "N", "M", owner="acme/identity"),
            account("old@example.com", "O", "M", owner="acme/identity"),
        ]
    )
    team = """\
users:
  - email: jo@example.com
    given_name: Jo
    family_name: Lei
    manager: old@example.com
    state: suspended
  - email: new@example.com
    given_name: N
    family_name: M
  - email: old@example.com
    given_name: O
    family_name: M
bindings:
  - user: jo@example.com
  - user: new@example.com
  - user: old@example.com
"""
    root = state_dir(tmp_path / "d", seed, {"users/team.yaml": team})
    owned(root, "sync:\n  import_attributes: [manager]\noffboarding:\n  transfer_to: manager\n")
    plan = plan_json(capsys, root)
    transfers = [c for c in _changes(plan) if c[0] == "transfer_data"]
    assert transfers and transfers[0][2]["to"]["new"] == "new@example.com"


def test_google_values_in_the_pull_request_body_are_text_on_one_line(tmp_path, monkeypatch, capsys):
    """Anyone who edits a profile writes these values: in the body they may not end a code
    span, make a heading, an image, a link or an @mention."""
    evil = "x`\n\n# PWNED <img src=x onerror=alert(1)> [click](https://evil.example) @octocat"
    seed = tenant([account("jo@example.com", "Jo", "Lei", owner="acme/identity", title=evil)])
    team = (
        "users:\n  - email: jo@example.com\n    given_name: Jo\n    family_name: Lei\n"
        "    title: Engineer   # keep me\nbindings:\n  - user: jo@example.com\n"
    )
    root = state_dir(tmp_path / "d", seed, {"users/team.yaml": team})
    owned(root, "sync:\n  import_attributes: [title]\n")
    server, _ = serve(monkeypatch, seed, tmp_path / "tenant-state.json")
    try:
        summary = tmp_path / "summary.md"
        assert cli(capsys, "import", root, "--mode", "updates", "--summary", summary).code == 0
    finally:
        server.stop()
    body = summary.read_text(encoding="utf-8")
    line = next(li for li in body.splitlines() if li.startswith("  - title:"))
    assert "PWNED" in line and "\n# PWNED" not in body  # one line, no heading
    unescaped = body.replace("\\<", "").replace("\\]", "")
    assert "<img" not in unescaped and "](https" not in unescaped and " @octocat" not in body
    assert "\\<img" in line and "@\u200boctocat" in line

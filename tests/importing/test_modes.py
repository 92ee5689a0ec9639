"""`reconciler import` modes on the emulator: new, updates, all, --user, suspended accounts,
accounts import must never take, and sync.attributes."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from .support import (
    THEIRS,
    account,
    changed_lines,
    cli,
    plan_actions,
    serve,
    state_dir,
    tenant,
    user_entry,
)

# Git's file: hand-written, with comments and odd but valid formatting.
TEAM = """\
# The team, edited by hand. Keep every comment.

users:
  # Ana leads.
  - email: ana@example.com     # marked as ours
    given_name: Ana
    family_name: 'Ruiz'
    org_unit: /Eng
    title: "Lead"   # old title
    department: Eng
    manager: bo@example.com
    phone: "+1 555 0100"
    employee_id: E-1
    aliases: [ana.r@example.com]


  - email: bo@example.com
    given_name: Bo
    family_name: Berg
    title: CEO
    phone: "+1 555 0199"    # Git's old number
  # Gus is on leave.
  - email: gus@example.com
    given_name: Gus
    family_name: Grey
    title: Support
bindings:
  - {user: ana@example.com}
  - user: bo@example.com   # the boss
  - user: gus@example.com
"""

# What Google holds. Against Git: Ana's title and aliases, Bo's phone and Gus's title
# changed; cy, di, ed and fa are accounts Git lacks.
ACCOUNTS = [
    account(
        "ana@example.com",
        "Ana",
        "Ruiz",
        owner="acme/identity",
        org_unit="/Eng",
        title="Principal",
        department="Eng",
        manager="bo@example.com",
        phone="+1 555 0100",
        employee_id="E-1",
        aliases=["ana.r@example.com", "a@example.com"],
    ),
    account("bo@example.com", "Bo", "Berg", title="CEO", phone="+1 555 0101"),
    account(
        "gus@example.com",
        "Gus",
        "Grey",
        owner="acme/identity",
        title="Support Lead",
        suspended=True,
    ),
    account(
        "cy@example.com",
        "Cy",
        "Chan",
        org_unit="/Eng",
        title="Engineer",
        department="Eng",
        manager="ana@example.com",
        phone="+1 555 0102",
        employee_id="E-7",
        aliases=["cyrus@example.com"],
    ),
    account(
        "di@example.com", "Di", "Dorn", title="Intern", manager="ana@example.com", suspended=True
    ),
    account("ed@example.com", "Ed", "Eder", owner=THEIRS),
    account("fa@example.org", "Fa", "Fox", manager="nobody@example.com"),
]


@pytest.fixture
def team(tmp_path: Path) -> Path:
    return state_dir(tmp_path / "team", tenant(ACCOUNTS), {"users/team.yaml": TEAM})


def imported(root: Path, name: str = "imported.yaml") -> dict:
    return YAML(typ="safe").load((root / name).read_text(encoding="utf-8"))


def emails(doc: dict, key: str = "users") -> list[str]:
    return [e.get("email") or e.get("user") for e in doc.get(key, [])]


# -- new ---------------------------------------------------------------------------------------


def test_new_adds_what_git_lacks_and_leaves_git_entries_alone(team, capsys):
    run = cli(capsys, "import", team, "--mode", "new")
    assert run.code == 0, run.err
    assert "Imported 2 new and 0 updated users" in run.out
    assert (team / "users/team.yaml").read_text(encoding="utf-8") == TEAM
    doc = imported(team)
    assert emails(doc) == ["cy@example.com", "fa@example.org"]
    assert emails(doc, "bindings") == ["cy@example.com", "fa@example.org"]
    assert doc["users"][0] == {
        "email": "cy@example.com",
        "given_name": "Cy",
        "family_name": "Chan",
        "org_unit": "/Eng",
        "title": "Engineer",
        "department": "Eng",
        "manager": "ana@example.com",
        "phone": "+1 555 0102",
        "employee_id": "E-7",
        "aliases": ["cyrus@example.com"],
    }
    # Google's manager is no one Git knows: left out, and said so.
    assert "manager" not in doc["users"][1]
    assert "fa@example.org: manager nobody@example.com is not in Git" in run.err
    assert "di@example.com: suspended; not imported" in run.err
    assert f"ed@example.com: managed by '{THEIRS}'; not imported" in run.err
    actions = plan_actions(capsys, team)
    assert ("adopt", "cy@example.com") in actions and ("adopt", "fa@example.org") in actions
    assert not [
        a for a in actions if a[1] in ("cy@example.com", "fa@example.org") and a[0] != "adopt"
    ]


def test_new_entries_go_to_the_file_named(team, capsys):
    run = cli(capsys, "import", team, "--mode", "new", "--file", "people/from-google.yml")
    assert run.code == 0, run.err
    assert not (team / "imported.yaml").exists()
    assert emails(imported(team, "people/from-google.yml")) == ["cy@example.com", "fa@example.org"]
    assert "wrote " in run.out and "from-google.yml" in run.out


def test_new_appends_to_an_existing_target_and_keeps_it_above(team, capsys):
    before = TEAM.rstrip("\n")  # and without a final newline
    (team / "users/team.yaml").write_text(before, encoding="utf-8")
    run = cli(capsys, "import", team, "--mode", "new", "--file", "users/team.yaml")
    assert run.code == 0, run.err
    after = (team / "users/team.yaml").read_text(encoding="utf-8")
    users_end = before.index("bindings:")
    # Everything up to the end of the users list is byte-identical; the new users follow it.
    assert after.startswith(before[:users_end])
    assert after[users_end:].startswith("  - email: cy@example.com\n")
    doc = YAML(typ="safe").load(after)
    assert emails(doc) == [
        "ana@example.com",
        "bo@example.com",
        "gus@example.com",
        "cy@example.com",
        "fa@example.org",
    ]
    assert emails(doc, "bindings")[-2:] == ["cy@example.com", "fa@example.org"]
    gone, _ = changed_lines(before, after)
    assert gone == ["  - user: gus@example.com"]  # only for the newline the file lacked
    assert cli(capsys, "validate", team).code == 0


# -- updates -----------------------------------------------------------------------------------


def test_updates_rewrites_only_the_changed_values_and_adds_nothing(team, capsys):
    run = cli(capsys, "import", team, "--mode", "updates")
    assert run.code == 0, run.err
    assert "Imported 0 new and 3 updated users" in run.out
    assert not (team / "imported.yaml").exists()
    after = (team / "users/team.yaml").read_text(encoding="utf-8")
    gone, new = changed_lines(TEAM, after)
    assert gone == [
        '    title: "Lead"   # old title\n',
        "    aliases: [ana.r@example.com]\n",
        '    phone: "+1 555 0199"    # Git\'s old number\n',
        "    title: Support\n",
    ]
    assert new == [
        "    title: Principal   # old title\n",
        "    aliases: [a@example.com, ana.r@example.com]\n",
        '    phone: "+1 555 0101"    # Git\'s old number\n',
        "    title: Support Lead\n",
    ]
    # Nothing left for a plan to change in the attributes: only taking Bo over, and Gus's
    # suspension, which is state, not an attribute.
    assert plan_actions(capsys, team) == [
        ("adopt", "bo@example.com"),
        ("unsuspend", "gus@example.com"),
    ]


def test_updates_follows_changes_made_in_the_tenant(tmp_path, monkeypatch, capsys):
    seed = tenant(ACCOUNTS)
    root = state_dir(tmp_path / "team", seed, {"users/team.yaml": TEAM})
    server, google = serve(monkeypatch, seed, tmp_path / "tenant-state.json")
    try:
        assert cli(capsys, "import", root, "--mode", "updates").code == 0
        users = google.service.users()
        users.patch(
            userKey="bo@example.com",
            body={"organizations": [{"primary": True, "title": "Chair"}]},
        ).execute()
        users.aliases().insert(
            userKey="bo@example.com", body={"alias": "boss@example.com"}
        ).execute()
        users.aliases().delete(userKey="ana@example.com", alias="a@example.com").execute()
        users.patch(
            userKey="ana@example.com", body={"phones": [{"type": "work", "value": "+1 5"}]}
        ).execute()
        before = (root / "users/team.yaml").read_text(encoding="utf-8")
        run = cli(capsys, "import", root, "--mode", "updates")
        assert run.code == 0, run.err
        assert "Imported 0 new and 2 updated users" in run.out
        after = (root / "users/team.yaml").read_text(encoding="utf-8")
        gone, new = changed_lines(before, after)
        assert new == [
            '    phone: "+1 5"\n',
            "    aliases: [ana.r@example.com]\n",
            "    title: Chair\n",
            "    aliases: [boss@example.com]\n",
        ]
        assert len(gone) == 3  # Bo had no aliases: that line is new
        bo = user_entry(root, "bo@example.com")
        assert (bo.title, bo.aliases) == ("Chair", ["boss@example.com"])
        # Import only reads.
        methods = server.stats_json()["by_method"]
        writes = {m: n for m, n in methods.items() if not m.endswith((".list", ".get"))}
        assert set(writes) == {
            "directory.users.patch",
            "directory.users.aliases.insert",
            "directory.users.aliases.delete",
        }  # the test's own changes, nothing more
    finally:
        server.stop()


def test_updates_keeps_git_alone_where_google_agrees(tmp_path, capsys):
    text = (
        "users:\n  - email: jo@example.com\n    given_name: Jo\n    family_name: Lei\n"
        "    org_unit: /\n    title: Dev\nbindings:\n  - user: jo@example.com\n"
    )
    seed = tenant([account("jo@example.com", "Jo", "Lei", title="Dev", org_unit="/")])
    root = state_dir(tmp_path / "same", seed, {"jo.yaml": text})
    run = cli(capsys, "import", root, "--mode", "updates")
    assert run.code == 0, run.err
    assert "Imported 0 new and 0 updated users" in run.out and "wrote" not in run.out
    assert (root / "jo.yaml").read_text(encoding="utf-8") == text  # org_unit: / stays


def test_updates_keep_gits_spelling_of_an_org_unit(tmp_path, capsys):
    # Google's org unit paths ignore case: /engineering is the unit Google spells otherwise.
    text = (
        "org_units:\n  - path: /engineering\nusers:\n  - email: jo@example.com\n"
        "    given_name: Jo\n    family_name: Lei\n    org_unit: /engineering\n"
        "bindings:\n  - user: jo@example.com\n"
    )
    seed = tenant([account("jo@example.com", "Jo", "Lei", org_unit="/Engineering")])
    root = state_dir(tmp_path / "case", seed, {"jo.yaml": text})
    run = cli(capsys, "import", root, "--mode", "updates")
    assert run.code == 0, run.err
    assert "Imported 0 new and 0 updated users" in run.out
    assert (root / "jo.yaml").read_text(encoding="utf-8") == text


def test_updates_of_a_flow_style_entry_is_a_note_not_an_edit(tmp_path, capsys):
    text = "users:\n  - {email: bo@example.com, given_name: Bo, family_name: Old}\n"
    root = state_dir(
        tmp_path / "flow", tenant([account("bo@example.com", "Bo", "New")]), {"u.yaml": text}
    )
    run = cli(capsys, "import", root, "--mode", "updates")
    assert run.code == 0, run.err
    assert "bo@example.com: written in flow style; not updated" in run.err
    assert (root / "u.yaml").read_text(encoding="utf-8") == text


# -- all ---------------------------------------------------------------------------------------


def test_all_adds_and_updates(team, capsys):
    run = cli(capsys, "import", team)
    assert run.code == 0, run.err
    assert "Imported 2 new and 3 updated users" in run.out
    assert emails(imported(team)) == ["cy@example.com", "fa@example.org"]
    assert user_entry(team, "ana@example.com").title == "Principal"
    actions = plan_actions(capsys, team)
    assert {a for a, _ in actions} == {"adopt", "unsuspend"}


# -- choosing accounts -------------------------------------------------------------------------


def test_user_limits_the_import_to_the_named_accounts_by_primary_or_alias(team, capsys):
    run = cli(capsys, "import", team, "--user", "cyrus@example.com", "--user", " BO@example.com ")
    assert run.code == 0, run.err
    assert "Imported 1 new and 1 updated users" in run.out
    assert emails(imported(team)) == ["cy@example.com"]
    assert user_entry(team, "bo@example.com").phone == "+1 555 0101"
    assert user_entry(team, "ana@example.com").title == "Lead"  # not named: untouched
    assert "fa@example.org" not in run.err  # accounts not chosen get no notes


def test_user_naming_an_account_import_must_not_take(team, capsys):
    run = cli(capsys, "import", team, "--user", "ed@example.com", "--user", "di@example.com")
    assert run.code == 0, run.err
    assert "Imported 0 new and 0 updated users" in run.out
    assert not (team / "imported.yaml").exists()
    assert "ed@example.com: managed by" in run.err and "di@example.com: suspended" in run.err


def test_suspended_accounts_come_with_include_suspended(team, capsys):
    run = cli(capsys, "import", team, "--mode", "new", "--include-suspended")
    assert run.code == 0, run.err
    doc = imported(team)
    assert emails(doc) == ["cy@example.com", "di@example.com", "fa@example.org"]
    di = doc["users"][1]
    assert di["state"] == "suspended" and di["manager"] == "ana@example.com"
    assert "di@example.com" in emails(doc, "bindings")  # bound: it keeps its account
    actions = plan_actions(capsys, team)
    assert ("adopt", "di@example.com") in actions
    assert not [a for a in actions if a[1] == "di@example.com" and a[0] != "adopt"]


def test_accounts_outside_the_domains_are_never_imported(tmp_path, capsys):
    root = state_dir(tmp_path / "com", tenant(ACCOUNTS), domains=["example.com"])
    run = cli(capsys, "import", root, "--user", "fa@example.org", "--user", "cy@example.com")
    assert run.code == 0, run.err
    assert "fa@example.org: not in directory.domains; not imported" in run.err
    assert emails(imported(root)) == ["cy@example.com"]


def test_accounts_another_repository_marks_are_never_imported_even_in_updates(tmp_path, capsys):
    text = "users:\n  - email: ed@example.com\n    given_name: Ed\n    family_name: Old\n"
    root = state_dir(tmp_path / "theirs", tenant(ACCOUNTS), {"ed.yaml": text})
    run = cli(capsys, "import", root, "--mode", "updates", "--user", "ed@example.com")
    assert run.code == 0, run.err
    assert "managed by 'acme/marketing-sites'; not imported" in run.err
    assert (root / "ed.yaml").read_text(encoding="utf-8") == text


# -- sync.attributes ---------------------------------------------------------------------------


def test_unsynced_attributes_are_not_written(tmp_path, capsys):
    sync = ["given_name", "family_name", "title"]
    root = state_dir(tmp_path / "sync", tenant(ACCOUNTS), {"users/team.yaml": TEAM}, sync=sync)
    run = cli(capsys, "import", root)
    assert run.code == 0, run.err
    doc = imported(root)
    assert doc["users"][0] == {
        "email": "cy@example.com",
        "given_name": "Cy",
        "family_name": "Chan",
        "title": "Engineer",
    }
    # Updates touch synced attributes only: Bo's phone and Ana's aliases stay as Git has them.
    gone, new = changed_lines(TEAM, (root / "users/team.yaml").read_text(encoding="utf-8"))
    assert new == ["    title: Principal   # old title\n", "    title: Support Lead\n"]
    assert len(gone) == 2
    actions = plan_actions(capsys, root)
    assert {a for a, _ in actions} == {"adopt", "unsuspend"}


def test_a_renamed_account_found_by_its_alias_is_updated_without_its_own_address(tmp_path, capsys):
    # Git names the account by an address Google holds as an alias (a rename is planned).
    text = (
        "users:\n  - email: robert@example.com\n    given_name: Robert\n    family_name: F\n"
        "bindings:\n  - user: robert@example.com\n"
    )
    google = account(
        "rf@example.com", "Robert", "Fischer", aliases=["robert@example.com", "bob@example.com"]
    )
    root = state_dir(tmp_path / "rename", tenant([google]), {"r.yaml": text})
    run = cli(capsys, "import", root, "--mode", "updates")
    assert run.code == 0, run.err
    robert = user_entry(root, "robert@example.com")
    assert robert.family_name == "Fischer"
    # After the rename Google holds its old primary as an alias, and bob@ stays.
    assert robert.aliases == ["bob@example.com", "rf@example.com"]
    actions = plan_actions(capsys, root)
    assert actions == [("adopt", "robert@example.com"), ("rename", "robert@example.com")]


def test_aliases_and_groups_outside_the_domains_are_left_out(tmp_path, capsys):
    from .support import google_group

    seed = tenant(
        [
            account("ana@example.com", "Ana", "A", aliases=["ana@example.org", "a@example.com"]),
            account("lu@example.org", "Lu", "L"),
        ],
        [
            google_group("europe@example.org", "Europe", members=["ana@example.com"]),
            google_group(
                "team@example.com",
                "Team",
                members=["ana@example.com"],
                aliases=["team@example.org"],
            ),
        ],
    )
    root = state_dir(tmp_path / "one-domain", seed, domains=["example.com"])
    run = cli(capsys, "import", root, "--groups")
    assert run.code == 0, run.err
    doc = imported(root)
    assert [g["email"] for g in doc["groups"]] == ["team@example.com"]
    assert "aliases" not in doc["groups"][0] and "aliases" not in doc["users"][0]
    assert "group europe@example.org: not in directory.domains; not imported" in run.err
    assert "ana@example.com: alias ana@example.org is not in directory.domains" in run.err
    assert "group team@example.com: alias team@example.org is not in directory.domains" in run.err
    assert cli(capsys, "validate", root).code == 0
    assert {a for a, _ in plan_actions(capsys, root)} == {"adopt"}


def test_a_target_import_cannot_append_to_is_an_error_and_nothing_is_written(team, capsys):
    flow = "users: [{email: zz@example.com, given_name: Z, family_name: Z}]\n"
    (team / "more.yaml").write_text(flow, encoding="utf-8")
    run = cli(capsys, "import", team, "--file", "more.yaml")
    assert run.code == 1
    assert "more.yaml:1: 'users' is not a block list" in run.err
    assert "nothing was changed" in run.err and "Traceback" not in run.err
    # Not even the updates to other files: an import is written whole or not at all.
    assert (team / "users/team.yaml").read_text(encoding="utf-8") == TEAM
    assert (team / "more.yaml").read_text(encoding="utf-8") == flow


def test_user_may_name_an_account_by_the_address_git_gives_it(tmp_path, capsys):
    text = (
        "users:\n  - email: maria.silva@example.com\n    given_name: Maria\n"
        "    family_name: Silva\n    title: Engineer\n"
        "    previous_emails: [maria.costa@example.com]\n"
    )
    google = account("maria.costa@example.com", "Maria", "Silva", title="Staff Engineer")
    root = state_dir(tmp_path / "renamed", tenant([google]), {"m.yaml": text})
    run = cli(
        capsys, "import", root, "--user", "maria.silva@example.com", "--user", "nobdy@example.com"
    )
    assert run.code == 0, run.err
    assert "Imported 0 new and 1 updated users" in run.out
    assert user_entry(root, "maria.silva@example.com").title == "Staff Engineer"
    assert "--user nobdy@example.com: no account in Google has that address" in run.err

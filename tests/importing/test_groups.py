"""`reconciler import --groups`: groups with owners, managers, members, nested groups and
external addresses; additive where Git cannot name a member; updates of groups Git has."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from .support import (
    THEIRS,
    account,
    cli,
    copy_example,
    google_group,
    group_entry,
    plan_actions,
    state_dir,
    tenant,
)

PEOPLE = [
    account("ann@example.com", "Ann", "A"),
    account("ben@example.com", "Ben", "B"),
    account("cat@example.org", "Cat", "C"),
    account("dan@example.com", "Dan", "D", suspended=True),
    account("eve@example.com", "Eve", "E", owner=THEIRS),
]
GROUPS = [
    google_group(
        "eng@example.com",
        "Engineering",
        owners=["ann@example.com"],
        managers=["ben@example.com"],
        members=["cat@example.org"],
        groups=["platform@example.com"],
        external=["x@partner.net"],
        aliases=["engineering@example.com"],
        description="All engineers: | pipes, 'quotes' and # hashes",
    ),
    google_group(
        "platform@example.com", "platform", members=["ann@example.com", "cat@example.org"]
    ),
    google_group("ops@example.com", "Ops", owners=["ben@example.com"], members=["dan@example.com"]),
    google_group("mkt@example.com", "Marketing", members=["eve@example.com", "ben@example.com"]),
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return state_dir(tmp_path / "groups", tenant(PEOPLE, GROUPS))


def groups_of(root: Path) -> dict[str, dict]:
    doc = YAML(typ="safe").load((root / "imported.yaml").read_text(encoding="utf-8"))
    return {g["name"]: g for g in doc.get("groups", [])}


def test_groups_come_with_owners_managers_members_nested_groups_and_externals(root, capsys):
    run = cli(capsys, "import", root, "--groups")
    assert run.code == 0, run.err
    assert "3 new and 0 updated users, 4 new and 0 updated groups" in run.out
    groups = groups_of(root)
    assert groups["eng"] == {
        "name": "eng",
        "email": "eng@example.com",
        "display_name": "Engineering",
        "description": "All engineers: | pipes, 'quotes' and # hashes",
        "aliases": ["engineering@example.com"],
        "owners": ["ann@example.com"],
        "managers": ["ben@example.com"],
        "members": ["cat@example.org", "platform@example.com", "x@partner.net"],
    }
    # The Google name equals the Git name: no display_name.
    assert groups["platform"] == {
        "name": "platform",
        "email": "platform@example.com",
        "members": ["ann@example.com", "cat@example.org"],
    }


def test_a_group_with_members_git_cannot_name_is_additive(root, capsys):
    run = cli(capsys, "import", root, "--groups")
    groups = groups_of(root)
    # dan is suspended (not imported), eve is another repository's.
    assert groups["ops"]["membership"] == "additive" and "members" not in groups["ops"]
    assert groups["mkt"]["membership"] == "additive"
    assert groups["mkt"]["members"] == ["ben@example.com"]
    assert "membership" not in groups["eng"]
    assert "group ops@example.com: some members are not in Git; imported as additive" in run.err
    assert "group mkt@example.com: some members are not in Git; imported as additive" in run.err


def test_with_suspended_accounts_the_group_can_name_everyone(root, capsys):
    assert cli(capsys, "import", root, "--groups", "--include-suspended").code == 0
    ops = groups_of(root)["ops"]
    assert ops["members"] == ["dan@example.com"] and "membership" not in ops


@pytest.mark.parametrize("suspended", [False, True])
def test_the_plan_after_importing_groups_only_adopts(root, capsys, suspended):
    flags = ["--include-suspended"] if suspended else []
    assert cli(capsys, "import", root, "--groups", *flags).code == 0
    expected = ["ann@example.com", "ben@example.com", "cat@example.org"]
    if suspended:
        expected.append("dan@example.com")
    # Groups made by hand carry no ownership marker: imported, they are adopted too.
    expected += [g["email"] for g in GROUPS]
    assert plan_actions(capsys, root) == [("adopt", e) for e in sorted(expected)]


def test_without_groups_no_group_is_written(root, capsys):
    assert cli(capsys, "import", root).code == 0
    assert groups_of(root) == {}


def test_a_group_name_git_already_uses_gets_a_suffix(tmp_path, capsys):
    existing = "groups:\n  - name: eng\n    members: [x@partner.net]\n"
    root = state_dir(tmp_path / "clash", tenant(PEOPLE, GROUPS), {"teams.yaml": existing})
    assert cli(capsys, "import", root, "--groups").code == 0
    assert groups_of(root)["eng-2"]["email"] == "eng@example.com"
    assert (root / "teams.yaml").read_text(encoding="utf-8") == existing


def test_a_nested_group_git_names_by_name_keeps_that_name(tmp_path, capsys):
    text = (
        "users:\n"
        "  - email: ann@example.com\n    given_name: Ann\n    family_name: A\n"
        "  - email: cat@example.org\n    given_name: Cat\n    family_name: C\n"
        "groups:\n"
        "  - name: platform\n    email: platform@example.com\n"
        "    members:\n      - ann@example.com\n"
        "  - name: eng\n    email: eng@example.com\n"
        "    members:\n      - platform\n"
        "bindings:\n  - group: eng\n"
    )
    root = state_dir(tmp_path / "nested", tenant(PEOPLE, GROUPS), {"git.yaml": text})
    run = cli(capsys, "import", root, "--groups", "--mode", "updates")
    assert run.code == 0, run.err
    eng = group_entry(root, "eng")
    assert eng.members == ["cat@example.org", "platform", "x@partner.net"]
    assert eng.owners == ["ann@example.com"]
    assert eng.membership == "additive"  # ben is not in Git
    assert group_entry(root, "platform").members == ["ann@example.com", "cat@example.org"]


def test_updates_make_a_group_additive_rather_than_remove_people_git_lacks(tmp_path, capsys):
    text = (
        "users:\n  - email: ben@example.com\n    given_name: Ben\n    family_name: B\n"
        "groups:\n  - name: ops\n    email: ops@example.com\n    display_name: Ops\n"
        "    owners:\n      - ben@example.com\n"
        "bindings:\n  - user: ben@example.com\n"
    )
    people = [*PEOPLE, account("zed@example.com", "Zed", "Z", owner="acme/identity")]
    groups = [
        google_group(
            "ops@example.com", "Ops", owners=["ben@example.com"], members=["zed@example.com"]
        )
    ]
    root = state_dir(tmp_path / "ops", tenant(people, groups), {"git.yaml": text})
    assert ("remove_member", "ops@example.com/zed@example.com") in plan_actions(capsys, root)
    run = cli(capsys, "import", root, "--groups", "--mode", "updates")
    assert run.code == 0, run.err
    assert (
        "group ops@example.com: some members are not in Git; membership set to additive" in run.err
    )
    after = (root / "git.yaml").read_text(encoding="utf-8")
    assert after == text.replace(
        "      - ben@example.com\nbindings",
        "      - ben@example.com\n    membership: additive\nbindings",
    )
    assert not [a for a in plan_actions(capsys, root) if a[0] == "remove_member"]


# The example's groups exported to Entra ID (`entra: true`), by display name: the keys of
# their Entra changes ("Engineering", "Engineering/ana.ruiz@example.com").
ENTRA_GROUPS = ("Engineering", "Sales")


def split_entra(actions: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], ...]:
    """(Google's changes, the export's changes to Entra ID) of `plan_actions`."""
    entra = [a for a in actions if a[1].split("/")[0] in ENTRA_GROUPS]
    return [a for a in actions if a not in entra], entra


def test_group_updates_never_take_an_account_away(tmp_path, capsys):
    """On the example, Google's groups lack members Git has (Sofia in sales, Omar and Robert
    in finance, the platform team in engineering). Bindings flow through those groups:
    updating them from Google must not unbind anyone."""
    root = copy_example(tmp_path / "example")
    before = plan_actions(capsys, root)
    run = cli(capsys, "import", root, "--groups", "--mode", "updates")
    assert run.code == 0, run.err
    after = plan_actions(capsys, root)
    assert [a for a in after if a[0] == "suspend"] == [a for a in before if a[0] == "suspend"]
    assert {a for a in before if a[0] in ("create", "adopt") and a[1].count("@") == 1} <= set(after)
    assert "sofia.rossi@example.com: no longer bound through a group Google changed" in run.err
    doc = YAML(typ="safe").load((root / "imported.yaml").read_text(encoding="utf-8"))
    assert {"user": "sofia.rossi@example.com"} in doc["bindings"]
    # Google's membership drift is gone: Git now says what it has (but for the settings of
    # platform@, which the plan creates, and audit@, whose dated members are not imported:
    # its interim auditor's access has ended). The example's users keep the attributes Git
    # owns: `--mode updates` rewrites only those Google owns (sync.import_attributes).
    entra_before = split_entra(before)[1]
    google_after, entra_after = split_entra(after)
    drift = [a for a in google_after if a[0] in ("update", "remove_member", "update_member")]
    users = ["emma.johnson", "hannah.lee", "maria.silva", "priya.natarajan"]
    assert drift == sorted(
        [
            ("remove_member", "audit@example.com/interim.auditor@partner-firm.com"),
            ("update", "platform@example.com"),
            *[("update", f"{name}@example.com") for name in users],
        ]
    )
    assert "group audit@example.com: has dated members (until:)" in run.err
    # The groups keep `entra: true`: the export to Entra ID is planned as before (import reads
    # Google, not Entra), but for the members Git's groups now lack as Google's do: Kenji
    # (in eng@ only through platform@) and Sofia.
    gone = {
        ("add_member", "Engineering/kenji.watanabe@example.com"),
        ("add_member", "Sales/sofia.rossi@example.com"),
    }
    assert entra_after == [a for a in entra_before if a not in gone]
    assert len(entra_after) == len(entra_before) - 2
    for name in ("engineering", "sales"):
        text = (root / "groups" / f"{name}.yaml").read_text(encoding="utf-8")
        assert "    entra: true  # also a security group in Entra ID\n" in text, name
    assert cli(capsys, "validate", root).code == 0


def test_a_nested_group_that_names_no_one_is_left_out_of_its_parent(tmp_path, capsys):
    # mkt@ holds only another repository's account: imported, it names no one, so it is
    # not exported; listed in eng@ it would be removed from it.
    people = [account("ann@example.com"), account("eve@example.com", owner=THEIRS)]
    groups = [
        google_group(
            "eng@example.com", "Eng", members=["ann@example.com"], groups=["mkt@example.com"]
        ),
        google_group("mkt@example.com", "Mkt", members=["eve@example.com"]),
    ]
    root = state_dir(tmp_path / "nested", tenant(people, groups))
    run = cli(capsys, "import", root, "--groups")
    assert run.code == 0, run.err
    eng = groups_of(root)["eng"]
    assert eng["members"] == ["ann@example.com"] and eng["membership"] == "additive"
    # Both groups are adopted; mkt@ is additive (it names no one Git can), so eve stays.
    assert plan_actions(capsys, root) == [
        ("adopt", "ann@example.com"),
        ("adopt", "eng@example.com"),
        ("adopt", "mkt@example.com"),
    ]


def test_a_group_another_repository_manages_is_not_imported(tmp_path, capsys):
    from reconciler.google.marker import group_marker_line

    theirs = google_group(
        "web@example.com", "Web", members=["ann@example.com"], description=group_marker_line(THEIRS)
    )
    root = state_dir(tmp_path / "theirs", tenant(PEOPLE, [*GROUPS, theirs]))
    run = cli(capsys, "import", root, "--groups")
    assert run.code == 0, run.err
    assert f"group web@example.com: managed by '{THEIRS}'; not imported" in run.err
    assert "web@example.com" not in {g["email"] for g in groups_of(root).values()}
    assert "eng@example.com" in {g["email"] for g in groups_of(root).values()}


def test_updates_leave_a_group_with_dated_members_as_git_has_it(tmp_path, capsys):
    """Rewritten from Google's listing, a dated entry would lose its end (a contractor's
    access made lasting) and one that ended would come back: such a group's members are
    not imported, and the import says so."""
    text = (
        "users:\n  - email: ben@example.com\n    given_name: Ben\n    family_name: B\n"
        "groups:\n  - name: ops\n    email: ops@example.com\n    display_name: Ops\n"
        "    owners:\n      - ben@example.com\n"
        "    members:\n"
        '      - email: x@partner.net\n        until: "2020-01-31"\n'
        '      - email: y@partner.net\n        until: "2999-01-31"\n'
        "bindings:\n  - user: ben@example.com\n"
    )
    groups = [
        google_group(
            "ops@example.com",
            "Ops",
            owners=["ben@example.com"],
            external=["x@partner.net", "y@partner.net", "z@partner.net"],
        )
    ]
    root = state_dir(tmp_path / "ops", tenant(PEOPLE, groups), {"git.yaml": text})
    run = cli(capsys, "import", root, "--groups", "--mode", "updates")
    assert run.code == 0, run.err
    assert "group ops@example.com: has dated members (until:); its members are not" in run.err
    assert (root / "git.yaml").read_text(encoding="utf-8") == text
    # The plan still takes away the ended entry and the member Git does not name.
    actions = plan_actions(capsys, root)
    assert ("remove_member", "ops@example.com/x@partner.net") in actions
    assert ("remove_member", "ops@example.com/z@partner.net") in actions
    assert ("remove_member", "ops@example.com/y@partner.net") not in actions


def test_updates_leave_a_group_whose_nested_git_group_has_dated_members(tmp_path, capsys):
    """The dated entry sits in a group kept in Git only, flattened into ops@: rewriting
    ops@ from Google would make its (ended) member a lasting one."""
    text = (
        "users:\n  - email: ben@example.com\n    given_name: Ben\n    family_name: B\n"
        "groups:\n  - name: ops\n    email: ops@example.com\n    display_name: Ops\n"
        "    owners:\n      - ben@example.com\n"
        "    members:\n      - helpers\n"
        "  - name: helpers\n"
        "    members:\n"
        '      - email: x@partner.net\n        until: "2020-01-31"\n'
        "bindings:\n  - user: ben@example.com\n"
    )
    groups = [
        google_group(
            "ops@example.com", "Ops", owners=["ben@example.com"], external=["x@partner.net"]
        )
    ]
    root = state_dir(tmp_path / "ops", tenant(PEOPLE, groups), {"git.yaml": text})
    run = cli(capsys, "import", root, "--groups", "--mode", "updates")
    assert run.code == 0, run.err
    assert "group ops@example.com: has dated members (until:)" in run.err
    assert (root / "git.yaml").read_text(encoding="utf-8") == text
    assert ("remove_member", "ops@example.com/x@partner.net") in plan_actions(capsys, root)

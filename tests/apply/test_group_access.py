"""Access Git takes away ends in Google, end to end through the CLI against the emulator:
a managed group Git empties loses its members (and stays), an empty group is not created,
groups carry an ownership marker (adopted when unmarked, left alone when another
repository's), staged users keep their memberships, and a group left behind is named."""

from __future__ import annotations

from pathlib import Path

from importing.support import THEIRS, account, google_group, state_dir, tenant

from reconciler.google.marker import group_marker_line, split_group_description

from .support import assert_no_changes_left, edit, heads, members_of, plan_json

OURS = "acme/identity"
MARKED = group_marker_line(OURS)


# -- a managed group Git empties -------------------------------------------------------------


def test_emptying_a_managed_group_removes_every_member_and_keeps_the_group(
    emulator, state_dir, cli
):
    tenant = emulator()
    finance = state_dir / "groups" / "finance.yaml"
    text = finance.read_text(encoding="utf-8")
    start = text.index("    owners:\n      - hannah.lee@example.com\n    members:\n")
    end = text.index("    settings:\n", start)
    finance.write_text(text[:start] + "    members: []\n" + text[end:], encoding="utf-8")
    run = cli("plan", state_dir)
    assert run.code == 0, run.err
    assert "  - remove auditor@partner-firm.com from audit@example.com" in run.out
    assert "  - remove hannah.lee@example.com from audit@example.com" in run.out
    assert cli("apply", state_dir, "--auto-approve").code == 0
    assert "audit@example.com" in tenant.groups()  # the group stays
    assert members_of(tenant, "audit@example.com") == {}
    assert tenant.api("GET", "groups/audit@example.com")["directMembersCount"] == "0"
    assert_no_changes_left(cli, state_dir)


def two_people(tmp_path: Path, bindings: str, groups: str, *extra_groups: dict) -> Path:
    """ann and ben, marked as ours, in the marked group project@ (and any `extra_groups`)."""
    people = [account("ann@example.com", owner=OURS), account("ben@example.com", owner=OURS)]
    project = google_group(
        "project@example.com",
        "project",
        owners=["ann@example.com"],
        members=["ben@example.com"],
        description=MARKED,
    )
    users = (
        "users:\n"
        "  - {email: ann@example.com, given_name: Given, family_name: Family}\n"
        "  - {email: ben@example.com, given_name: Given, family_name: Family}\n"
    )
    files = {"users.yaml": users, "bindings.yaml": bindings, "groups.yaml": groups}
    return state_dir(tmp_path / "dir", tenant(people, [project, *extra_groups]), files)


PROJECT = (
    "groups:\n"
    "  - name: project\n    email: project@example.com\n"
    "    owners: [ann@example.com]\n    members: [ben@example.com]\n"
)
BOTH_BOUND = "bindings:\n  - user: ann@example.com\n  - user: ben@example.com\n"


def test_a_group_whose_members_all_lose_their_binding_is_emptied(tmp_path, emulator, cli):
    root = two_people(tmp_path, BOTH_BOUND, PROJECT)
    tenant = emulator(seed=root / "tenant.json")
    assert_no_changes_left(cli, root)
    (root / "bindings.yaml").write_text("bindings: []\n", encoding="utf-8")
    plan = plan_json(cli, root)
    assert heads(plan) == [
        ("remove_member", "project@example.com/ann@example.com"),
        ("remove_member", "project@example.com/ben@example.com"),
        ("suspend", "ann@example.com"),
        ("suspend", "ben@example.com"),
    ]
    assert cli("apply", root, "--auto-approve").code == 0
    assert members_of(tenant, "project@example.com") == {}
    assert_no_changes_left(cli, root)


def test_emptying_a_group_counts_against_the_member_removal_limit(tmp_path, emulator, cli):
    root = two_people(
        tmp_path,
        BOTH_BOUND,
        PROJECT.replace(
            "    owners: [ann@example.com]\n    members: [ben@example.com]\n", "    members: []\n"
        ),
    )
    path = root / "workspace.yaml"
    path.write_text(path.read_text() + "safety:\n  max_member_removals: 1\n", encoding="utf-8")
    tenant = emulator(seed=root / "tenant.json")
    refused = cli("apply", root, "--auto-approve")
    assert refused.code == 1
    assert "2 member removals planned; the limit is 1" in refused.text
    assert members_of(tenant, "project@example.com") == {
        "ann@example.com": "OWNER",
        "ben@example.com": "MEMBER",
    }
    assert cli("apply", root, "--auto-approve", "--allow-unsafe").code == 0
    assert members_of(tenant, "project@example.com") == {}


def test_an_empty_group_that_does_not_exist_is_not_created_and_the_plan_says_so(
    tmp_path, emulator, cli
):
    later = "  - name: later\n    email: later@example.com\n    members: []\n"
    root = two_people(tmp_path, BOTH_BOUND, PROJECT + later)
    tenant = emulator(seed=root / "tenant.json")
    run = cli("plan", root)
    assert run.code == 0, run.err
    assert run.out.startswith("No changes.")
    assert "Note: group later@example.com: not created while it has no members" in run.text
    assert cli("apply", root, "--auto-approve").code == 0
    assert "later@example.com" not in tenant.groups()
    assert tenant.calls("directory.groups.insert") == 0


# -- ownership of groups ---------------------------------------------------------------------


def test_an_unmarked_group_is_adopted_and_keeps_its_description(emulator, state_dir, cli):
    tenant = emulator()
    before = tenant.api("GET", "groups/leadership@example.com")
    assert split_group_description(before["description"]) == ("Executive team", None)
    plan = plan_json(cli, state_dir)
    adopt = next(c for c in plan["changes"] if c["key"] == "leadership@example.com")
    assert (adopt["action"], adopt["kind"]) == ("adopt", "group")
    assert cli("apply", state_dir, "--auto-approve").code == 0
    after = tenant.api("GET", "groups/leadership@example.com")["description"]
    assert after == f"Executive team\n\n{MARKED}"
    assert_no_changes_left(cli, state_dir)


THEIR_GROUP = google_group(
    "web@example.com",
    "web",
    members=["ben@example.com"],
    description=f"Web team\n\n{group_marker_line(THEIRS)}",
)
WEB = (
    "  - name: web\n    email: web@example.com\n    description: Ours now\n"
    "    members: [ann@example.com]\n"
)


def test_a_group_another_repository_manages_is_left_alone(tmp_path, emulator, cli):
    root = two_people(tmp_path, BOTH_BOUND, PROJECT + WEB, THEIR_GROUP)
    tenant = emulator(seed=root / "tenant.json")
    run = cli("plan", root)
    assert run.code == 0, run.err
    assert run.out.startswith("No changes.")
    assert (
        "Note: group web@example.com: the group web@example.com is managed by "
        f"'{THEIRS}', not by this repository; left alone"
    ) in run.text
    assert cli("apply", root, "--auto-approve").code == 0
    assert members_of(tenant, "web@example.com") == {"ben@example.com": "MEMBER"}
    described = tenant.api("GET", "groups/web@example.com")["description"]
    assert split_group_description(described) == ("Web team", THEIRS)


def test_two_repositories_on_one_tenant_do_not_undo_each_others_groups(tmp_path, emulator, cli):
    """Both name shared@ with other members: the first to apply takes it over; the other
    leaves it alone from then on, so neither apply undoes the other's."""
    shared = google_group("shared@example.com", "shared", members=["ann@example.com"])
    root = two_people(
        tmp_path,
        BOTH_BOUND,
        PROJECT + "  - {name: shared, email: shared@example.com, members: [ann@example.com]}\n",
        shared,
    )
    tenant = emulator(seed=root / "tenant.json")
    other = tmp_path / "other"
    other.mkdir()
    # Its own copy of the seed: unused, RECONCILER_GOOGLE_ENDPOINT names the shared tenant.
    (other / "tenant.json").write_text((root / "tenant.json").read_text(), "utf-8")
    (other / "workspace.yaml").write_text(
        (root / "workspace.yaml").read_text().replace(f"id: {OURS}", f"id: {THEIRS}"), "utf-8"
    )
    (other / "groups.yaml").write_text(
        "groups:\n  - {name: shared, email: shared@example.com, members: [partner@outside.net]}\n",
        encoding="utf-8",
    )
    assert heads(plan_json(cli, root)) == [("adopt", "shared@example.com")]
    assert cli("apply", root, "--auto-approve").code == 0
    theirs = plan_json(cli, other)
    assert theirs["changes"] == []
    assert any(f"managed by '{OURS}'" in n for n in theirs["notes"]), theirs["notes"]
    assert cli("apply", other, "--auto-approve").code == 0
    assert members_of(tenant, "shared@example.com") == {"ann@example.com": "MEMBER"}
    assert_no_changes_left(cli, root)


# -- staged users ----------------------------------------------------------------------------


def test_a_staged_user_whose_account_exists_keeps_its_memberships(tmp_path, emulator, cli):
    root = two_people(tmp_path, BOTH_BOUND, PROJECT)
    tenant = emulator(seed=root / "tenant.json")
    users = root / "users.yaml"
    edit(
        users,
        "{email: ben@example.com, given_name: Given, family_name: Family}",
        "{email: ben@example.com, given_name: Given, family_name: Family, state: staged}",
    )
    edit(root / "groups.yaml", "    members: [ben@example.com]\n", "    members: []\n")
    assert_no_changes_left(cli, root)
    assert cli("apply", root, "--auto-approve").code == 0
    assert members_of(tenant, "project@example.com") == {
        "ann@example.com": "OWNER",
        "ben@example.com": "MEMBER",
    }
    # Active again and no longer listed: now the membership goes.
    edit(users, ", state: staged}", "}")
    assert heads(plan_json(cli, root)) == [("remove_member", "project@example.com/ben@example.com")]


# -- a group's email changed without previous_emails -----------------------------------------


def test_a_group_whose_email_changed_without_previous_emails_is_named(emulator, state_dir, cli):
    tenant = emulator()
    edit(
        state_dir / "groups" / "finance.yaml",
        "    email: finance@example.com\n",
        "    email: finance-team@example.com\n",
    )
    plan = plan_json(cli, state_dir)
    assert ("create", "finance-team@example.com") in heads(plan)
    assert (
        "group finance@example.com is managed by this repository but no longer in Git; it "
        "keeps its 1 member: if its email changed, add finance@example.com to the group's "
        "previous_emails, or delete the old group in Google"
    ) in plan["notes"]
    # Told so, the reviewer adds previous_emails: a rename, nothing created or left behind.
    edit(
        state_dir / "groups" / "finance.yaml",
        "    email: finance-team@example.com\n",
        "    email: finance-team@example.com\n    previous_emails: [finance@example.com]\n",
    )
    fixed = plan_json(cli, state_dir)
    assert ("rename", "finance-team@example.com") in heads(fixed)
    assert not any("finance@example.com is managed" in n for n in fixed["notes"])
    assert cli("apply", state_dir, "--auto-approve").code == 0
    assert "finance@example.com" not in tenant.groups()
    assert_no_changes_left(cli, state_dir)

"""Members as Google lists them, end to end through the CLI against the emulator: a consumer
Gmail account listed under Google's spelling of it is the member Git names under another (no
add and remove on every apply), and members that name no account (listed without status,
the customer) neither abort the plan nor get removed."""

from __future__ import annotations

from pathlib import Path

from importing.support import account, google_group, state_dir, tenant

from reconciler.google.marker import group_marker_line

from .support import Tenant, assert_no_changes_left, edit, heads, members_of, plan_json

OURS = "acme/identity"
MARKED = group_marker_line(OURS)
PARTNERS = "partners@example.com"


def partners_now(tenant: Tenant) -> dict[str, str]:
    """The members of partners@ as Google lists them."""
    return members_of(tenant, PARTNERS)


def partners(tmp_path: Path, git_members: list[str], google_members: list[dict]) -> Path:
    """ann (ours, bound) owns the marked group partners@; Git lists `git_members` as its
    members, Google holds `google_members` besides ann."""
    group = google_group(PARTNERS, "partners", owners=["ann@example.com"], description=MARKED)
    group["members"] += google_members
    listed = "".join(f"      - {m}\n" for m in git_members)
    groups = (
        "groups:\n  - name: partners\n    email: partners@example.com\n"
        "    owners: [ann@example.com]\n" + (f"    members:\n{listed}" if listed else "")
    )
    ann = "{email: ann@example.com, given_name: Given, family_name: Family}"
    files = {
        "users.yaml": f"users:\n  - {ann}\n",
        "bindings.yaml": "bindings:\n  - user: ann@example.com\n",
        "groups.yaml": groups,
    }
    seed = tenant([account("ann@example.com", owner=OURS)], [group])
    return state_dir(tmp_path / "dir", seed, files)


# -- consumer Gmail members ----------------------------------------------------------------------


def test_a_gmail_member_added_by_gits_spelling_is_not_churned(tmp_path, emulator, cli):
    root = partners(tmp_path, ["John.Doe+news@googlemail.com"], [])
    tenant = emulator(seed=root / "tenant.json")
    # Added by Git's spelling: Google takes any.
    assert heads(plan_json(cli, root)) == [
        ("add_member", "partners@example.com/john.doe+news@googlemail.com")
    ]
    assert cli("apply", root, "--auto-approve").code == 0
    # Google lists the account under its own spelling...
    assert partners_now(tenant) == {
        "ann@example.com": "OWNER",
        "johndoe@gmail.com": "MEMBER",
    }
    # ...which is the member Git names: no remove of Google's spelling, no add of Git's.
    assert_no_changes_left(cli, root)
    assert cli("apply", root, "--auto-approve").code == 0
    assert tenant.calls("directory.members.insert") == 1
    assert tenant.calls("directory.members.delete") == 0
    assert partners_now(tenant) == {
        "ann@example.com": "OWNER",
        "johndoe@gmail.com": "MEMBER",
    }


def test_a_gmail_member_google_already_has_under_its_spelling_is_left_alone(
    tmp_path, emulator, cli
):
    root = partners(tmp_path, ["j.doe@gmail.com"], [{"email": "jdoe@gmail.com"}])
    tenant = emulator(seed=root / "tenant.json")
    assert_no_changes_left(cli, root)
    # A role change goes to the member by the spelling Google lists.
    edit(
        root / "groups.yaml",
        "    owners: [ann@example.com]\n",
        "    owners: [ann@example.com]\n    managers: [J.Doe@GoogleMail.com]\n",
    )
    edit(root / "groups.yaml", "    members:\n      - j.doe@gmail.com\n", "")
    assert heads(plan_json(cli, root)) == [("update_member", "partners@example.com/jdoe@gmail.com")]
    assert cli("apply", root, "--auto-approve").code == 0
    assert partners_now(tenant) == {"ann@example.com": "OWNER", "jdoe@gmail.com": "MANAGER"}
    assert_no_changes_left(cli, root)


def test_a_gmail_member_git_drops_is_removed_by_googles_spelling(tmp_path, emulator, cli):
    root = partners(tmp_path, [], [{"email": "Jo.Ann@googlemail.com"}])
    tenant = emulator(seed=root / "tenant.json")
    assert heads(plan_json(cli, root)) == [
        ("remove_member", "partners@example.com/joann@gmail.com")
    ]
    assert cli("apply", root, "--auto-approve").code == 0
    assert partners_now(tenant) == {"ann@example.com": "OWNER"}
    assert_no_changes_left(cli, root)


def test_two_spellings_of_one_gmail_account_warn_and_make_one_member(tmp_path, emulator, cli):
    root = partners(tmp_path, ["john.doe@gmail.com", "johndoe+list@googlemail.com"], [])
    tenant = emulator(seed=root / "tenant.json")
    checked = cli("validate", root)
    assert checked.code == 0, checked.text
    assert (
        "groups.yaml:7: warning: group partners: member 'johndoe+list@googlemail.com' is the "
        "same Gmail account as 'john.doe@gmail.com' (line 6)"
    ) in checked.err
    assert heads(plan_json(cli, root)) == [
        ("add_member", "partners@example.com/john.doe@gmail.com")
    ]
    assert cli("apply", root, "--auto-approve").code == 0
    assert partners_now(tenant) == {
        "ann@example.com": "OWNER",
        "johndoe@gmail.com": "MEMBER",
    }
    assert_no_changes_left(cli, root)


# -- members that name no account ----------------------------------------------------------------


UNRESOLVED = [
    # Google lists these without status: no account had the address when it was added.
    {"email": "new.hire@example.com", "role": "MEMBER", "type": "USER", "status": None},
    {"email": "old-list@example.com", "role": "MEMBER", "type": "GROUP", "status": None},
    {"type": "CUSTOMER", "role": "MEMBER"},
]


def test_members_that_name_no_account_are_kept_and_do_not_abort(tmp_path, emulator, cli):
    root = partners(tmp_path, [], [*UNRESOLVED, {"email": "partner@outside.net"}])
    tenant = emulator(seed=root / "tenant.json")
    before = partners_now(tenant)
    customer = next(m for m in before if "@" not in m)
    plan = plan_json(cli, root)
    # The external member Git dropped goes; the three that name no account stay, said so.
    assert heads(plan) == [("remove_member", "partners@example.com/partner@outside.net")]
    kept = [n for n in plan["notes"] if " is kept: " in n]
    assert kept == [
        f"group {PARTNERS}: member {m} is kept: {why}; remove it in the Admin console if it "
        "should go"
        for m, why in [
            (customer.lower(), "the customer (every user of the tenant), a member Git cannot name"),
            (
                "new.hire@example.com",
                "listed by Google with no user or group behind it, so Git cannot name it",
            ),
            (
                "old-list@example.com",
                "listed by Google with no user or group behind it, so Git cannot name it",
            ),
        ]
    ], plan["notes"]
    assert cli("apply", root, "--auto-approve").code == 0
    assert partners_now(tenant) == {m: r for m, r in before.items() if m != "partner@outside.net"}
    text = assert_no_changes_left(cli, root)
    assert "member new.hire@example.com is kept" in text


def test_an_account_created_for_a_member_without_status_keeps_that_membership(
    tmp_path, emulator, cli
):
    """Git names the address: its account is created, and the member Google lists under it
    is the one Git means (no add, no remove)."""
    root = partners(tmp_path, ["new.hire@example.com"], UNRESOLVED[:1])
    (root / "users.yaml").write_text(
        "users:\n"
        "  - {email: ann@example.com, given_name: Given, family_name: Family}\n"
        "  - {email: new.hire@example.com, given_name: New, family_name: Hire}\n",
        encoding="utf-8",
    )
    (root / "bindings.yaml").write_text(
        "bindings:\n  - user: ann@example.com\n  - user: new.hire@example.com\n", encoding="utf-8"
    )
    tenant = emulator(seed=root / "tenant.json")
    assert heads(plan_json(cli, root)) == [("create", "new.hire@example.com")]
    assert cli("apply", root, "--auto-approve").code == 0
    assert "new.hire@example.com" in tenant.users()
    assert partners_now(tenant) == {
        "ann@example.com": "OWNER",
        "new.hire@example.com": "MEMBER",
    }
    assert_no_changes_left(cli, root)

"""Safety: a plan over a limit needs --allow-unsafe; a plan that would suspend, rename or
delete a protected account or a super admin is refused even with it, and the account (like
everything else) is left untouched."""

from __future__ import annotations

import pytest
from cli_support import EXAMPLE_CHANGES

from .support import edit

NEVER = "never applied, even with --allow-unsafe"


def unbind_operations(state_dir):
    """Three more marked users lose their binding: 5 suspensions (and Nora leaves leadership@)."""
    edit(state_dir / "groups" / "company.yaml", "      - operations\n", "")


def set_limit(state_dir, line: str, new: str):
    edit(state_dir / "workspace.yaml", line, new)


@pytest.mark.parametrize("saved", [False, True], ids=["directory", "saved-plan"])
def test_over_a_limit_needs_allow_unsafe(emulator, state_dir, tmp_path, cli, saved):
    set_limit(state_dir, "max_suspend: 5", "max_suspend: 2")
    unbind_operations(state_dir)
    tenant = emulator()
    target = state_dir
    if saved:
        target = tmp_path / "plan.json"
        assert cli("plan", state_dir, "--out", target).code == 0
    before = tenant.snapshot()

    run = cli("apply", target, "--auto-approve")
    assert run.code == 1
    assert "UNSAFE: this plan exceeds the safety limits" in run.out
    assert "5 suspensions planned; the limit is 2" in run.err and "--allow-unsafe" in run.err
    assert "Traceback" not in run.text and "Apply complete" not in run.out
    assert tenant.snapshot() == before

    run = cli("apply", target, "--auto-approve", "--allow-unsafe")
    assert run.code == 0, run.err
    # The example's changes and 7 more: Felix, Grace and Nora suspended and their licenses
    # revoked, and Nora out of leadership@.
    assert f"Apply complete: {EXAMPLE_CHANGES + 7} applied, 0 failed, 0 skipped." in run.out
    users = tenant.users()
    for who in ("felix.wagner", "grace.chen", "nora.baker", "sam.okafor", "james.wright"):
        assert users[f"{who}@example.com"]["suspended"] is True
    assert cli("plan", state_dir, "--detailed-exitcode").code == 0


def test_member_removals_over_the_limit_need_allow_unsafe(emulator, state_dir, cli):
    set_limit(state_dir, "max_member_removals: 50", "max_member_removals: 0")
    tenant = emulator()
    before = tenant.snapshot()
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 1 and "2 member removals planned; the limit is 0" in run.err
    assert tenant.snapshot() == before
    assert cli("apply", state_dir, "--auto-approve", "--allow-unsafe").code == 0
    sales = {m["email"] for m in tenant.groups()["sales@example.com"]["members"]}
    assert "james.wright@example.com" not in sales


def unbind_admin(state_dir):
    edit(state_dir / "bindings.yaml", "  - user: admin@example.com\n", "")


def delete_admin(state_dir):
    deleted = "    state: deleted\n    offboarding: {transfer_to: none, delete_after_days: 0}\n"
    edit(state_dir / "users" / "operations.yaml", "    org_unit: /\n", deleted)


def rename_admin(state_dir):
    """Git renames the break-glass admin to it-admin@ (found by its previous email)."""
    edit(
        state_dir / "users" / "operations.yaml",
        "  - email: admin@example.com\n",
        "  - email: it-admin@example.com\n    previous_emails: [admin@example.com]\n",
    )
    edit(state_dir / "bindings.yaml", "user: admin@example.com", "user: it-admin@example.com")
    edit(state_dir / "groups" / "operations.yaml", "- admin@example.com", "- it-admin@example.com")


def unprotect(state_dir):
    edit(state_dir / "workspace.yaml", "protected: [admin@example.com]", "protected: []")


@pytest.mark.parametrize(
    ("change_git", "action"),
    [(unbind_admin, "suspend"), (delete_admin, "delete"), (rename_admin, "rename")],
)
@pytest.mark.parametrize("listed", [True, False], ids=["protected", "super-admin"])
def test_protected_accounts_and_super_admins_are_never_touched(
    emulator, state_dir, tmp_path, cli, change_git, action, listed
):
    change_git(state_dir)
    if not listed:
        unprotect(state_dir)
    tenant = emulator()
    before = tenant.snapshot()
    admin = tenant.users()["admin@example.com"]

    plan = cli("plan", state_dir, "--out", tmp_path / "plan.json")
    why = "is protected (workspace.yaml: protected)" if listed else "is a super admin"
    assert f"admin@example.com {why}" in plan.out
    assert "Refused: never applied, with or without --allow-unsafe" in plan.out
    assert f"{action} user " in plan.out

    for target in (state_dir, tmp_path / "plan.json"):
        run = cli("apply", target, "--auto-approve", "--allow-unsafe")
        assert run.code == 1
        assert "protected accounts or super admins" in run.err and NEVER in run.err
        assert "Traceback" not in run.text and "Apply complete" not in run.out
    assert tenant.users()["admin@example.com"] == admin
    assert tenant.snapshot() == before

"""Protection follows accounts, not addresses (through the CLI, on the emulator).

A protected account renamed in Google is still protected through the alias Google keeps;
with that alias removed too, nothing links it to its protected address, and the plan is
refused rather than suspending it as a stranger and creating a blank account in its place.
A protected alias protects its account. A protected address that finds no account refuses
the plan, unless Git creates the account in that plan.
"""

from __future__ import annotations

import pytest

from .support import edit

NEVER = "never applied, even with --allow-unsafe"
PROTECTED_LINE = "protected: [admin@example.com]"


def protect(state_dir, *addresses: str) -> int:
    """List `addresses` under protected; the line they are on."""
    path = state_dir / "workspace.yaml"
    edit(path, PROTECTED_LINE, f"protected: [{', '.join(addresses)}]")
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith("protected:"))


def rename_in_google(tenant, old: str, new: str, *, keep_alias: bool) -> None:
    """An admin renames the account in the console (Google keeps the old address as an
    alias), and maybe removes that alias too."""
    tenant.api("PUT", f"users/{old}", {"primaryEmail": new})
    if not keep_alias:
        tenant.api("DELETE", f"users/{new}/aliases/{old}")
    assert new in tenant.users() and old not in tenant.users()


def assert_never_applied(cli, tenant, before) -> None:
    for args in (("apply", ".", "--auto-approve", "--allow-unsafe"), ("report", ".")):
        run = cli(*args)
        assert run.code == 1, run.text
        assert "Traceback" not in run.text and "Apply complete" not in run.out
    assert tenant.snapshot() == before


@pytest.mark.parametrize("who", ["admin", "jo.lei"], ids=["super-admin", "plain-account"])
def test_renamed_in_google_with_its_alias_removed_the_plan_is_refused(
    emulator, state_dir, cli, monkeypatch, who
):
    """Before: the renamed account was suspended ("marked as ours but not in Git", unless a
    super admin) and a blank account created under the protected address."""
    line = protect(state_dir, "admin@example.com", "jo.lei@example.com")
    tenant = emulator()
    rename_in_google(tenant, f"{who}@example.com", "renamed@example.com", keep_alias=False)
    before = tenant.snapshot()
    monkeypatch.chdir(state_dir)

    plan = cli("plan", ".")
    assert plan.code == 1, plan.text
    assert plan.err.splitlines() == [
        f"workspace.yaml:{line}: protected: '{who}@example.com' matches no account in Google, "
        "and the plan would create it while suspending renamed@example.com (marked as ours "
        f"but not in Git): if one of them is {who}@example.com renamed in Google, rename it "
        "back or write its new address in Git (its entry and protected); if the account is "
        "new, create it first and protect it after",
        "1 problem found; nothing was changed.",
    ]
    assert plan.out == ""
    assert_never_applied(cli, tenant, before)
    users = tenant.users()
    assert users["renamed@example.com"]["suspended"] is False
    assert f"{who}@example.com" not in users


def test_renamed_in_google_it_stays_protected_through_the_alias(
    emulator, state_dir, cli, monkeypatch
):
    protect(state_dir, "admin@example.com", "jo.lei@example.com")
    tenant = emulator()
    rename_in_google(tenant, "jo.lei@example.com", "renamed@example.com", keep_alias=True)
    before = tenant.snapshot()
    monkeypatch.chdir(state_dir)

    plan = cli("plan", ".")
    assert plan.code == 0, plan.text
    assert (
        "! rename user renamed@example.com -> jo.lei@example.com (refused: renamed@example.com "
        "is protected (workspace.yaml: protected lists its alias jo.lei@example.com)"
    ) in plan.out
    assert "suspend user renamed@example.com" not in plan.out
    run = cli("apply", ".", "--auto-approve", "--allow-unsafe")
    assert run.code == 1 and NEVER in run.err
    assert tenant.snapshot() == before


def test_a_protected_alias_protects_its_account(emulator, state_dir, cli, monkeypatch):
    """protected: [ceo@example.com], Olivia's alias: unbinding her suspended her."""
    protect(state_dir, "admin@example.com", "ceo@example.com")
    edit(state_dir / "bindings.yaml", "  - user: olivia.grant@example.com\n", "")
    tenant = emulator()
    before = tenant.snapshot()
    monkeypatch.chdir(state_dir)

    plan = cli("plan", ".")
    assert plan.code == 0, plan.text
    assert (
        "! suspend user olivia.grant@example.com (refused: olivia.grant@example.com is "
        "protected (workspace.yaml: protected lists its alias ceo@example.com); no longer "
        "bound)"
    ) in plan.out
    run = cli("apply", ".", "--auto-approve", "--allow-unsafe")
    assert run.code == 1 and NEVER in run.err
    assert tenant.snapshot() == before
    assert tenant.users()["olivia.grant@example.com"]["suspended"] is False


def test_a_protected_address_that_finds_no_account_refuses_the_plan(
    emulator, state_dir, cli, monkeypatch
):
    line = protect(state_dir, "admin@example.com", "ghost@example.com")
    tenant = emulator()
    before = tenant.snapshot()
    monkeypatch.chdir(state_dir)

    plan = cli("plan", ".", "--format", "json")
    assert plan.code == 1 and plan.out == ""
    assert plan.err.startswith(
        f"workspace.yaml:{line}: protected: 'ghost@example.com' matches no account in Google "
        "(no primary email or alias, and no address of its entry in Git finds one), so it "
        "protects nothing"
    )
    assert_never_applied(cli, tenant, before)


def test_a_protected_account_git_creates_is_protected_from_then_on(
    emulator, state_dir, cli, monkeypatch
):
    protect(state_dir, "admin@example.com", "kenji.watanabe@example.com")
    tenant = emulator()
    monkeypatch.chdir(state_dir)
    plan = cli("plan", ".")
    assert plan.code == 0, plan.text
    assert "+ create user kenji.watanabe@example.com" in plan.out
    assert cli("apply", ".", "--auto-approve").code == 0
    assert "kenji.watanabe@example.com" in tenant.users()

    edit(state_dir / "groups" / "engineering.yaml", "      - kenji.watanabe@example.com\n", "")
    plan = cli("plan", ".")
    assert "! suspend user kenji.watanabe@example.com (refused: kenji.watanabe@example.com is " in (
        plan.out
    )

"""Addresses as Google hands them out: a released address is not free at once (the emulator
holds it), a rename to an own alias needs that alias removed first, and an account holds at
most 30 aliases. Apply releases before it claims, waits for a just-released address, and
converges in one run; a run stopped between removing an alias and renaming is finished by
the next one."""

from __future__ import annotations

import json

import pytest
from cli_support import ALL_APPLIED, EXAMPLE_CHANGES

from reconciler.apply.pending import pending_path
from reconciler.google import client as client_module

from .support import Clock, duplicates, edit

HOLD_MS = 300  # of the emulator's clock, which only apply's waits move
ROBERT, RFISCHER = "robert.fischer@example.com", "rfischer@example.com"


@pytest.fixture
def quick_backoff(monkeypatch) -> Clock:
    """The product's retry policy with its waits cut twenty-fold, and taking no time: they
    move a clock that `holding` gives the emulator, so a claim right after a release meets
    the hold however slowly this machine runs, and only apply's waiting ends it."""
    clock = Clock()
    policy = client_module.RetryPolicy
    monkeypatch.setattr(
        client_module, "RetryPolicy", lambda: policy(base_s=0.05, cap_s=1.6, sleep=clock.sleep)
    )
    return clock


def holding(emulator, clock: Clock, hold_ms: float = HOLD_MS):
    """An emulator that holds released addresses for `hold_ms` of `clock`."""
    tenant = emulator(address_hold_ms=hold_ms)
    tenant.server.api.clock = clock
    return tenant


def refusals(tenant) -> int:
    """Claims the emulator answered 409 (a held or taken address)."""
    return tenant.stats()["by_status"].get("409", 0)


def converged(cli, state_dir) -> None:
    after = cli("plan", state_dir, "--detailed-exitcode")
    assert after.code == 0 and after.out.startswith("No changes."), after.out


def test_the_example_converges_in_one_apply_with_released_addresses_held(
    quick_backoff, emulator, state_dir, cli
):
    """Robert's account is renamed to its own alias: the alias goes first, and the rename
    waits until Google lets the address go."""
    tenant = holding(emulator, quick_backoff)
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0, run.err
    assert ALL_APPLIED in run.out
    robert = tenant.users()[ROBERT]
    assert robert["aliases"] == [RFISCHER]
    assert refusals(tenant) >= 1  # the rename met the hold and waited it out
    converged(cli, state_dir)
    assert not pending_path(state_dir).exists()  # the record went with the rename


def test_aliases_move_between_users_and_groups_in_one_apply(
    quick_backoff, emulator, state_dir, cli
):
    tenant = holding(emulator, quick_backoff)
    assert cli("apply", state_dir, "--auto-approve").code == 0
    # dan@ moves from Daniel to Emma, it@ from the helpdesk group to Daniel, ceo@ from
    # Olivia to the leadership group.
    sales = state_dir / "users" / "sales.yaml"
    edit(sales, "    aliases: [dan@example.com]\n", "    aliases: [it@example.com]\n")
    edit(
        sales,
        "    employee_id: E-1029\n",
        "    employee_id: E-1029\n    aliases: [dan@example.com]\n",
    )
    edit(state_dir / "groups" / "operations.yaml", "aliases: [it@example.com]", "aliases: []")
    edit(state_dir / "users" / "executive.yaml", "aliases: [ceo@example.com]", "aliases: []")
    edit(
        state_dir / "groups" / "company.yaml",
        "    email: leadership@example.com\n",
        "    email: leadership@example.com\n    aliases: [ceo@example.com]\n",
    )
    before = refusals(tenant)
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0, run.err
    assert "0 failed, 0 skipped." in run.out
    users, groups = tenant.users(), tenant.groups()
    assert users["emma.johnson@example.com"]["aliases"] == ["dan@example.com"]
    assert users["daniel.kim@example.com"]["aliases"] == ["it@example.com"]
    assert "aliases" not in groups["helpdesk@example.com"]
    assert groups["leadership@example.com"]["aliases"] == ["ceo@example.com"]
    assert refusals(tenant) > before  # the claims met the hold and waited
    assert duplicates(tenant.snapshot()) == []
    converged(cli, state_dir)


def test_thirty_aliases_replaced_by_thirty_others_in_one_apply(
    quick_backoff, emulator, state_dir, cli
):
    """At the cap, the removals must go first or the additions would be refused."""
    tenant = emulator()
    assert cli("apply", state_dir, "--auto-approve").code == 0
    for i in range(29):  # ana@ is the 30th
        tenant.api("POST", "users/ana.ruiz@example.com/aliases", {"alias": f"old{i}@example.com"})
    assert len(tenant.users()["ana.ruiz@example.com"]["aliases"]) == 30
    new = ", ".join(f"new{i}@example.com" for i in range(30))
    edit(
        state_dir / "users" / "engineering.yaml", "aliases: [ana@example.com]", f"aliases: [{new}]"
    )
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0, run.err
    assert "Apply complete: 1 applied, 0 failed, 0 skipped." in run.out
    aliases = tenant.users()["ana.ruiz@example.com"]["aliases"]
    assert sorted(aliases) == sorted(f"new{i}@example.com" for i in range(30))
    converged(cli, state_dir)


def test_a_rename_past_thirty_aliases_is_left_alone_with_a_note(emulator, state_dir, cli):
    tenant = emulator()
    assert cli("apply", state_dir, "--auto-approve").code == 0
    for i in range(29):  # rfischer@ is the 30th since the rename
        tenant.api("POST", f"users/{ROBERT}/aliases", {"alias": f"rf{i}@example.com"})
    # Robert is renamed again; his current address becomes a previous one.
    finance = state_dir / "users" / "finance.yaml"
    edit(
        finance,
        f"  - email: {ROBERT}\n",
        f"  - email: bob.fischer@example.com\n    previous_emails: [{ROBERT}]\n",
    )
    edit(state_dir / "groups" / "finance.yaml", f"- {ROBERT}", "- bob.fischer@example.com")
    plan = cli("plan", state_dir, "--detailed-exitcode")
    assert plan.code == 0, plan.out  # nothing to change: the account is left alone
    assert (
        f"user bob.fischer@example.com: not renamed from {ROBERT}: Google keeps the old "
        "address as an alias, and the user would hold 31 aliases, over Google's limit of 30"
    ) in plan.out
    before = tenant.snapshot()
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0 and tenant.snapshot() == before


def test_a_run_stopped_between_removing_the_alias_and_renaming_is_finished_by_the_next(
    quick_backoff, emulator, state_dir, cli, monkeypatch
):
    """Google holds the address longer than apply waits: the rename fails after the alias is
    gone, which is where a killed run would stop too. Git does not list rfischer@ as a
    previous email, so only the record apply kept finds the account again."""
    monkeypatch.setattr(client_module, "RELEASE_WAIT_S", 0.5)
    tenant = holding(emulator, quick_backoff, 3_600_000)
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 1
    assert f"failed: rename user {RFISCHER} -> {ROBERT} (found by its alias)" in run.err
    assert "409 duplicate: Entity already exists. The address was released moments ago" in run.err
    # Skipped: the adopt and a membership; the licenses (7), group settings (2) and the
    # export to Entra ID applied.
    applied = EXAMPLE_CHANGES - 1 - 2
    assert f"Apply complete: {applied} applied, 1 failed, 2 skipped." in run.out
    users = tenant.users()
    assert "aliases" not in users[RFISCHER] and ROBERT not in users
    record = json.loads(pending_path(state_dir).read_text())
    assert record == {"users": {ROBERT: RFISCHER}}
    assert (state_dir / ".reconciler" / ".gitignore").read_text().endswith("*\n")

    plan = cli("plan", state_dir)
    assert (
        f"rename user {RFISCHER} -> {ROBERT} (found by the rename an earlier apply began)"
        in plan.out
    )
    assert f"create user {ROBERT}" not in plan.out
    tenant.server.configure(address_hold_ms=0)
    rerun = cli("apply", state_dir, "--auto-approve")
    assert rerun.code == 0, rerun.err
    assert "Apply complete: 3 applied, 0 failed, 0 skipped." in rerun.out
    assert tenant.users()[ROBERT]["aliases"] == [RFISCHER]
    assert not pending_path(state_dir).exists()
    assert duplicates(tenant.snapshot()) == []
    converged(cli, state_dir)


def test_no_record_when_git_lists_the_old_address(quick_backoff, emulator, state_dir, cli):
    """With the old address in previous_emails, a plan finds the account without a record."""
    edit(
        state_dir / "users" / "finance.yaml",
        f"  - email: {ROBERT}\n",
        f"  - email: {ROBERT}\n    previous_emails: [{RFISCHER}]\n",
    )
    tenant = holding(emulator, quick_backoff)
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0, run.err
    # Nothing was ever recorded: the local state holds only the emulated Entra tenant
    # (workspace.yaml, `entra:`) and its lock, which git ignores.
    assert not pending_path(state_dir).exists()
    local = state_dir / ".reconciler"
    names = [".gitignore", "entra.json", "entra.json.lock"]
    assert sorted(p.name for p in local.iterdir()) == names
    assert (local / ".gitignore").read_text().endswith("*\n")
    assert tenant.users()[ROBERT]["aliases"] == [RFISCHER]
    converged(cli, state_dir)


def test_the_record_is_a_safety_net_never_a_reason_to_stop(tmp_path):
    from reconciler.apply.pending import PendingRenames, load_pending

    assert load_pending(tmp_path) == {}
    path = pending_path(tmp_path)
    path.parent.mkdir()
    for garbage in ("{not json", "[1, 2]", '{"users": [1], "groups": {"a@x.io": 3}}'):
        path.write_text(garbage)
        assert load_pending(tmp_path) in ({}, {"groups": {}})
    path.unlink()
    record = PendingRenames(tmp_path)
    record.add("user", "new@x.io", "old@x.io")
    record.add("group", "g@x.io", "h@x.io")
    assert load_pending(tmp_path) == {
        "users": {"new@x.io": "old@x.io"},
        "groups": {"g@x.io": "h@x.io"},
    }
    record.prune({"groups": {"g@x.io"}})
    record.done("user", "new@x.io")
    assert not path.exists()

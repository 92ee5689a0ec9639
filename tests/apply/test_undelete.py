"""A deleted account Git wants back is restored, end to end through the CLI against the
emulator: undeleted with its old id (not created anew), back in its groups; not when its
address was taken since (the plan says so), and not after Google's 20 days (a new account)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.google import ops

from .support import Tenant, edit

JO = "jo.lei@example.com"
JO_ENTRY = "    employee_id: E-1042\n    aliases: [jo@example.com]\n"
DAY_S = 86400
ENTRA = "entra_membership"  # a member of a group exported to Entra ID (workspace.yaml)


def plan_json(cli, root: Path) -> dict[str, Any]:
    run = cli("plan", root, "--format", "json")
    assert run.code == 0, run.err
    return json.loads(run.out)


def kind_and_member(change: dict[str, Any]) -> tuple[str, str | None]:
    return change["kind"], change.get("member")


def heads(plan: dict[str, Any], key: str) -> list[str]:
    return [c["action"] for c in plan["changes"] if key in (c["key"], c.get("member"))]


def assert_no_changes_left(cli, root: Path) -> None:
    after = cli("plan", root, "--detailed-exitcode")
    assert after.code == 0 and after.out.startswith("No changes."), after.text


def delete_jo_through_git(cli, state_dir: Path, tenant: Tenant) -> str:
    """Apply the example, then `state: deleted` on jo.lei@: the id his account had."""
    assert cli("apply", state_dir, "--auto-approve").code == 0
    jo_id = tenant.users()[JO]["id"]
    users = state_dir / "users" / "engineering.yaml"
    # Deleted at once: no transfer, no waiting days (README, "Offboarding").
    deleted = "    state: deleted\n    offboarding: {transfer_to: none, delete_after_days: 0}\n"
    edit(users, JO_ENTRY, JO_ENTRY + deleted)
    assert cli("apply", state_dir, "--auto-approve").code == 0
    assert JO not in tenant.users()
    edit(users, JO_ENTRY + deleted, JO_ENTRY)  # Git wants him back
    return jo_id


def later(tenant: Tenant, days: float) -> None:
    """Move the emulator's clock `days` ahead."""
    tenant.server.api.clock = lambda: time.time() + days * DAY_S


def groups_of(tenant: Tenant, email: str) -> set[str]:
    return {
        g["email"]
        for g in tenant.snapshot()["groups"]
        if any(m["email"] == email for m in g.get("members", []))
    }


def test_a_deleted_user_git_wants_back_is_restored_with_its_old_id(emulator, state_dir, cli):
    tenant = emulator()
    jo_id = delete_jo_through_git(cli, state_dir, tenant)
    assert groups_of(tenant, JO) == set()  # Google drops the memberships of a deleted user
    inserts = tenant.calls("directory.users.insert")

    text = cli("plan", state_dir)
    assert text.code == 0, text.err
    gone = next(u for u in tenant.snapshot()["deletedUsers"] if u["primaryEmail"] == JO)
    deleted = datetime.fromisoformat(gone["deletionTime"].replace("Z", "+00:00"))
    until = (deleted + timedelta(days=20)).date()
    assert (
        f"  + undelete user {JO} (deleted {deleted.date()}; restorable until {until})\n"
    ) in text.out
    assert '      org_unit: "/Engineering"\n' in text.out
    assert "create user jo.lei" not in text.out
    assert "2 to undelete" not in text.out and ", 1 to undelete;" in text.out
    plan = plan_json(cli, state_dir)
    # Restored, then added back to the groups Git puts him in: in Google, and in Entra ID,
    # where the export took his account out of Engineering when Git deleted him.
    assert heads(plan, JO) == ["undelete", "assign_license", "add_member", "add_member"]
    git_groups = {c["group"] for c in plan["changes"] if kind_and_member(c) == ("membership", JO)}
    assert git_groups == {"eng@example.com"}
    entra_groups = {c["group"] for c in plan["changes"] if kind_and_member(c) == (ENTRA, JO)}
    assert entra_groups == {"Engineering"}

    assert cli("apply", state_dir, "--auto-approve").code == 0
    back = tenant.users()[JO]
    assert back["id"] == jo_id and back["orgUnitPath"] == "/Engineering"
    assert back["aliases"] == ["jo@example.com"] and not back["suspended"]
    assert groups_of(tenant, JO) == git_groups  # not social@, which Git does not manage
    assert tenant.calls("directory.users.undelete") == 1
    assert tenant.calls("directory.users.insert") == inserts  # no new account
    assert_no_changes_left(cli, state_dir)


def test_restored_as_suspended_when_git_says_so(emulator, state_dir, cli):
    tenant = emulator()
    jo_id = delete_jo_through_git(cli, state_dir, tenant)
    users = state_dir / "users" / "engineering.yaml"
    edit(users, JO_ENTRY, JO_ENTRY + "    state: suspended\n")
    plan = plan_json(cli, state_dir)
    # Suspended Git users stay members of their groups; suspensions come last.
    assert heads(plan, JO) == ["undelete", "add_member", "suspend"]
    assert cli("apply", state_dir, "--auto-approve").code == 0
    back = tenant.users()[JO]
    assert back["id"] == jo_id and back["suspended"]
    assert_no_changes_left(cli, state_dir)


def test_the_address_taken_meanwhile_is_that_account_with_a_note(emulator, state_dir, cli):
    tenant = emulator()
    jo_id = delete_jo_through_git(cli, state_dir, tenant)
    later(tenant, days=1)
    # An admin creates a new jo.lei@ in the console before Git asks for him back.
    name = {"givenName": "Jo", "familyName": "Lei"}
    tenant.api("POST", "users", {"primaryEmail": JO, "name": name, "password": "x" * 12})

    run = cli("plan", state_dir)
    assert run.code == 0, run.err
    assert "+ undelete user" not in run.out
    assert f"Note: user {JO}: the deleted account that had this address (deleted " in run.out
    assert "cannot be restored while another account or group holds one of its addresses" in (
        run.out
    )
    # The live account is the user: adopted (unmarked) and brought in line with Git.
    assert heads(plan_json(cli, state_dir), JO)[:2] == ["adopt", "update"]
    assert cli("apply", state_dir, "--auto-approve").code == 0
    live = tenant.users()[JO]
    assert live["id"] != jo_id and live["aliases"] == ["jo@example.com"]
    assert_no_changes_left(cli, state_dir)


def test_an_alias_taken_meanwhile_means_a_new_account_with_a_note(emulator, state_dir, cli):
    tenant = emulator()
    jo_id = delete_jo_through_git(cli, state_dir, tenant)
    later(tenant, days=1)
    # The shared mailbox (not in Git) got jo@ as an alias: Google would refuse the restore.
    tenant.api("POST", "users/info@example.com/aliases", {"alias": "jo@example.com"})

    run = cli("plan", state_dir)
    assert run.code == 0, run.err
    assert f"  + create user {JO}\n" in run.out and "+ undelete user" not in run.out
    assert (
        f"Note: user {JO}: jo@example.com now belongs to the user info@example.com; "
        "a new account is created instead"
    ) in run.out
    # Git's aliases for him include jo@, which Google refuses while the mailbox holds it.
    apply = cli("apply", state_dir, "--auto-approve")
    assert "users.aliases.insert jo.lei@example.com jo@example.com: 409 duplicate" in apply.err
    assert tenant.users()[JO]["id"] != jo_id


def test_more_than_20_days_later_a_new_account_is_created(emulator, state_dir, cli):
    tenant = emulator()
    jo_id = delete_jo_through_git(cli, state_dir, tenant)
    later(tenant, days=21)  # Google (and the emulator) forget a deleted account after 20

    run = cli("plan", state_dir)
    assert run.code == 0, run.err
    assert f"  + create user {JO}\n" in run.out
    assert "+ undelete user" not in run.out and "Note: user jo.lei" not in run.out
    assert cli("apply", state_dir, "--auto-approve").code == 0
    assert tenant.users()[JO]["id"] != jo_id
    assert tenant.calls("directory.users.undelete") == 0
    assert_no_changes_left(cli, state_dir)


def test_a_run_that_stopped_after_the_undelete_is_finished_by_the_next(emulator, state_dir, cli):
    tenant = emulator()
    jo_id = delete_jo_through_git(cli, state_dir, tenant)
    # An earlier apply restored him and was killed before the rest: he is live again.
    tenant.api("POST", f"users/{jo_id}/undelete", {"orgUnitPath": "/Engineering"})

    plan = plan_json(cli, state_dir)
    # No second undelete, no create: his license (a restored account has none) and groups
    # (Google's eng@, and Engineering in Entra ID).
    assert heads(plan, JO) == ["assign_license", "add_member", "add_member"]
    assert cli("apply", state_dir, "--auto-approve").code == 0
    assert tenant.users()[JO]["id"] == jo_id and groups_of(tenant, JO) == {"eng@example.com"}
    assert_no_changes_left(cli, state_dir)


class LosesFirstAnswer:
    """An http whose first request reaches the server but whose answer is lost."""

    def __init__(self, http: Any):
        self.http, self.lost = http, False

    def request(self, *args: Any, **kwargs: Any) -> Any:
        answer = self.http.request(*args, **kwargs)
        if not self.lost:
            self.lost = True
            raise ConnectionResetError("connection reset by peer")
        return answer


def test_an_undelete_whose_answer_was_lost_counts_as_done(
    emulator, state_dir, tmp_path, cli, monkeypatch
):
    tenant = emulator()
    jo_id = delete_jo_through_git(cli, state_dir, tenant)
    real = ops.undelete_user

    def answer_lost(*args: Any, **kwargs: Any) -> Any:
        call = real(*args, **kwargs)
        call.request.http = LosesFirstAnswer(call.request.http)
        return call

    monkeypatch.setattr(ops, "undelete_user", answer_lost)
    audit = tmp_path / "audit.jsonl"
    run = cli("apply", state_dir, "--auto-approve", "--audit-log", audit)
    assert run.code == 0, run.err
    # The first attempt restored him; the retry, finding no deleted account, counts as done.
    assert tenant.calls("directory.users.undelete") == 2
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    undelete = next(r for r in records if r["action"] == "undelete" and r["result"] != "started")
    assert undelete["result"] == "applied"
    assert undelete["notes"] == [
        f"users.undelete {JO} (id {jo_id}): restored by an earlier attempt"
    ]
    assert tenant.users()[JO]["id"] == jo_id
    assert_no_changes_left(cli, state_dir)

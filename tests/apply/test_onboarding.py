"""Day one, end to end through the CLI against the emulator: the example's apply mails each
new hire's manager their sign-in details (Gmail API, as `onboarding.from`), the password is
in that message only, a user under SSO gets none, and a refused send fails that change
only, leaving the account."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .support import edit, plan_json

KENJI = "kenji.watanabe@example.com"
OMAR = "omar.haddad@example.com"
PRIYA = "priya.natarajan@example.com"


def apply_with_files(cli, state_dir: Path, tmp_path: Path):
    files = {n: tmp_path / f"{n}.out" for n in ("audit", "result", "passwords")}
    run = cli(
        "apply",
        state_dir,
        "--auto-approve",
        "--audit-log",
        files["audit"],
        "--result-file",
        files["result"],
        "--password-file",
        files["passwords"],
    )
    return run, files


def test_the_plan_notifies_the_manager_of_each_new_hire_and_never_holds_a_password(
    emulator, state_dir, cli
):
    emulator()
    run = cli("plan", state_dir)
    assert run.code == 0, run.err
    line = f"  + notify manager {PRIYA} of {KENJI}'s sign-in details"
    assert line in run.out.splitlines()
    assert f"of {OMAR}'s" not in run.out  # onboarding: {notify: none}: SSO
    assert ", 1 to notify;" in run.out
    plan = plan_json(cli, state_dir)
    [notify] = [c for c in plan["changes"] if c["action"] == "notify"]
    assert notify["key"] == KENJI
    assert notify["fields"] == {
        "recipient": {"old": None, "new": PRIYA},
        "via": {"old": None, "new": "manager"},
    }
    assert notify["source"] == "users/engineering.yaml:28"
    assert plan["summary"]["notify"] == 1


def test_the_apply_mails_the_manager_a_password_that_is_nowhere_else(
    emulator, state_dir, cli, tmp_path
):
    tenant = emulator()
    plan_run = cli("plan", state_dir, "--format", "json")
    run, files = apply_with_files(cli, state_dir, tmp_path)
    assert run.code == 0, run.text
    [message] = tenant.server.messages()
    assert (message["from"], message["to"]) == ("admin@example.com", [PRIYA])
    assert message["subject"] == "Your new Acme Google account"
    body = message["body"]
    assert "Kenji Watanabe joins Acme" in body
    assert f"Address:            {KENJI}" in body
    assert "Sign in at:         https://accounts.google.com/" in body
    password = re.search(r"Temporary password: (\S+)", body).group(1)
    # The password file holds it (its purpose); nothing else the run wrote or said does.
    assert password in files["passwords"].read_text(encoding="utf-8")
    for text in (
        plan_run.out,
        plan_run.err,
        run.out,
        run.err,
        files["audit"].read_text(encoding="utf-8"),
        files["result"].read_text(encoding="utf-8"),
    ):
        assert password not in text
    records = [json.loads(line) for line in files["audit"].read_text().splitlines()]
    [sent] = [r for r in records if r["action"] == "notify" and r["result"] != "started"]
    assert (sent["result"], sent["notes"]) == ("applied", [f"notified {PRIYA}"])
    assert "notify" not in {c["action"] for c in plan_json(cli, state_dir)["changes"]}


def pending_of(tenant, email: str) -> str | None:
    status, user = tenant.request("GET", f"/admin/directory/v1/users/{email}?projection=full")
    assert status == 200, user
    return (user.get("customSchemas") or {}).get("Reconciler", {}).get("onboardingPending")


def test_a_refused_send_fails_that_change_only_and_the_next_apply_resets_and_sends(
    emulator, state_dir, cli, tmp_path
):
    tenant = emulator(disabled_apis=["gmail"])
    run, files = apply_with_files(cli, state_dir, tmp_path)
    assert run.code != 0
    assert "Gmail API has not been used in project" in run.text
    assert tenant.server.messages() == []
    assert tenant.api("GET", f"users/{KENJI}")["primaryEmail"] == KENJI
    records = [json.loads(line) for line in files["audit"].read_text().splitlines()]
    results = {(r["action"], r["key"]): r["result"] for r in records if r["result"] != "started"}
    assert results[("notify", KENJI)] == "failed"
    assert results[("create", KENJI)] == "applied"
    assert {r for k, r in results.items() if k != ("notify", KENJI)} == {"applied"}
    # The account says, in Google, that its message waits: any machine's next plan sees it.
    assert pending_of(tenant, KENJI) == "manager"
    first = files["passwords"].read_text(encoding="utf-8")

    tenant.server.configure(disabled_apis=[])
    again = cli("plan", state_dir)
    assert again.code == 0, again.err
    assert (
        f"  + reset the password of {KENJI} and notify manager {PRIYA} of {KENJI}'s sign-in "
        "details (its sign-in message was not sent)"
    ) in again.out.splitlines()
    assert "Plan: 0 to create, 0 to rename, 0 to adopt, 0 to update, 0 to unsuspend, 0 to " in (
        again.out
    )
    second, files2 = apply_with_files(cli, state_dir, tmp_path / "second")
    assert second.code == 0, second.text
    [message] = tenant.server.messages()
    assert message["to"] == [PRIYA]
    password = re.search(r"Temporary password: (\S+)", message["body"]).group(1)
    assert password not in first  # a new one: the first went nowhere but the lost file
    assert f"{KENJI},{password}" in files2["passwords"].read_text(encoding="utf-8")
    for text in (second.out, second.err, files2["audit"].read_text(), files2["result"].read_text()):
        assert password not in text
    assert not pending_of(tenant, KENJI)
    assert "notify" not in {c["action"] for c in plan_json(cli, state_dir)["changes"]}


def test_an_account_created_without_a_message_carries_no_mark(emulator, state_dir, cli):
    tenant = emulator()
    assert cli("apply", state_dir, "--auto-approve").code == 0
    assert not pending_of(tenant, OMAR)  # onboarding: {notify: none}
    assert not pending_of(tenant, KENJI)  # sent, then cleared


def test_a_user_without_a_manager_stops_the_plan_at_its_line(emulator, state_dir, cli):
    emulator()
    edit(
        state_dir / "users" / "engineering.yaml",
        '    manager: priya.natarajan@example.com\n    phone: "+1 555 0116"',
        '    phone: "+1 555 0116"',
    )
    run = cli("plan", state_dir)
    assert run.code != 0
    assert (
        f"users/engineering.yaml:28: user {KENJI} is to be created and onboarding.notify is "
        "manager, but it has no `manager:`"
    ) in run.err
    assert "`onboarding: {notify: none}`" in run.err


def _signed_in(tenant, email: str) -> None:
    """Someone signs in to the account (the emulator has no sign-in: its record is set)."""
    store = tenant.server.api.store
    with store.lock:
        for user in store.tenant.users.values():
            if user.get("primaryEmail") == email:
                user["lastLoginTime"] = "2026-12-01T10:00:00.000Z"


def test_a_pending_message_of_an_account_signed_in_to_resets_nothing(
    emulator, state_dir, cli, tmp_path
):
    """The mark stays when clearing it fails after a send: once someone has signed in, a
    reset would lock them out and mail a new password."""
    tenant = emulator(disabled_apis=["gmail"])
    apply_with_files(cli, state_dir, tmp_path)
    assert pending_of(tenant, KENJI) == "manager"
    tenant.server.configure(disabled_apis=[])
    _signed_in(tenant, KENJI)
    plan = plan_json(cli, state_dir)
    assert "notify" not in {c["action"] for c in plan["changes"]}
    assert any(n.startswith(f"{KENJI} has been signed in to") for n in plan["notes"])
    assert apply_with_files(cli, state_dir, tmp_path / "again")[0].code == 0
    assert tenant.server.messages() == []


def test_a_pending_message_whose_recipient_is_gone_waits_without_blocking_the_plan(
    emulator, state_dir, cli, tmp_path
):
    tenant = emulator(disabled_apis=["gmail"])
    apply_with_files(cli, state_dir, tmp_path)
    edit(
        state_dir / "users" / "engineering.yaml",
        '    manager: priya.natarajan@example.com\n    phone: "+1 555 0116"',
        '    phone: "+1 555 0116"',
    )
    run = cli("plan", state_dir)
    assert run.code == 0, run.err
    assert f"user {KENJI} awaits its sign-in message" in run.out and "the message waits" in run.out
    assert pending_of(tenant, KENJI) == "manager"


def test_a_manager_without_an_active_account_is_sent_nothing(emulator, state_dir, cli):
    """Sam, the contractor, is no longer bound: the plan suspends him, so he is no one to
    send a new hire's password to."""
    emulator()
    edit(
        state_dir / "users" / "engineering.yaml",
        '    manager: priya.natarajan@example.com\n    phone: "+1 555 0116"',
        '    manager: sam.okafor@example.com\n    phone: "+1 555 0116"',
    )
    run = cli("plan", state_dir)
    assert run.code == 1 and "notify" not in run.out
    assert "its manager sam.okafor@example.com has no active account in Git" in run.err
    assert "users/engineering.yaml:" in run.err


def test_a_subject_on_two_lines_is_refused_before_anything_is_sent(emulator, state_dir, cli):
    emulator()
    edit(
        state_dir / "workspace.yaml",
        "subject: Your new Acme Google account",
        'subject: "Hello\\r\\nBcc: evil@attacker.example"',
    )
    run = cli("plan", state_dir)
    assert run.code == 1 and "workspace.yaml:" in run.err and "onboarding.subject" in run.err

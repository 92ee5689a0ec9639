"""Offboarding end to end, through the CLI against the emulator (README, "Offboarding").

The example's workspace.yaml has its `offboarding:` block commented out; `offboarding_on`
turns it on as the README does (sign out, revoke tokens, transfer to the manager, delete 30
days after the suspension; no org unit). Sam Okafor, no longer bound, has two OAuth grants
and an app password in the seed; his manager is Ana Ruiz.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.emulator import transfers
from reconciler.emulator.transfers import CALENDAR, DRIVE

from .support import assert_no_changes_left, edit, heads, plan_json

SAM = "sam.okafor@example.com"
ANA = "ana.ruiz@example.com"
SAM_ENTRY = "  - email: sam.okafor@example.com\n"


def offboarding_on(state_dir: Path, org_unit: bool = False, keep_licenses: bool = True) -> None:
    """Uncomment the example's `offboarding:` block (the org unit line only if asked). The
    example's licenses are kept on suspension here unless told: given back (`on_suspend:
    revoke`) they would go once the transfers complete, whenever that is, and a plan's
    changes would depend on the time (tests/plan/test_licenses.py covers that wait, and
    test_offboarding_readme.py the README's run, which waits for the transfers)."""
    ws = state_dir / "workspace.yaml"
    if keep_licenses:
        ws.write_text(ws.read_text().replace("on_suspend: revoke", "on_suspend: keep"))
    lines, inside = [], False
    for line in ws.read_text().splitlines(keepends=True):
        inside = line.startswith("# offboarding:") or (inside and line.startswith("#   "))
        if inside:
            if "org_unit" in line and not org_unit:
                continue
            line = line[2:]
        lines.append(line)
    ws.write_text("".join(lines))


def marker(user: dict) -> dict:
    return (user.get("customSchemas") or {}).get("Reconciler", {})


def later(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def groups_of(tenant, email: str) -> set[str]:
    """The groups that list `email` as a member, as the emulator holds them."""
    return {
        address
        for address, group in tenant.groups().items()
        if email in {m.get("email", "").lower() for m in group.get("members", [])}
    }


def transfers_from(tenant, user_id: str) -> list[dict]:
    status, body = tenant.request(
        "GET", f"/admin/datatransfer/v1/transfers?oldOwnerUserId={user_id}"
    )
    assert status == 200, body
    return body.get("dataTransfers", [])


def test_an_unbound_user_is_offboarded_then_deleted_once_the_data_is_safe(
    state_dir: Path, emulator, cli, monkeypatch: pytest.MonkeyPatch
):
    tenant = emulator(transfer_delay_ms=300)
    offboarding_on(state_dir)
    plan = plan_json(cli, state_dir)
    steps = [h for h in heads(plan) if h[1] == SAM]
    assert steps == [
        ("suspend", SAM),
        ("sign_out", SAM),
        ("revoke_tokens", SAM),
        ("transfer_data", SAM),
    ]
    revoke = next(c for c in plan["changes"] if c["action"] == "revoke_tokens" and c["key"] == SAM)
    assert revoke["fields"]["tokens"]["old"] == [
        "1234567890-ci.apps.googleusercontent.com",
        "9876543210-notes.apps.googleusercontent.com",
    ]
    assert revoke["fields"]["app_passwords"]["old"] == ["101"]
    transfer = next(
        c for c in plan["changes"] if c["action"] == "transfer_data" and c["key"] == SAM
    )
    assert transfer["fields"]["to"]["new"] == ANA

    # First apply: suspended, signed out, tokens revoked, the transfer requested.
    audit = state_dir / "audit.jsonl"
    run = cli("apply", state_dir, "--auto-approve", "--audit-log", audit)
    assert run.code == 0, run.text
    sam = tenant.users()[SAM]
    assert sam["suspended"] is True
    assert marker(sam)["suspendedAt"] and marker(sam)["signedOutAt"]
    assert marker(sam)["signedOutAt"] >= marker(sam)["suspendedAt"]
    assert tenant.calls("directory.users.signOut") == 2  # Sam and James (state: suspended)
    assert tenant.api("GET", f"users/{SAM}/tokens").get("items", []) == []
    assert tenant.api("GET", f"users/{SAM}/asps").get("items", []) == []
    sent = transfers_from(tenant, sam["id"])
    assert len(sent) == 1 and sent[0]["newOwnerUserId"] == tenant.users()[ANA]["id"]
    apps = {a["applicationId"] for a in sent[0]["applicationDataTransfers"]}
    assert apps == {"55656082996", "435070579839"}  # Drive and Docs, Calendar
    # Every step is audited like any change.
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    audited = {(r["action"], r["key"]) for r in records if r["result"] == "applied"}
    assert {("sign_out", SAM), ("revoke_tokens", SAM), ("transfer_data", SAM)} <= audited

    # Steps run once: the next plan shows none of them, the transfer under way or done.
    assert_no_changes_left(cli, state_dir)

    # Git says deleted: the delete waits for the 30 days, the transfer being requested.
    edit(state_dir / "users" / "engineering.yaml", SAM_ENTRY, SAM_ENTRY + "    state: deleted\n")
    waiting = cli("plan", state_dir)
    assert waiting.code == 0, waiting.text
    assert "No changes." in waiting.out
    assert f"Note: delete of {SAM} waits: " in waiting.out
    assert "delete_after_days is 30: suspended on" in waiting.out

    # 31 days on, the transfer completed: the second apply deletes.
    time.sleep(0.4)
    monkeypatch.setenv("RECONCILER_NOW", later(31))
    assert heads(plan_json(cli, state_dir)) == [("delete", SAM)]
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0, run.text
    assert SAM not in tenant.users()
    assert_no_changes_left(cli, state_dir)


def test_a_delete_waits_for_a_transfer_in_progress(
    state_dir: Path, emulator, cli, monkeypatch: pytest.MonkeyPatch
):
    tenant = emulator(transfer_delay_ms=3_600_000)  # never done within the test
    offboarding_on(state_dir)
    edit(
        state_dir / "users" / "engineering.yaml",
        SAM_ENTRY,
        SAM_ENTRY + "    state: deleted\n    offboarding: {delete_after_days: 0}\n",
    )
    first = plan_json(cli, state_dir)
    assert ("delete", SAM) not in heads(first)
    assert any(
        f"delete of {SAM} waits: its data is not transferred yet" in n for n in first["notes"]
    )
    assert cli("apply", state_dir, "--auto-approve").code == 0
    assert SAM in tenant.users()
    plan = plan_json(cli, state_dir)
    assert heads(plan) == []
    assert any("its data transfer" in n and "inProgress" in n for n in plan["notes"])


def test_no_transfer_to_said_the_delete_waits_with_how_to_say_it(state_dir: Path, emulator, cli):
    tenant = emulator()
    edit(state_dir / "users" / "engineering.yaml", SAM_ENTRY, SAM_ENTRY + "    state: deleted\n")
    plan = plan_json(cli, state_dir)
    # Without a block: a suspension only (and the license back: on_suspend: revoke, no
    # transfer to wait for), no step, and the delete waits.
    assert [h for h in heads(plan) if h[1] == SAM] == [("revoke_license", SAM), ("suspend", SAM)]
    assert not [c for c in plan["changes"] if c["action"] in ("sign_out", "revoke_tokens")]
    note = next(n for n in plan["notes"] if n.startswith(f"delete of {SAM} waits"))
    assert "transfer_to: none" in note
    assert cli("apply", state_dir, "--auto-approve").code == 0
    assert tenant.users()[SAM]["suspended"] is True


def test_a_manager_who_is_not_active_is_an_error_naming_the_user(state_dir: Path, emulator, cli):
    tenant = emulator()
    offboarding_on(state_dir)
    before = tenant.snapshot()
    tenant.api("PATCH", f"users/{ANA}", {"suspended": True})
    run = cli("plan", state_dir)
    assert run.code == 1
    assert f"user {SAM}: its data would go to {ANA}" in run.err
    assert "is not an active account" in run.err
    assert cli("apply", state_dir, "--auto-approve").code == 1
    assert tenant.users()[SAM]["suspended"] is False  # nothing applied
    assert before["users"]  # the tenant was read


def test_a_security_timestamp_signs_out_and_forces_a_password_change_once(
    state_dir: Path, emulator, cli, monkeypatch: pytest.MonkeyPatch
):
    tenant = emulator()
    jo = "  - email: jo.lei@example.com\n"
    users = next(p for p in (state_dir / "users").glob("*.yaml") if jo in p.read_text())
    stamp = '    sign_out_after: "2026-01-05T10:00:00Z"\n'
    stamp += '    require_password_change_after: "2026-01-05T10:00:00Z"\n'
    edit(users, jo, jo + stamp)
    assert cli("apply", state_dir, "--auto-approve").code == 0
    assert tenant.calls("directory.users.signOut") >= 1
    jo_account = tenant.users()["jo.lei@example.com"]
    assert jo_account["changePasswordAtNextLogin"] is True
    assert marker(jo_account)["signedOutAt"] and marker(jo_account)["passwordChangeAt"]
    assert_no_changes_left(cli, state_dir)
    # A newer timestamp (tomorrow's): nothing until it has passed, then once more.
    tomorrow = later(1)
    users.write_text(users.read_text().replace("2026-01-05T10:00:00Z", tomorrow))
    assert heads(plan_json(cli, state_dir)) == []
    monkeypatch.setenv("RECONCILER_NOW", later(2))
    plan = plan_json(cli, state_dir)
    assert ("sign_out", "jo.lei@example.com") in heads(plan)
    assert ("require_password_change", "jo.lei@example.com") in heads(plan)


def test_the_report_lists_untransferred_data_and_waiting_deletes(state_dir: Path, emulator, cli):
    emulator(transfer_delay_ms=3_600_000)
    offboarding_on(state_dir)
    edit(state_dir / "users" / "engineering.yaml", SAM_ENTRY, SAM_ENTRY + "    state: deleted\n")
    assert cli("apply", state_dir, "--auto-approve").code == 0
    run = cli("report", state_dir, "--format", "json")
    rows = json.loads(run.out)["sections"]["offboarding"]
    details = {(r["key"], r["detail"].split(" (")[0].split(":")[0]) for r in rows}
    assert (SAM, "suspended, data not transferred") in details
    assert (SAM, "delete waits") in details


def test_remove_from_groups_and_org_unit_take_suspended_accounts_out(
    state_dir: Path, emulator, cli
):
    """The two steps that are existing change kinds, applied with their offboarding reason:
    James Wright (`state: suspended`, still a member of sales@ in Git) leaves it, and both
    leavers move to the offboarding org unit, which apply creates."""
    tenant = emulator()
    offboarding_on(state_dir, org_unit=True)
    ws = state_dir / "workspace.yaml"
    ws.write_text(ws.read_text().replace("remove_from_groups: false", "remove_from_groups: true"))
    james = "james.wright@example.com"
    assert "sales@example.com" in groups_of(tenant, james)
    plan = plan_json(cli, state_dir)
    removal = next(
        c
        for c in plan["changes"]
        if c["action"] == "remove_member" and c["reason"].startswith("offboarding")
    )
    assert (removal["group"], removal["member"]) == ("sales@example.com", james)
    assert removal["reason"] == "offboarding: remove_from_groups"
    moves = {
        c["key"]: c["fields"]["org_unit"]["new"]
        for c in plan["changes"]
        if c["action"] == "update" and c.get("reason") == "offboarding: org_unit"
    }
    assert moves == {james: "/Former staff", SAM: "/Former staff"}
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0, run.text
    users = tenant.users()
    assert users[james]["orgUnitPath"] == users[SAM]["orgUnitPath"] == "/Former staff"
    assert "sales@example.com" not in groups_of(tenant, james)
    assert_no_changes_left(cli, state_dir)


@pytest.mark.parametrize("missing", [CALENDAR, DRIVE])
def test_a_transfer_google_cannot_make_whole_fails_and_nothing_is_deleted(
    state_dir: Path, emulator, cli, monkeypatch: pytest.MonkeyPatch, missing: str
):
    """applications.list without Drive or Calendar (a name Google changed, an application
    turned off): the transfer is not requested without it (it would complete, and the
    delete would take that data with the account); the change fails naming the user and the
    application, and Sam is suspended, not deleted."""
    tenant = emulator(transfer_delay_ms=0)
    name = transfers.APPLICATIONS[missing][0]
    monkeypatch.delitem(transfers.APPLICATIONS, missing)
    offboarding_on(state_dir)
    edit(
        state_dir / "users" / "engineering.yaml",
        SAM_ENTRY,
        SAM_ENTRY + "    state: deleted\n    offboarding: {delete_after_days: 0}\n",
    )
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code != 0
    assert f"transfer_data {SAM}: the Data Transfer API lists no application named '{name}'" in (
        run.text
    )
    sam = tenant.users()[SAM]
    assert sam["suspended"] is True
    assert transfers_from(tenant, sam["id"]) == []
    plan = plan_json(cli, state_dir)
    assert ("delete", SAM) not in heads(plan)
    assert ("transfer_data", SAM) in heads(plan)


def test_the_report_reads_every_suspended_account_of_ours_offboarding_or_not(
    state_dir: Path, emulator, cli
):
    """Without an `offboarding:` block the first apply only suspends Sam (no longer bound),
    his two OAuth grants and app password left live. `plan` reads none of them (no more
    calls than before); `report` reads every suspended account of ours and lists them."""
    tenant = emulator()
    assert cli("apply", state_dir, "--auto-approve").code == 0
    assert tenant.users()[SAM]["suspended"] is True
    reads = ("directory.tokens.list", "directory.asps.list", "datatransfer.transfers.list")
    before = {m: tenant.calls(m) for m in reads}
    assert cli("plan", state_dir).code == 0
    assert {m: tenant.calls(m) for m in reads} == before
    # Without --credentials (and offboarding not configured) neither: its scopes are not
    # asked for.
    run = cli("report", state_dir, "--format", "json")
    assert run.code == 0, run.text
    assert {m: tenant.calls(m) for m in reads} == before
    run = cli("report", state_dir, "--format", "json", "--credentials")
    assert run.code == 0, run.text
    rows = json.loads(run.out)["sections"]["offboarding"]
    found = {(r["key"], r["detail"], r["finding"]) for r in rows}
    assert (SAM, "suspended, still has 2 OAuth grant(s), 1 app password(s)", True) in found
    assert (
        SAM,
        "suspended, data not transferred (transfers since the suspension: none); "
        "no `transfer_to` is said",
        False,
    ) in found
    # Sam's reads, and James's (state: suspended): one tokens listing each.
    assert tenant.calls("directory.tokens.list") - before["directory.tokens.list"] == 2

"""Partial failure: changes Google refuses fail, changes that depend on them are skipped (not
tried), independent ones are applied; the summary counts each, apply exits 1, and the next
plan is exactly what failed or was skipped."""

from __future__ import annotations

import json

from cli_support import EXAMPLE_CHANGES

from .support import edit

LONG_UNIT = "/Engineering/" + "Platform" * 13  # 104 characters: Google refuses the name


def unapplied(result_file) -> dict[str, dict]:
    """The changes of a result file that were not applied, by their canonical JSON."""
    data = json.loads(result_file.read_text())
    return {canonical(r): r for r in data["results"] if r["result"] != "applied"}


def canonical(change: dict) -> str:
    left_out = ("source", "result", "error")
    return json.dumps({k: v for k, v in change.items() if k not in left_out}, sort_keys=True)


def planned(cli, state_dir) -> dict[str, dict]:
    run = cli("plan", state_dir, "--format", "json")
    assert run.code == 0, run.err
    return {canonical(c): c for c in json.loads(run.out)["changes"]}


def test_taken_addresses_fail_their_creates_and_skip_their_memberships(
    emulator, state_dir, tmp_path, cli
):
    # Addresses already taken in Google, by accounts and groups Git does not manage: the
    # shared mailbox holds platform@ as an alias, the social club holds the new hire's.
    tenant_file = state_dir / "tenant.yaml"
    edit(
        tenant_file,
        "  - primaryEmail: info@example.com\n    name: {givenName: Acme, familyName: Info}\n",
        "  - primaryEmail: info@example.com\n    aliases: [platform@example.com]\n"
        "    name: {givenName: Acme, familyName: Info}\n",
    )
    edit(
        tenant_file,
        "  - email: social@example.com\n",
        "  - email: social@example.com\n    aliases: [omar.haddad@example.com]\n",
    )
    tenant = emulator()
    result_file = tmp_path / "result.json"

    run = cli("apply", state_dir, "--auto-approve", "--result-file", result_file)
    assert run.code == 1
    # Everything else applied, the export to Entra ID included (its members have Entra
    # accounts of their own, whatever Google refused).
    applied = EXAMPLE_CHANGES - 2 - 6
    assert f"Apply complete: {applied} applied, 2 failed, 6 skipped." in run.out
    for line in (
        "failed: create user omar.haddad@example.com: users.insert omar.haddad@example.com: "
        "409 duplicate",
        "failed: create group platform@example.com: groups.insert platform@example.com: "
        "409 duplicate",
        "skipped: add omar.haddad@example.com to finance@example.com as MEMBER: "
        "omar.haddad@example.com failed earlier",
        "skipped: add kenji.watanabe@example.com to platform@example.com as MEMBER: "
        "platform@example.com failed earlier",
        "skipped: add priya.natarajan@example.com to platform@example.com as OWNER",
        "skipped: add platform@example.com to eng@example.com as MEMBER",
        "Some changes failed; `reconciler plan` shows what is left.",
    ):
        assert line in run.err
    assert "Traceback" not in run.text
    counts = json.loads(result_file.read_text())
    assert (counts["applied"], counts["failed"], counts["skipped"]) == (applied, 2, 6)

    # Independent changes went through, in both directions of the dependency graph.
    users = tenant.users()
    assert "kenji.watanabe@example.com" in users and "maria.silva@example.com" in users
    assert users["tom.becker@example.com"]["suspended"] is False
    assert users["sam.okafor@example.com"]["suspended"] is True
    assert "omar.haddad@example.com" not in users
    assert "platform@example.com" not in tenant.groups()

    # The next plan is exactly what was not applied.
    left = unapplied(result_file)
    assert len(left) == 8  # with Omar's license and platform@'s settings
    assert planned(cli, state_dir).keys() == left.keys()

    # Once the addresses are freed, a second apply finishes the job.
    tenant.api("DELETE", "users/info@example.com/aliases/platform@example.com")
    tenant.api("DELETE", "groups/social@example.com/aliases/omar.haddad@example.com")
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0, run.err
    assert "Apply complete: 8 applied, 0 failed, 0 skipped." in run.out
    assert cli("plan", state_dir, "--detailed-exitcode").code == 0


def test_a_refused_org_unit_skips_its_users_and_their_memberships(
    emulator, state_dir, tmp_path, cli, monkeypatch
):
    # Validation refuses such a name before any call; lift that rule here so that Google's
    # own refusal, and how apply handles it, can be shown.
    monkeypatch.setattr("reconciler.desired.checks.MAX_ORG_UNIT_NAME", 1000)
    for name in ("org_units.yaml", "users/engineering.yaml"):
        path = state_dir / name
        path.write_text(path.read_text().replace("/Engineering/Platform", LONG_UNIT))
    tenant = emulator()
    result_file = tmp_path / "result.json"

    run = cli("apply", state_dir, "--auto-approve", "--result-file", result_file)
    assert run.code == 1
    applied = EXAMPLE_CHANGES - 1 - 5  # the export to Entra ID included
    assert f"Apply complete: {applied} applied, 1 failed, 5 skipped." in run.out
    assert f"failed: create org unit {LONG_UNIT}: orgunits.insert" in run.err
    assert "400 invalid: Invalid Input: name" in run.err
    assert f"skipped: create user kenji.watanabe@example.com: {LONG_UNIT} failed" in run.err
    assert f"skipped: update user priya.natarajan@example.com: {LONG_UNIT} failed" in run.err
    # Kenji was never created, so his membership is skipped, not tried against nobody.
    assert (
        "skipped: add kenji.watanabe@example.com to platform@example.com as MEMBER: "
        "kenji.watanabe@example.com skipped earlier"
    ) in run.err
    assert tenant.calls("directory.members.insert") == 5  # the six adds but Kenji's
    # No account, no password: his manager is not mailed.
    assert (
        "skipped: notify manager priya.natarajan@example.com of kenji.watanabe@example.com's "
        "sign-in details: kenji.watanabe@example.com skipped earlier"
    ) in run.err
    assert tenant.server.messages() == []

    left = unapplied(result_file)
    assert len(left) == 6  # with the license and the message of Kenji, never created
    assert planned(cli, state_dir).keys() == left.keys()
    users = tenant.users()
    assert users["priya.natarajan@example.com"]["orgUnitPath"] == "/Engineering"
    platform = {m["email"] for m in tenant.groups()["platform@example.com"]["members"]}
    assert platform == {"priya.natarajan@example.com"}


def test_a_suspended_user_without_an_account_is_left_out_of_groups(emulator, state_dir, cli):
    """Lena never had an account; Git now says suspended (she did not join after all). Adding
    her to a group would fail on every apply (Google: 404 memberKey), so the plan leaves her
    out and apply converges."""
    engineering = state_dir / "groups" / "engineering.yaml"
    edit(engineering, "      - lena.hoffmann@example.com\n", "")
    edit(
        engineering,
        "      - jo.lei@example.com\n",
        "      - jo.lei@example.com\n      - lena.hoffmann@example.com\n",
    )
    edit(state_dir / "users" / "engineering.yaml", "    state: staged\n", "    state: suspended\n")
    emulator()
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0, run.err
    assert cli("plan", state_dir, "--detailed-exitcode").code == 0

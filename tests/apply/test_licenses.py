"""Licenses end to end, through the CLI against the emulator's Licensing API (README,
"Licenses").

The example's workspace.yaml licenses Sales with Business Starter, /Engineering and below
with Business Plus, everyone else with Business Standard, frees the seat of a suspended
account (`on_suspend: revoke`) and caps Business Plus at 8 seats; tenant.yaml seeds the
seats bought and who holds which.
"""

from __future__ import annotations

from pathlib import Path

from .support import Tenant, assert_no_changes_left, edit, heads, plan_json

STARTER, STANDARD, PLUS = "1010020027", "1010020028", "1010020025"
GRACE_DEPARTMENT = "    department: Operations\n"


def held(tenant: Tenant) -> dict[str, str]:
    """Who holds which SKU of Google-Apps in the emulated tenant."""
    return tenant.snapshot().get("licenses", {}).get("assigned", {})


def license_calls(tenant: Tenant) -> dict[str, int]:
    return {m: n for m, n in tenant.stats()["by_method"].items() if m.startswith("licensing.")}


def test_the_example_licenses_by_rule_and_a_department_change_changes_the_license(
    state_dir: Path, emulator, cli
):
    tenant = emulator()
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0, run.text
    after = held(tenant)
    # By rule: Sales, /Engineering and below, the default; new hires in the same apply.
    assert after["emma.johnson@example.com"] == STARTER
    assert after["kenji.watanabe@example.com"] == PLUS  # created in this apply
    assert after["tom.becker@example.com"] == PLUS  # back from leave
    assert after["omar.haddad@example.com"] == STANDARD
    assert after["hannah.lee@example.com"] == STANDARD  # adopted
    assert after["maria.silva@example.com"] == PLUS  # renamed: kept under the new address
    # Suspended by the plan: their seats are free again (on_suspend: revoke).
    assert "sam.okafor@example.com" not in after and "james.wright@example.com" not in after
    # Not this repository's accounts: never touched.
    assert after["cms-publisher@example.com"] == STANDARD
    assert after["info@example.com"] == STARTER
    assert_no_changes_left(cli, state_dir)

    # Grace moves to Sales: the next plan changes her license with her department. The
    # example's department is Google's (sync.import_attributes): Git's new value is not
    # written to Google (a note says Google's), but the license rules match what Git says.
    users = state_dir / "users" / "operations.yaml"
    text = users.read_text()
    grace = text.index("grace.chen@example.com")
    at = text.index(GRACE_DEPARTMENT, grace)
    users.write_text(text[:at] + "    department: Sales\n" + text[at + len(GRACE_DEPARTMENT) :])
    plan = plan_json(cli, state_dir)
    assert heads(plan) == [("change_license", "grace.chen@example.com")]
    assert [n for n in plan["notes"] if n.startswith("department of grace.chen@example.com")]
    change = plan["changes"][0]
    assert change["fields"] == {"sku": {"old": STANDARD, "new": STARTER}}
    assert change["kind"] == "license" and change["product"] == "Google-Apps"
    assert cli("apply", state_dir, "--auto-approve").code == 0
    assert held(tenant)["grace.chen@example.com"] == STARTER
    assert_no_changes_left(cli, state_dir)


def test_a_plan_past_the_seats_bought_is_refused_and_changes_nothing(
    state_dir: Path, emulator, cli
):
    tenant = emulator()
    edit(state_dir / "workspace.yaml", "business-plus: 8", "business-plus: 5")
    before = tenant.snapshot()
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 1
    assert (
        "6 business-plus licenses after this plan (2 assigned by it); licenses.seats allows 5"
    ) in run.out
    assert "--allow-unsafe" in run.err and "Traceback" not in run.text
    assert tenant.snapshot() == before


def test_google_refuses_an_assignment_past_its_seats_after_the_revocations_free_theirs(
    state_dir: Path, emulator, cli
):
    """Google holds 5 Business Plus seats, all taken; Git says 8 were bought. Sam's seat,
    revoked first, goes to Kenji; Tom's assignment is refused with Google's answer."""
    edit(
        state_dir / "tenant.yaml",
        "business-standard: 15, business-plus: 8}",
        "business-standard: 15, business-plus: 5}",
    )
    tenant = emulator()
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 1
    assert "failed: assign a license to tom.becker@example.com" in run.err
    assert "There aren't enough available licenses" in run.err
    after = held(tenant)
    assert after["kenji.watanabe@example.com"] == PLUS and "sam.okafor@example.com" not in after
    assert "tom.becker@example.com" not in after
    # What is left is exactly Tom's license.
    assert [h for h in heads(plan_json(cli, state_dir)) if h[0].endswith("_license")] == [
        ("assign_license", "tom.becker@example.com")
    ]


def test_without_a_licenses_block_nothing_about_licenses_is_read_or_changed(
    state_dir: Path, emulator, cli
):
    tenant = emulator()
    ws = state_dir / "workspace.yaml"
    text = ws.read_text()
    start = text.index("licenses:\n")
    ws.write_text(text[:start] + text[text.index("\n\n", start) + 2 :])
    before = held(tenant)
    plan = plan_json(cli, state_dir)
    assert not [c for c in plan["changes"] if c["kind"] == "license"]
    assert cli("apply", state_dir, "--auto-approve").code == 0
    assert license_calls(tenant) == {}
    # Every license is as it was, under the accounts' new addresses after the renames; the
    # accounts the plan suspended keep theirs, and the new ones get none: nothing decides.
    renamed = {
        "maria.costa@example.com": "maria.silva@example.com",
        "rfischer@example.com": "robert.fischer@example.com",
    }
    assert held(tenant) == {renamed.get(k, k): v for k, v in before.items()}
    assert held(tenant)["sam.okafor@example.com"] == PLUS


def test_a_tenant_without_the_product_is_a_clear_error(state_dir: Path, emulator, cli):
    seed = state_dir / "tenant.yaml"
    text = seed.read_text()
    seed.write_text(text[: text.index("# Google Workspace licenses")])
    emulator()
    run = cli("plan", state_dir)
    assert run.code == 1 and "Traceback" not in run.text
    assert "licenseAssignments.listForProduct Google-Apps: 403 forbidden" in run.err
    assert "check licenses.product in workspace.yaml" in run.err

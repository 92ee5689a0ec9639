"""Org unit paths ignore case in Google: Git's /engineering is Google's /Engineering. End to
end through the CLI against the emulator: the unit is renamed to Git's spelling (its
sub-units and users follow), never created again, and the next plan is empty."""

from __future__ import annotations

import json

from .support import Tenant


def units(tenant: Tenant) -> dict[str, str]:
    """orgUnitPath -> orgUnitId of every unit in the tenant."""
    return {u["orgUnitPath"]: u["orgUnitId"] for u in tenant.snapshot()["orgUnits"]}


def user_units(tenant: Tenant) -> dict[str, str]:
    return {email: u.get("orgUnitPath", "/") for email, u in tenant.users().items()}


def test_a_unit_git_spells_in_another_case_converges_in_one_apply(emulator, state_dir, cli):
    tenant = emulator()
    engineering = units(tenant)["/Engineering"]
    for path in (state_dir / "org_units.yaml", state_dir / "users" / "engineering.yaml"):
        path.write_text(path.read_text().replace("/Engineering", "/engineering"))

    plan = cli("plan", state_dir, "--format", "json")
    assert plan.code == 0, plan.err
    changes = [c for c in json.loads(plan.out)["changes"] if c["kind"] == "org_unit"]
    assert [(c["action"], c["key"], c.get("fields")) for c in changes] == [
        (
            "create",
            "/engineering/Platform",
            {
                "description": {
                    "old": None,
                    "new": "Infrastructure, CI and internal tooling (team formed in November 2026)",
                }
            },
        ),
        ("update", "/engineering", {"name": {"old": "Engineering", "new": "engineering"}}),
    ]
    text = cli("plan", state_dir).out
    assert '  ~ update org unit /engineering\n      name: "Engineering" -> "engineering"' in text
    assert "create org unit /engineering\n" not in text

    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0 and "0 failed, 0 skipped" in run.out, run.text
    after = units(tenant)
    assert after["/engineering"] == engineering  # the same unit, renamed
    assert "/Engineering" not in after and "/engineering/Platform" in after
    placed = user_units(tenant)
    assert placed["jo.lei@example.com"] == "/engineering"  # carried by the rename
    assert placed["maria.silva@example.com"] == "/engineering"  # renamed, carried
    assert placed["priya.natarajan@example.com"] == "/engineering/Platform"  # moved
    assert placed["kenji.watanabe@example.com"] == "/engineering/Platform"  # created there

    again = cli("plan", state_dir, "--detailed-exitcode")
    assert again.code == 0 and again.out.startswith("No changes."), again.text


def test_a_user_spelling_a_declared_unit_otherwise_is_in_that_unit(emulator, state_dir, cli):
    tenant = emulator()
    users = state_dir / "users" / "engineering.yaml"
    users.write_text(
        users.read_text().replace("org_unit: /Engineering\n", "org_unit: /ENGINEERING\n")
    )
    assert cli("apply", state_dir, "--auto-approve").code == 0
    assert "/ENGINEERING" not in json.dumps(tenant.snapshot())  # Google keeps /Engineering
    assert user_units(tenant)["jo.lei@example.com"] == "/Engineering"
    again = cli("plan", state_dir, "--detailed-exitcode")
    assert again.code == 0 and again.out.startswith("No changes."), again.text


def test_two_units_git_spells_alike_are_refused_where_written(state_dir, cli):
    units_file = state_dir / "org_units.yaml"
    units_file.write_text(units_file.read_text() + "\n  - path: /SALES\n")
    run = cli("plan", state_dir)
    assert run.code == 1
    assert "org_units.yaml:30: org unit '/SALES' differs only by case from org unit " in run.err
    assert "'/Sales' (" in run.err and "org_units.yaml:24)" in run.err

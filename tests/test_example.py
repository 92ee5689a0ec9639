"""The example company is valid, canonical, and plants what its README promises."""

import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from reconciler.cli import main
from reconciler.desired import load_desired
from reconciler.desired.write import format_directory
from reconciler.problems import InvalidInput

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "desired-state"


def test_example_is_valid_without_warnings():
    desired = load_desired(EXAMPLE)
    # Only the auditor whose access ended (docs/state-directory.md, "Expiring access"): the
    # plan removes her.
    assert [(w.path.name, w.line, w.rule) for w in desired.warnings] == [
        ("finance.yaml", 17, "expired")
    ]
    state = desired.state
    assert len(state.users) >= 20
    assert {u.state for u in state.users.values()} == {"active", "staged", "suspended"}
    assert any(u.previous_emails for u in state.users.values())
    assert any(not u.bound for u in state.users.values())
    assert {d.rpartition("@")[2] for d in state.users} == {"example.com", "example.org"}
    kinds = {m.type for g in state.groups.values() for m in g.members.values()}
    roles = {m.role for g in state.groups.values() for m in g.members.values()}
    assert kinds == {"USER", "GROUP", "EXTERNAL"} and roles == {"OWNER", "MANAGER", "MEMBER"}


def test_example_is_in_canonical_form():
    assert format_directory(EXAMPLE, write=False) == []


def test_tenant_seed_uses_the_directory_api_shapes():
    tenant = YAML(typ="safe").load((EXAMPLE / "tenant.yaml").read_text())
    assert set(tenant) <= {
        *("domains", "users", "groups", "orgUnits", "schemas", "licenses", "roleAssignments")
    }
    assert set(tenant["domains"]) == {"example.com", "example.org"}
    assert all("primaryEmail" in u and "password" not in u for u in tenant["users"])
    assert all("email" in g and "members" in g for g in tenant["groups"])


def test_example_files_carry_a_schema_modeline_that_resolves():
    seeds = ("tenant.yaml", "entra-tenant.yaml")  # the emulators' tenants: not desired state
    for path in [p for p in EXAMPLE.rglob("*.yaml") if p.name not in seeds]:
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("$schema=", 1)[1]).resolve()
        expected = "workspace" if path.name == "workspace.yaml" else "desired-state"
        assert target.name == f"{expected}.schema.json" and target.is_file(), path


def test_the_sales_folder_may_define_only_sales_groups_and_no_users(tmp_path):
    """The example's restricted folder (workspace.yaml, `restrictions:`): the sales team's
    file cannot define, rename or take over any other group, nor define a user."""
    root = tmp_path / "desired-state"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".reconciler"))
    teams = root / "groups" / "sales" / "teams.yaml"
    teams.write_text(
        teams.read_text()
        + "  - name: sales-emea\n    email: sales-emea@example.com\n"
        + "  - name: sales-payroll\n    email: sales-payroll@example.com\n"
        + "    previous_emails: [finance@example.com]\n"
        + "users:\n  - {email: sam.new@example.com, given_name: Sam, family_name: New}\n"
    )
    with pytest.raises(InvalidInput) as exc:
        load_desired(root)
    found = [(p.path.name, p.message) for p in exc.value.problems if p.rule == "restrictions"]
    assert [name for name, _ in found] == ["teams.yaml"] * 2, exc.value.problems
    assert "finance@example.com" in found[0][1] and "groups/sales/**" in found[0][1]
    assert "user sam.new@example.com" in found[1][1]


def test_codeowners_of_the_example_follow_its_restrictions(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["codeowners", str(EXAMPLE)])
    assert exc.value.code == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if not ln.startswith("#")]
    assert lines == [
        "/examples/desired-state/** @acme/identity-team",
        "/examples/desired-state/groups/sales/** @acme/sales-ops",
        "/examples/desired-state/workspace.yaml @acme/identity-team",
    ]

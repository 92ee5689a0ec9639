"""The example company is valid, canonical, and plants what its README promises."""

from pathlib import Path

from ruamel.yaml import YAML

from reconciler.desired import load_desired
from reconciler.desired.write import format_directory

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "desired-state"


def test_example_is_valid_without_warnings():
    desired = load_desired(EXAMPLE)
    # Only the auditor whose access ended (README, Expiring access): the plan removes her.
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
    assert set(tenant) <= {"domains", "users", "groups", "orgUnits", "schemas", "licenses"}
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

"""The ownership schema on apply: created on a tenant that lacks it, completed when it lacks
the field, and not looked up again when the read just saw it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from reconciler.google.marker import FIELDS, SCHEMA, marker_of, schema_body

OWNERSHIP = "acme/identity"  # examples/desired-state/workspace.yaml


def seed_of(state_dir: Path) -> dict[str, Any]:
    return YAML(typ="safe").load((state_dir / "tenant.yaml").read_text())


def never_reconciled(seed: dict[str, Any]) -> dict[str, Any]:
    """The example tenant before any reconciler: no marker on any account, no schema."""
    del seed["schemas"]
    for user in seed["users"]:
        user.pop("customSchemas", None)
    return seed


def test_with_the_schema_in_place_apply_reads_it_once(state_dir, emulator, cli):
    seed = seed_of(state_dir)
    seed["schemas"] = [schema_body()]
    tenant = emulator(seed)
    assert cli("apply", state_dir, "--auto-approve").code == 0
    assert tenant.calls("directory.schemas.get") == 1  # the read's, before the plan
    assert tenant.calls("directory.schemas.insert") == tenant.calls("directory.schemas.patch") == 0


def test_a_schema_made_before_offboarding_gets_the_dates_before_a_suspension(
    state_dir, emulator, cli
):
    """The example's schema holds only the marker; its plan suspends: the date fields are
    added first (suspendedAt goes in the suspension's own patch)."""
    tenant = emulator()
    assert cli("apply", state_dir, "--auto-approve").code == 0
    assert tenant.calls("directory.schemas.patch") == 1
    (schema,) = tenant.snapshot()["schemas"]
    assert {f["fieldName"] for f in schema["fields"]} == set(FIELDS)
    sam = tenant.users()["sam.okafor@example.com"]
    assert sam["customSchemas"][SCHEMA]["suspendedAt"]


def test_a_tenant_without_the_schema_gets_it_on_first_apply(state_dir, emulator, cli):
    tenant = emulator(never_reconciled(seed_of(state_dir)))
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0, run.err
    assert "Created the ownership schema (custom user field)." in run.err
    assert tenant.calls("directory.schemas.insert") == 1
    marked = [u for u in tenant.users().values() if marker_of(u) == OWNERSHIP]
    assert len(marked) > 5  # every account apply created or adopted carries the marker
    assert cli("plan", state_dir, "--detailed-exitcode").code == 0


def test_a_schema_without_the_field_gets_it_added(state_dir, emulator, cli):
    seed = never_reconciled(seed_of(state_dir))
    seed["schemas"] = [
        {
            "schemaName": SCHEMA,
            "fields": [{"fieldName": "costCode", "fieldType": "STRING"}],
        }
    ]
    tenant = emulator(seed)
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0, run.err
    assert tenant.calls("directory.schemas.patch") == 1
    (schema,) = tenant.snapshot()["schemas"]
    assert {f["fieldName"] for f in schema["fields"]} == {"costCode", *FIELDS}
    assert cli("plan", state_dir, "--detailed-exitcode").code == 0

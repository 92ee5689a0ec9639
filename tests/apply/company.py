"""A generated company for crash tests: a state directory whose first plan has a few hundred
changes (org units, accounts with aliases, groups, memberships, a leaver), and its tenant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from reconciler.google.marker import group_marker_line

TEAMS = 4
OWNERSHIP = "acme/identity"


def email(i: int) -> str:
    return f"user{i:03}@example.com"


def write_company(root: Path, people: int = 120, batch_size: int = 10) -> Path:
    """Write the state directory at `root`, with its tenant as tenant.yaml (returned).

    The plan: TEAMS org units, `people` accounts (every tenth with an alias), TEAMS groups, two
    memberships per person, and one leaver to remove from staff@ and suspend.
    """
    yaml = YAML()
    root.mkdir(parents=True)
    files: dict[str, Any] = {
        "workspace.yaml": {
            "directory": {"customer": "my_customer", "domains": ["example.com"]},
            "ownership": {"id": OWNERSHIP},
            "provider": {"kind": "emulator", "seed": "tenant.yaml", "batch_size": batch_size},
            "safety": {"max_suspend": 5, "max_member_removals": 5},
        },
        "users.yaml": {
            "users": [
                {
                    "email": email(i),
                    "given_name": "User",
                    "family_name": f"Number {i}",
                    "org_unit": f"/Staff/Team {i % TEAMS}",
                    "title": "Engineer",
                    **({"aliases": [f"u{i:03}@example.com"]} if i % 10 == 0 else {}),
                }
                for i in range(people)
            ]
        },
        "groups.yaml": {
            "groups": [
                {
                    "name": "staff",
                    "email": "staff@example.com",
                    "members": list(map(email, range(people))),
                },
                *(
                    {
                        "name": f"team-{t}",
                        "email": f"team{t}@example.com",
                        "description": f"Team {t}",
                        "members": [email(i) for i in range(t, people, TEAMS)],
                    }
                    for t in range(TEAMS)
                ),
            ]
        },
        "bindings.yaml": {"bindings": [{"group": "staff"}]},
    }
    files["tenant.yaml"] = tenant()
    for name, doc in files.items():
        with (root / name).open("w", encoding="utf-8") as out:
            yaml.dump(doc, out)
    return root / "tenant.yaml"


def tenant() -> dict[str, Any]:
    """Google before the first apply: a super admin Git does not name, a marked leaver in
    staff@ (a group this repository marks), the ownership schema and the /Staff org unit."""
    return {
        "domains": ["example.com"],
        "schemas": [
            {
                "schemaName": "Reconciler",
                "fields": [{"fieldName": "ownershipId", "fieldType": "STRING"}],
            }
        ],
        "orgUnits": [{"name": "Staff", "orgUnitPath": "/Staff", "parentOrgUnitPath": "/"}],
        "users": [
            {
                "primaryEmail": "admin@example.com",
                "name": {"givenName": "Super", "familyName": "Admin"},
                "isAdmin": True,
            },
            {
                "primaryEmail": "leaver@example.com",
                "name": {"givenName": "Lee", "familyName": "Vér"},
                "customSchemas": {"Reconciler": {"ownershipId": OWNERSHIP}},
            },
        ],
        "groups": [
            {
                "email": "staff@example.com",
                "name": "staff",
                "description": group_marker_line(OWNERSHIP),  # managed here already
                "members": [{"email": "leaver@example.com", "role": "MEMBER", "type": "USER"}],
            }
        ],
    }


def assert_tenant_is_the_company(state: dict[str, Any], people: int) -> None:
    """The emulated tenant holds exactly the company `write_company(people)` describes, once:
    every account marked, in its team's unit, with its alias; the leaver suspended; every
    group with exactly its members."""
    from reconciler.google.marker import marker_of

    from .support import duplicates

    assert duplicates(state) == []
    users = {u["primaryEmail"]: u for u in state["users"]}
    assert set(users) == {email(i) for i in range(people)} | {
        "admin@example.com",
        "leaver@example.com",
    }
    for i in range(people):
        user = users[email(i)]
        assert marker_of(user) == OWNERSHIP and user["orgUnitPath"] == f"/Staff/Team {i % TEAMS}"
        assert user.get("aliases", []) == ([f"u{i:03}@example.com"] if i % 10 == 0 else [])
    assert users["leaver@example.com"]["suspended"] is True
    assert users["admin@example.com"]["suspended"] is False
    members = {g["email"]: {m["email"] for m in g.get("members", [])} for g in state["groups"]}
    assert members["staff@example.com"] == {email(i) for i in range(people)}
    for t in range(TEAMS):
        assert members[f"team{t}@example.com"] == {email(i) for i in range(t, people, TEAMS)}

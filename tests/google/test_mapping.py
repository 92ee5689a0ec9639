"""Google's shapes to the State and back: user_body changes only the entries Git manages."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from reconciler.google import ops
from reconciler.google.client import Call
from reconciler.google.mapping import (
    group_from_api,
    member_from_api,
    org_unit_from_api,
    user_body,
    user_from_api,
)
from reconciler.state import Member

# A user as users.get answers it (projection full), with entries Git does not manage in
# every list attribute.
RESOURCE: dict[str, Any] = {
    "id": "100000000000000000001",
    "primaryEmail": "Ana.Ruiz@Example.com",
    "name": {"givenName": "Ana", "familyName": "Ruiz", "fullName": "Ana Ruiz"},
    "suspended": False,
    "orgUnitPath": "/Engineering",
    "aliases": ["Ana@Example.com", "a.ruiz@example.com"],
    "isAdmin": False,
    "organizations": [
        {"name": "Acme Foundation", "title": "Board member", "type": "work"},
        {
            "title": "VP Engineering",
            "department": "Engineering",
            "costCenter": "CC-100",
            "primary": True,
            "customType": "",
        },
    ],
    "relations": [
        {"type": "assistant", "value": "grace.chen@example.com"},
        {"type": "manager", "value": "Olivia.Grant@example.com"},
    ],
    "phones": [
        {"type": "mobile", "value": "+1 555 0199"},
        {"type": "work", "value": "+1 555 0110", "primary": True},
    ],
    "externalIds": [
        {"type": "custom", "customType": "badge", "value": "B-77"},
        {"type": "organization", "value": "E-1002"},
    ],
    "recoveryEmail": "Ana.Home@Example.net",
    "recoveryPhone": "+15550199",
    "customSchemas": {"Reconciler": {"ownershipId": "acme/identity"}},
}


def apply(resource: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """What users.update does with a body: each top-level field replaced (name merged)."""
    out = copy.deepcopy(resource)
    for key, value in body.items():
        if key == "name":
            out["name"] = {**out.get("name", {}), **value}
        elif value in ("", None, []):
            out.pop(key, None)
        else:
            out[key] = value
    return out


def unmanaged(resource: dict[str, Any]) -> dict[str, Any]:
    """Every list entry Git does not manage, and the primary organization's other keys."""
    primary = next(o for o in resource.get("organizations", []) if o.get("primary"))
    return {
        "organizations": [o for o in resource["organizations"] if not o.get("primary")],
        "primary_other": {
            k: v for k, v in primary.items() if k not in ("title", "department", "costCenter")
        },
        "relations": [r for r in resource.get("relations", []) if r["type"] != "manager"],
        "phones": [p for p in resource.get("phones", []) if p["type"] != "work"],
        "externalIds": [e for e in resource.get("externalIds", []) if e["type"] != "organization"],
    }


def test_user_from_api_normalizes():
    user = user_from_api(RESOURCE)
    assert user.email == "ana.ruiz@example.com"
    assert user.aliases == ("a.ruiz@example.com", "ana@example.com")
    assert (user.title, user.department, user.cost_center) == (
        "VP Engineering",
        "Engineering",
        "CC-100",
    )
    assert user.manager == "olivia.grant@example.com"
    assert (user.phone, user.employee_id) == ("+1 555 0110", "E-1002")
    assert user.recovery_email == "ana.home@example.net"
    assert user.owner == "acme/identity"


def test_user_from_api_with_nothing_optional():
    user = user_from_api({"primaryEmail": "x@example.com", "name": {}})
    assert user.org_unit == "/" and user.aliases == () and user.raw is None
    assert (user.title, user.manager, user.phone, user.employee_id, user.owner) == (None,) * 5
    # No primary flag: the first organization is the one Git manages.
    orgs = {"primaryEmail": "x@example.com", "organizations": [{"title": "A"}, {"title": "B"}]}
    assert user_from_api(orgs).title == "A"
    assert user_from_api({**RESOURCE, "recoveryEmail": "  "}).recovery_email is None


CHANGES = [
    {"title": "CTO"},
    {"department": "Executive", "cost_center": "CC-001"},
    {"manager": "nora.baker@example.com"},
    {"phone": "+1 555 0999"},
    {"employee_id": "E-0001"},
    {"given_name": "Anna", "family_name": "Ruiz-Lopez"},
    {"org_unit": "/Executive"},
    {"recovery_email": "anna@example.net", "recovery_phone": "+15550000"},
    {"title": "", "cost_center": None},
    {"manager": None, "phone": "", "employee_id": ""},
    {"recovery_email": "", "recovery_phone": None},
    {
        "title": "CTO",
        "department": "Executive",
        "cost_center": "CC-001",
        "manager": "nora.baker@example.com",
        "phone": "+1 555 0999",
        "employee_id": "E-0001",
    },
]


@pytest.mark.parametrize("changes", CHANGES, ids=lambda c: ",".join(sorted(c)))
def test_user_body_round_trip_changes_only_managed_entries(changes):
    current = user_from_api(RESOURCE)
    body = user_body(changes, current)
    after = apply(RESOURCE, body)
    expected = replace(current, **{k: v or None for k, v in changes.items()})
    assert user_from_api(after) == expected
    assert unmanaged(after) == unmanaged(RESOURCE)
    # The body names only what changes: nothing else in the user is rewritten.
    touched = {
        "given_name": "name",
        "family_name": "name",
        "org_unit": "orgUnitPath",
        "title": "organizations",
        "department": "organizations",
        "cost_center": "organizations",
        "manager": "relations",
        "phone": "phones",
        "employee_id": "externalIds",
        "recovery_email": "recoveryEmail",
        "recovery_phone": "recoveryPhone",
    }
    assert set(body) == {touched[k] for k in changes}
    assert RESOURCE["phones"][1]["value"] == "+1 555 0110"  # current.raw was not mutated


def test_user_body_keeps_other_keys_of_the_managed_entry():
    body = user_body({"phone": "+1 555 0999"}, user_from_api(RESOURCE))
    work = next(p for p in body["phones"] if p["type"] == "work")
    assert work == {"type": "work", "value": "+1 555 0999", "primary": True}


def test_user_body_without_current_builds_first_entries():
    body = user_body({"title": "CTO", "manager": "x@example.com", "phone": "1", "employee_id": "E"})
    assert body["organizations"] == [{"primary": True, "type": "work", "title": "CTO"}]
    assert body["relations"] == [{"type": "manager", "value": "x@example.com"}]
    assert body["phones"] == [{"type": "work", "value": "1"}]
    assert body["externalIds"] == [{"type": "organization", "value": "E"}]
    assert user_body({}) == {}
    assert user_body({"org_unit": None}) == {"orgUnitPath": "/"}


def test_user_body_round_trip_through_the_emulator(client):
    """The same round trip with the API's own update doing the applying."""

    def get() -> dict[str, Any]:
        request = client.service.users().get(userKey="ana.ruiz@example.com", projection="full")
        return client.must(Call(request, "get"))

    before = get()
    current = user_from_api(before)
    for changes in CHANGES:
        current = user_from_api(get())
        outcome = client.execute(ops.update_user(client, current.email, changes, current))
        assert outcome.ok, outcome.error
        expected = replace(current, **{k: v or None for k, v in changes.items()})
        after = get()
        assert user_from_api(after) == expected, changes
        assert unmanaged(after) == unmanaged(before), changes


def test_groups_members_and_org_units():
    group = group_from_api(
        {
            "id": "g1",
            "email": "Sales@Example.com",
            "name": "Sales",
            "description": "",
            "aliases": ["Sales-Team@example.com"],
            "directMembersCount": "4",
        },
        {"a@example.com": Member("a@example.com")},
    )
    assert (group.email, group.description, group.aliases) == (
        "sales@example.com",
        None,
        ("sales-team@example.com",),
    )
    assert group.direct_members_count == 4 and group.members
    assert group_from_api({"email": "x@example.com"}).direct_members_count is None
    assert member_from_api({"email": "Jo@Example.com", "role": "OWNER", "type": "USER"}) == (
        Member("jo@example.com", "OWNER", "USER")
    )
    assert member_from_api({"id": "C01abc", "role": "MEMBER", "type": "CUSTOMER"}) == Member(
        "c01abc", "MEMBER", "CUSTOMER"
    )
    unit = org_unit_from_api({"orgUnitPath": "/Sales/Europe", "orgUnitId": "id:1"})
    assert (unit.path, unit.description, unit.id, unit.parent) == (
        "/Sales/Europe",
        None,
        "id:1",
        "/Sales",
    )

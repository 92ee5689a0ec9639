"""fetch_actual against the emulator: what comes back is what was seeded."""

from __future__ import annotations

import copy
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    CUSTOMER,
    DOMAINS,
    OWNERSHIP,
    UNMANAGED_GROUP,
    connect,
    example_tenant,
    managed,
    start_emulator,
    stats,
)

from reconciler.emulator.request import format_time
from reconciler.google import fetch as fetch_module
from reconciler.google.fetch import Actual, fetch_actual
from reconciler.progress import Progress
from reconciler.state import Member, User


def fetch(client: Any, managed_groups: Any = managed) -> Actual:
    return fetch_actual(client, customer=CUSTOMER, domains=DOMAINS, managed_groups=managed_groups)


def _typed(entries: list[dict[str, Any]], kind: str) -> str | None:
    return next((e["value"] for e in entries if e.get("type") == kind), None)


def expected_user(seed: dict[str, Any]) -> dict[str, Any]:
    """What the State should say about a seeded user, read straight off the seed."""
    orgs = seed.get("organizations", [])
    org = next((o for o in orgs if o.get("primary")), orgs[0] if orgs else {})
    recovery = seed.get("recoveryEmail")
    return {
        "email": seed["primaryEmail"].lower(),
        "given_name": seed["name"]["givenName"],
        "family_name": seed["name"]["familyName"],
        "org_unit": seed.get("orgUnitPath", "/"),
        "title": org.get("title"),
        "department": org.get("department"),
        "cost_center": org.get("costCenter"),
        "manager": _typed(seed.get("relations", []), "manager"),
        "phone": _typed(seed.get("phones", []), "work"),
        "employee_id": _typed(seed.get("externalIds", []), "organization"),
        "recovery_email": recovery.lower() if recovery else None,
        "recovery_phone": seed.get("recoveryPhone"),
        "aliases": tuple(sorted(a.lower() for a in seed.get("aliases", []))),
        "suspended": bool(seed.get("suspended")),
        "owner": seed.get("customSchemas", {}).get("Reconciler", {}).get("ownershipId"),
        "is_admin": bool(seed.get("isAdmin")),
    }


def as_seen(user: User, names: Any) -> dict[str, Any]:
    return {name: getattr(user, name) for name in names}


def test_users_equal_the_seed(client):
    seeded = example_tenant()["users"]
    actual = fetch(client)
    assert sorted(actual.state.users) == sorted(u["primaryEmail"] for u in seeded)
    for seed in seeded:
        expected = expected_user(seed)
        assert as_seen(actual.state.users[seed["primaryEmail"]], expected) == expected


def test_every_mapped_user_attribute_spelled_out(client):
    # The derivation above could share a mistake with the mapping; one user in full.
    users = fetch(client).state.users
    ana = users["ana.ruiz@example.com"]
    assert (ana.given_name, ana.family_name, ana.org_unit) == ("Ana", "Ruiz", "/Engineering")
    assert (ana.title, ana.department, ana.cost_center) == (
        "VP Engineering",
        "Engineering",
        "CC-100",
    )
    assert ana.manager == "olivia.grant@example.com"
    assert (ana.phone, ana.employee_id) == ("+1 555 0110", "E-1002")
    assert (ana.recovery_email, ana.recovery_phone) == ("ana.ruiz.home@example.net", "+15550199")
    assert ana.aliases == ("ana@example.com",)
    assert (ana.owner, ana.suspended, ana.is_admin) == ("acme/identity", False, False)
    assert ana.id and ana.raw is not None
    # Entries Git does not manage are kept aside for writes, not mapped.
    assert {p["type"] for p in json.loads(ana.raw)["phones"]} == {"work", "mobile"}
    admin = users["admin@example.com"]
    assert admin.is_admin and admin.owner == "acme/identity" and admin.org_unit == "/"
    assert users["hannah.lee@example.com"].owner is None  # made by hand, never marked
    assert users["cms-publisher@example.com"].owner == "acme/marketing-sites"
    tom = users["tom.becker@example.com"]
    assert tom.suspended and tom.suspension_reason == "ADMIN"
    abused = users["abused@example.com"]
    assert abused.suspended and abused.suspension_reason == "ABUSE"
    assert users["info@example.com"].title is None and users["info@example.com"].aliases == ()


def test_groups_and_members_equal_the_seed(client):
    seeded = {g["email"]: g for g in example_tenant()["groups"]}
    actual = fetch(client)
    assert sorted(actual.state.groups) == sorted(seeded)
    for email, seed in seeded.items():
        group = actual.state.groups[email]
        assert group.name == seed["name"]
        # The ownership marker (the description's last line) is read apart from the text.
        text, marked, owner = seed.get("description"), "\n\nManaged in Git by", None
        if text and marked in text:
            text, owner = text.split(marked)[0], OWNERSHIP
        assert (group.description, group.owner) == (text, owner)
        assert group.aliases == tuple(sorted(seed.get("aliases", [])))
        assert group.direct_members_count == len(seed["members"])
        assert group.id
        if email == UNMANAGED_GROUP:
            assert group.members == {}  # not managed: never read
            continue
        assert group.members == {
            m["email"]: Member(m["email"], m["role"], m["type"]) for m in seed["members"]
        }
    types = {m.type for g in actual.state.groups.values() for m in g.members.values()}
    assert types == {"USER", "GROUP", "EXTERNAL"}
    roles = {m.role for g in actual.state.groups.values() for m in g.members.values()}
    assert roles == {"OWNER", "MANAGER", "MEMBER"}
    assert actual.group_addresses["it@example.com"] == "helpdesk@example.com"
    assert actual.user_addresses["ceo@example.com"] == "olivia.grant@example.com"


def test_org_units_equal_the_seed(client):
    seeded = {u["orgUnitPath"]: u.get("description") for u in example_tenant()["orgUnits"]}
    units = fetch(client).state.org_units
    assert {path: unit.description for path, unit in units.items()} == seeded
    assert units["/Sales/Europe"].parent == "/Sales" and units["/Sales/Europe"].id


def test_members_are_read_only_for_managed_groups_with_members(client, emulator):
    actual = fetch(client)
    listed = stats(emulator)["by_method"]["directory.members.list"]
    with_members = [
        g for g in example_tenant()["groups"] if g["members"] and g["email"] != UNMANAGED_GROUP
    ]
    assert listed == len(with_members)  # not social@ (unmanaged), not empty@ (no members)
    assert actual.state.groups["empty@example.com"].members == {}


def test_without_group_management_no_group_is_read(client, emulator):
    actual = fetch(client, managed_groups=None)
    assert actual.state.groups == {}
    assert len(actual.state.users) == len(example_tenant()["users"])
    by_method = stats(emulator)["by_method"]
    assert "directory.groups.list" not in by_method
    assert "directory.members.list" not in by_method


def test_members_are_read_and_filed_a_slice_at_a_time(client, monkeypatch):
    whole = fetch(client).state.groups
    monkeypatch.setattr(fetch_module, "MEMBER_PAGES_AT_ONCE", 5)
    client.batch_size = 2  # slices of whole batches: 4 pages
    sizes: list[int] = []
    execute_all = client.execute_all

    def recorded(calls):
        sizes.append(len(calls))
        return execute_all(calls)

    monkeypatch.setattr(client, "execute_all", recorded)
    sliced = fetch(client).state.groups
    assert sliced == whole
    assert sizes and max(sizes) == 4 and sum(sizes) > 4


def test_member_addresses_share_the_users_strings(client):
    # At 500k memberships, one string per address instead of one per membership.
    actual = fetch(client)
    users = actual.state.users
    shared = [
        m.email is users[m.email].email
        for g in actual.state.groups.values()
        for m in g.members.values()
        if m.email in users
    ]
    assert shared and all(shared)


def test_fetch_shows_progress_on_large_phases(client):
    shown = io.StringIO()

    def progress(label: str) -> Progress:
        return Progress(label, stream=shown, every_s=0)  # every item counts as "a while"

    fetch_actual(
        client, customer=CUSTOMER, domains=DOMAINS, managed_groups=managed, progress=progress
    )
    lines = shown.getvalue().splitlines()
    seeded = example_tenant()
    users, groups = len(seeded["users"]), len(seeded["groups"])
    # Members are counted by group: the managed groups that have any.
    read = sum(1 for g in seeded["groups"] if g["email"] != UNMANAGED_GROUP and g["members"])
    assert any(line.startswith(f"Reading users: done, {users} in ") for line in lines)
    assert any(line.startswith(f"Reading groups: done, {groups} in ") for line in lines)
    assert any(
        line.startswith(f"Reading members: done, {read} of {read} groups in ") for line in lines
    )


def test_fetch_reports_its_cost(client, emulator):
    actual = fetch(client)
    seen = stats(emulator)
    assert actual.calls == seen["api_calls"]
    assert actual.http_requests == seen["http_requests"]
    assert actual.retries == 0 and actual.marker_schema


# -- recently deleted users ----------------------------------------------------------------


def days_ago(days: float) -> str:
    return format_time(time.time() - days * 86400)


def deleted_user(email: str, uid: str, deleted: str, **more: Any) -> dict[str, Any]:
    name = {"givenName": "Gone", "familyName": "User"}
    return {"primaryEmail": email, "id": uid, "name": name, "deletionTime": deleted, **more}


def test_deleted_users_are_read_apart_from_the_live_ones(tmp_path: Path, sent):
    doc = example_tenant()
    marker = {"Reconciler": {"ownershipId": OWNERSHIP}}
    doc["deletedUsers"] = [
        # Deleted twice under one address: the later one is the one to restore.
        deleted_user("lea@example.com", "901", days_ago(9), orgUnitPath="/Sales"),
        deleted_user(
            "Lea@example.com", "902", days_ago(2), aliases=["lb@example.com"], customSchemas=marker
        ),
        deleted_user("sam.okafor@example.com", "903", days_ago(1), suspended=True),
    ]
    server = start_emulator(doc)
    try:
        actual = fetch(connect(server, tmp_path, read_only=True))
        by_method = stats(server)["by_method"]
    finally:
        server.stop()
    deleted = actual.state.deleted_users
    assert sorted(deleted) == ["lea@example.com", "sam.okafor@example.com"]
    lea = deleted["lea@example.com"]
    assert (lea.id, lea.aliases, lea.owner, lea.org_unit) == (
        "902",
        ("lb@example.com",),
        OWNERSHIP,
        "/",
    )
    assert lea.deletion_time == doc["deletedUsers"][1]["deletionTime"]
    # sam.okafor@ has a live account too: each list keeps its own.
    assert deleted["sam.okafor@example.com"].suspended
    assert "sam.okafor@example.com" in actual.state.users
    assert actual.state.users["sam.okafor@example.com"].deletion_time is None
    assert (
        "lea@example.com" not in actual.state.users
        and "lb@example.com" not in actual.user_addresses
    )
    assert by_method["directory.users.list"] == 2  # the live users, then the deleted ones
    deleted_listings = [u for u in _user_listings(sent) if "showDeleted=true" in u]
    assert len(deleted_listings) == 1 and "customFieldMask=Reconciler" in deleted_listings[0]


def test_no_deleted_users_costs_one_call(client, emulator):
    actual = fetch(client)
    assert actual.state.deleted_users == {}
    assert stats(emulator)["by_method"]["directory.users.list"] == 1 + 1


# -- the ownership schema ------------------------------------------------------------------


def _user_listings(sent: list[Any]) -> list[str]:
    return [r.uri for r in sent if r.method == "GET" and "/directory/v1/users?" in r.uri]


def test_marker_schema_present_reads_the_marker(client, sent):
    actual = fetch(client)
    assert actual.marker_schema
    listings = _user_listings(sent)
    assert listings and all("projection=custom" in u for u in listings)
    assert all("customFieldMask=Reconciler" in u for u in listings)
    assert actual.state.users["ana.ruiz@example.com"].owner == "acme/identity"


@pytest.mark.parametrize("schema_without_field", [False, True])
def test_marker_schema_absent_or_without_the_field(schema_without_field, tmp_path: Path, sent):
    doc = example_tenant()
    doc["schemas"] = []
    if schema_without_field:
        other = {"fieldName": "costCode", "fieldType": "STRING"}
        doc["schemas"] = [{"schemaName": "Reconciler", "fields": [other]}]
    for user in doc["users"]:
        user.pop("customSchemas", None)  # the seed cannot carry a field that does not exist
    server = start_emulator(copy.deepcopy(doc))
    try:
        actual = fetch(connect(server, tmp_path, read_only=True))
        by_method = stats(server)["by_method"]
    finally:
        server.stop()
    # Planning never creates the schema: only reads went out.
    assert all(m.rsplit(".", 1)[1] in ("get", "list") for m in by_method), by_method
    assert not actual.marker_schema
    listings = _user_listings(sent)
    assert listings and not any("projection=custom" in u for u in listings)
    assert all(user.owner is None for user in actual.state.users.values())
    assert len(actual.state.users) == len(doc["users"])

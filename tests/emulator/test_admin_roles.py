"""Admin roles: delegated admins allowed what their roles' privileges cover, isDelegatedAdmin
computed, the read-only role-management methods, and roles in seeds and saved states."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.admin_roles import METHOD_PRIVILEGES, PRIVILEGES
from reconciler.emulator.auth import method_scopes
from reconciler.emulator.store import TenantStore
from reconciler.problems import InvalidInput

from .api_support import SMALL_SEED, Client, access_token, key, make, new_user

ADMIN = "admin@example.com"
GROUPS_ADMIN = "jo@example.com"  # _GROUPS_ADMIN_ROLE
USER_ADMIN = "sam@example.org"  # a custom role: users only
FORBIDDEN = {
    "error": {
        "code": 403,
        "message": "Not Authorized to access this resource/api",
        "errors": [
            {
                "message": "Not Authorized to access this resource/api",
                "domain": "global",
                "reason": "forbidden",
            }
        ],
    }
}


def seed(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SMALL_SEED)
    doc["roles"] = [
        {
            "roleName": "Account reader-writer",
            "roleDescription": "Users only",
            "rolePrivileges": [{"privilegeName": "USERS_ALL"}],
        }
    ]
    doc["roleAssignments"] = [
        {"assignedTo": GROUPS_ADMIN, "roleName": "_GROUPS_ADMIN_ROLE"},
        {"assignedTo": USER_ADMIN, "roleName": "Account reader-writer", "scopeType": "CUSTOMER"},
    ]
    doc.update(changes)
    return doc


def acting_as(client: Client, subject: str) -> Client:
    client.authorization = "Bearer " + access_token(client.netloc, subject=subject)
    return client


def test_a_groups_admin_lists_groups_but_may_not_insert_users():
    client = acting_as(make(seed()), GROUPS_ADMIN)
    groups = client.ok("GET", "groups", customer="my_customer")["groups"]
    assert {g["email"] for g in groups} == {"all@example.com", "eng@example.com"}
    client.ok("POST", "groups/" + key("eng@example.com") + "/members", {"email": ADMIN})
    refused = client.request("POST", "users", new_user("new@example.com"))
    assert (refused.status, refused.body) == (403, FORBIDDEN)


def test_a_user_management_admin_lists_users_but_not_groups():
    client = acting_as(make(seed()), USER_ADMIN)
    assert len(client.ok("GET", "users", customer="my_customer")["users"]) == 4
    client.ok("POST", "users", new_user("new@example.com"))
    refused = client.request("GET", "groups", customer="my_customer")
    assert (refused.status, refused.body) == (403, FORBIDDEN)


def test_batch_parts_are_held_to_the_same_roles():
    from .test_auth import batch

    client = make(seed())
    token = "Bearer " + access_token(client.netloc, subject=USER_ADMIN)
    parts = [
        ("GET", "users/" + key(ADMIN), None),
        ("GET", "groups/" + key("eng@example.com"), None),
    ]
    assert batch(client, parts, token) == [200, 403]


def test_a_user_without_a_role_is_still_refused():
    client = acting_as(make(seed()), "abused@example.com")
    assert client.request("GET", "users/" + key(ADMIN)).status == 403


def test_is_delegated_admin_is_computed_and_queried():
    client = make(seed())
    shown = {
        u["primaryEmail"]: (u["isAdmin"], u["isDelegatedAdmin"])
        for u in client.ok("GET", "users", customer="my_customer")["users"]
    }
    assert shown == {
        ADMIN: (True, False),
        GROUPS_ADMIN: (False, True),
        USER_ADMIN: (False, True),
        "abused@example.com": (False, False),
    }
    assert client.ok("GET", "users/" + key(GROUPS_ADMIN))["isDelegatedAdmin"] is True
    delegated = client.ok("GET", "users", customer="my_customer", query="isDelegatedAdmin=true")
    assert {u["primaryEmail"] for u in delegated["users"]} == {GROUPS_ADMIN, USER_ADMIN}
    others = client.ok("GET", "users", customer="my_customer", query="isDelegatedAdmin=false")
    assert {u["primaryEmail"] for u in others["users"]} == {ADMIN, "abused@example.com"}


def test_a_super_admin_holding_a_role_is_no_delegated_admin():
    doc = seed(roleAssignments=[{"assignedTo": ADMIN, "roleName": "_HELP_DESK_ADMIN_ROLE"}])
    client = make(doc)
    assert client.ok("GET", "users/" + key(ADMIN))["isDelegatedAdmin"] is False


def test_an_org_unit_scoped_role_covers_its_units_users_only():
    doc = seed(
        roleAssignments=[
            {
                "assignedTo": "abused@example.com",
                "roleName": "_USER_MANAGEMENT_ADMIN_ROLE",
                "scopeType": "ORG_UNIT",
                "orgUnitPath": "/sales",
            }
        ]
    )
    client = acting_as(make(doc), "abused@example.com")
    assert client.ok("GET", "users/" + key(USER_ADMIN))["orgUnitPath"] == "/Sales/Europe"
    assert client.request("GET", "users/" + key(GROUPS_ADMIN)).status == 403  # /Engineering
    assert client.request("GET", "users", customer="my_customer").status == 403


def test_roles_list_shows_system_and_own_roles():
    client = make(seed())
    roles = client.list_all("customer/my_customer/roles", "items", maxResults=2)
    by_name = {r["roleName"]: r for r in roles}
    assert set(by_name) == {
        "_SEED_ADMIN_ROLE",
        "_GROUPS_ADMIN_ROLE",
        "_USER_MANAGEMENT_ADMIN_ROLE",
        "_HELP_DESK_ADMIN_ROLE",
        "Account reader-writer",
    }
    assert all(r["kind"] == "admin#directory#role" and r["roleId"].isdigit() for r in roles)
    assert by_name["_SEED_ADMIN_ROLE"]["isSuperAdminRole"] is True
    assert by_name["_GROUPS_ADMIN_ROLE"]["isSystemRole"] is True
    own = by_name["Account reader-writer"]
    assert "isSystemRole" not in own and own["roleDescription"] == "Users only"
    assert [p["privilegeName"] for p in own["rolePrivileges"]] == ["USERS_ALL"]
    got = client.ok("GET", "customer/my_customer/roles/" + own["roleId"])
    assert got == own
    assert client.fails(404, "notFound", "GET", "customer/my_customer/roles/123") == (
        "Resource Not Found: roleId"
    )


def test_role_assignments_list_the_super_admins_and_filter_by_user_and_role():
    client = make(seed())
    ids = {
        u["primaryEmail"]: u["id"]
        for u in client.ok("GET", "users", customer="my_customer")["users"]
    }
    roles = {
        r["roleName"]: r["roleId"] for r in client.ok("GET", "customer/my_customer/roles")["items"]
    }
    every = client.list_all("customer/my_customer/roleassignments", "items", maxResults=1)
    held = {(a["assignedTo"], a["roleId"], a["scopeType"]) for a in every}
    assert held == {
        (ids[ADMIN], roles["_SEED_ADMIN_ROLE"], "CUSTOMER"),
        (ids[GROUPS_ADMIN], roles["_GROUPS_ADMIN_ROLE"], "CUSTOMER"),
        (ids[USER_ADMIN], roles["Account reader-writer"], "CUSTOMER"),
    }
    assert all(a["kind"] == "admin#directory#roleAssignment" for a in every)
    assert all(a["assigneeType"] == "user" and a["roleAssignmentId"].isdigit() for a in every)
    mine = client.ok("GET", "customer/my_customer/roleassignments", userKey=GROUPS_ADMIN)
    assert [a["assignedTo"] for a in mine["items"]] == [ids[GROUPS_ADMIN]]
    supers = client.ok(
        "GET", "customer/my_customer/roleassignments", roleId=roles["_SEED_ADMIN_ROLE"]
    )
    assert [a["assignedTo"] for a in supers["items"]] == [ids[ADMIN]]


def test_privileges_list_names_the_known_privileges_as_a_tree():
    client = make(seed())
    items = client.ok("GET", "customer/my_customer/roles/ALL/privileges")["items"]
    names = {p["privilegeName"] for p in items} | {
        c["privilegeName"] for p in items for c in p.get("childPrivileges", ())
    }
    assert names == PRIVILEGES
    users = next(p for p in items if p["privilegeName"] == "USERS_ALL")
    assert "USERS_RETRIEVE" in {c["privilegeName"] for c in users["childPrivileges"]}
    assert users["kind"] == "admin#directory#privilege" and users["isOuScopable"] is True


@pytest.mark.parametrize(
    "path",
    [
        "customer/my_customer/roles",
        "customer/my_customer/roleassignments",
        "customer/my_customer/roles/ALL/privileges",
    ],
)
def test_role_management_is_for_super_admins_only(path):
    client = acting_as(make(seed()), USER_ADMIN)
    refused = client.request("GET", path)
    assert (refused.status, refused.body) == (403, FORBIDDEN)


def test_every_mapped_method_is_a_method_of_the_discovery_document():
    assert set(METHOD_PRIVILEGES) <= set(method_scopes())
    assert set(METHOD_PRIVILEGES.values()) <= PRIVILEGES


def test_seed_problems_with_roles_are_located(tmp_path: Path):
    path = tmp_path / "tenant.yaml"
    path.write_text(
        "domains: [example.com]\n"
        "users:\n"
        "  - primaryEmail: jo@example.com\n"
        "    name: {givenName: Jo, familyName: Lei}\n"
        "roles:\n"
        "  - roleName: Reader\n"
        "    rolePrivileges: [{privilegeName: USERS_RETRIEVE}]\n"
        "  - roleName: Typo\n"
        "    rolePrivileges: [{privilegeName: USERS_RETREIVE}]\n"
        "roleAssignments:\n"
        "  - {assignedTo: ghost@example.com, roleName: Reader}\n"
        "  - {assignedTo: jo@example.com, roleName: Nobody}\n"
        "  - {assignedTo: jo@example.com, roleName: Reader, scopeType: ORG_UNIT,\n"
        "     orgUnitPath: /Nowhere}\n"
    )
    with pytest.raises(InvalidInput) as caught:
        TenantStore(seed=path)
    text = str(caught.value)
    assert "tenant.yaml:8:" in text and "did you mean 'USERS_RETRIEVE'?" in text
    assert "tenant.yaml:11:" in text and "ghost@example.com" in text
    assert "tenant.yaml:12:" in text and "no role 'Nobody'" in text
    assert "tenant.yaml:13:" in text and "orgUnitPath of an org unit" in text


def test_a_saved_state_keeps_roles_and_assignments(tmp_path: Path):
    state = tmp_path / "state.json"
    store = TenantStore(seed=seed(), state=state)
    before = store.snapshot()
    store.compact()
    store.close()
    assert [r["roleName"] for r in before["roles"]] == ["Account reader-writer"]
    assert len(before["roleAssignments"]) == 2
    again = TenantStore(state=state)
    try:
        assert again.snapshot() == before
        jo = again.tenant.users[again.tenant.addresses[GROUPS_ADMIN][1]]
        assert again.tenant.is_delegated_admin(jo)
    finally:
        again.close()


def test_a_deleted_user_loses_its_roles():
    client = make(seed())
    client.ok("DELETE", "users/" + key(GROUPS_ADMIN))
    every = client.ok("GET", "customer/my_customer/roleassignments")["items"]
    assert len(every) == 2  # the super admin's, and the users-only role's

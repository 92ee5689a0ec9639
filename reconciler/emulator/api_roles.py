"""roles.list/get, roleAssignments.list and privileges.list: admin roles, read-only.

Roles are the system roles (admin_roles.py) then the tenant's own (a seed's `roles`), by
roleId; assignments the seed's `roleAssignments` plus, for each super admin (isAdmin), one of
`_SEED_ADMIN_ROLE` with scopeType CUSTOMER, as Google lists them. Only a super admin may call
these (admin_roles.py). Chosen where Google's answers are unverified: an unknown role is
`404 notFound` "Resource Not Found: roleId", an unknown userKey `404 notFound` "Resource Not
Found: userKey"; `includeIndirectRoleAssignments` changes nothing (no group holds a role).
"""

from __future__ import annotations

from typing import Any

from reconciler.emulator.admin_roles import (
    PRIVILEGE_TREE,
    SERVICE_ID,
    SERVICE_NAME,
    SUPER_ADMIN_ROLE,
    every_role,
    numeric_id,
    system_role_id,
)
from reconciler.emulator.errors import ApiError
from reconciler.emulator.ids import next_etag
from reconciler.emulator.paging import listing_digest
from reconciler.emulator.request import Call
from reconciler.emulator.rules import check_customer
from reconciler.emulator.tenant import USER, Record, Tenant

Answer = tuple[int, dict[str, Any] | None]


def render_role(rec: Record) -> dict[str, Any]:
    """A Role resource as Google returns it."""
    out: dict[str, Any] = {
        "kind": "admin#directory#role",
        "etag": rec.get("etag") or next_etag("role/" + rec["roleId"]),
        "roleId": rec["roleId"],
        "roleName": rec["roleName"],
    }
    if rec.get("roleDescription"):
        out["roleDescription"] = rec["roleDescription"]
    out["rolePrivileges"] = [dict(p) for p in rec["rolePrivileges"]]
    if rec.get("isSystemRole"):
        out["isSystemRole"] = True
    if rec.get("isSuperAdminRole"):
        out["isSuperAdminRole"] = True
    return out


def render_assignment(rec: Record) -> dict[str, Any]:
    """A RoleAssignment resource as Google returns it (orgUnitId without its `id:`)."""
    out: dict[str, Any] = {
        "kind": "admin#directory#roleAssignment",
        "etag": rec.get("etag") or next_etag("roleAssignment/" + rec["roleAssignmentId"]),
        "roleAssignmentId": rec["roleAssignmentId"],
        "roleId": rec["roleId"],
        "assignedTo": rec["assignedTo"],
        "assigneeType": "user",
        "scopeType": rec["scopeType"],
    }
    if rec.get("orgUnitId"):
        out["orgUnitId"] = rec["orgUnitId"].removeprefix("id:")
    return out


def _privilege(name: str, children: tuple[str, ...], ou_scopable: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "admin#directory#privilege",
        "etag": next_etag("privilege/" + name),
        "serviceId": SERVICE_ID,
        "serviceName": SERVICE_NAME,
        "privilegeName": name,
        "isOuScopable": ou_scopable,
    }
    if children:
        out["childPrivileges"] = [_privilege(c, (), ou_scopable) for c in children]
    return out


def list_privileges(call: Call) -> Answer:
    check_customer(call.tenant, call.params["customer"])
    items = [_privilege(n, kids, ou) for n, (kids, ou) in PRIVILEGE_TREE.items()]
    return 200, {
        "kind": "admin#directory#privileges",
        "etag": next_etag("privileges"),
        "items": items,
    }


def list_roles(call: Call) -> Answer:
    tenant = call.tenant
    check_customer(tenant, call.params["customer"])
    limit = call.integer("maxResults", 100, 1, 100)
    roles = every_role(tenant)
    page, token = call.page("roles", listing_digest("roles"), sorted(roles), limit)
    out: dict[str, Any] = {
        "kind": "admin#directory#roles",
        "etag": next_etag(f"roles/{tenant.generation}"),
    }
    if page:
        out["items"] = [render_role(roles[k]) for k in page]
    if token:
        out["nextPageToken"] = token
    return 200, out


def get_role(call: Call) -> Answer:
    check_customer(call.tenant, call.params["customer"])
    rec = every_role(call.tenant).get(call.params["roleId"])
    if rec is None:
        raise ApiError(404, "notFound", "Resource Not Found: roleId")
    return 200, render_role(rec)


def every_assignment(tenant: Tenant) -> dict[str, Record]:
    """roleAssignmentId -> assignment: the tenant's, and one per super admin."""
    out = dict(tenant.role_assignments)
    role_id = system_role_id(tenant, SUPER_ADMIN_ROLE)
    for uid, user in tenant.users.items():
        if user.get("isAdmin"):
            assignment_id = numeric_id(tenant.customer_id, "assignment", uid, role_id)
            out[assignment_id] = {
                "roleAssignmentId": assignment_id,
                "roleId": role_id,
                "assignedTo": uid,
                "scopeType": "CUSTOMER",
            }
    return out


def list_assignments(call: Call) -> Answer:
    tenant = call.tenant
    check_customer(tenant, call.params["customer"])
    limit = call.integer("maxResults", 200, 1, 200)
    call.flag("includeIndirectRoleAssignments")
    user_id = None
    user_key = call.arg("userKey")
    if user_key:
        hit = tenant.resolve(user_key)
        if hit is None or hit[0] != USER:
            raise ApiError(404, "notFound", "Resource Not Found: userKey")
        user_id = hit[1]
    role_id = call.arg("roleId") or None
    assignments = every_assignment(tenant)

    def match(key: str) -> bool:
        rec = assignments[key]
        return (user_id is None or rec["assignedTo"] == user_id) and (
            role_id is None or rec["roleId"] == role_id
        )

    digest = listing_digest("roleAssignments", user_id, role_id)
    page, token = call.page("roleAssignments", digest, sorted(assignments), limit, match)
    out: dict[str, Any] = {
        "kind": "admin#directory#roleAssignments",
        "etag": next_etag(f"roleAssignments/{tenant.generation}"),
    }
    if page:
        out["items"] = [render_assignment(assignments[k]) for k in page]
    if token:
        out["nextPageToken"] = token
    return 200, out


ROUTES = [
    (
        "GET",
        "customer/{customer}/roles/ALL/privileges",
        "directory.privileges.list",
        list_privileges,
    ),
    ("GET", "customer/{customer}/roles", "directory.roles.list", list_roles),
    ("GET", "customer/{customer}/roles/{roleId}", "directory.roles.get", get_role),
    (
        "GET",
        "customer/{customer}/roleassignments",
        "directory.roleAssignments.list",
        list_assignments,
    ),
]

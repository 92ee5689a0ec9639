"""Admin roles: the privileges a role grants, Google's system roles, and who may call what.

Privileges are named as the Directory API's privileges resource lists them (Admin console
privilege names): USERS_ALL with USERS_RETRIEVE, USERS_CREATE, USERS_UPDATE, USERS_DELETE;
GROUPS_ALL with GROUPS_RETRIEVE, GROUPS_CREATE, GROUPS_UPDATE, GROUPS_DELETE;
ORGANIZATION_UNITS_ALL with ORGANIZATION_UNITS_RETRIEVE. A parent grants its children. Only
names the emulator is reasonably sure of are known; a seed naming another is refused. The
`serviceId` is the emulator's stand-in for Google's obfuscated id of the Admin service.

System roles (isSystemRole true), by roleName: `_SEED_ADMIN_ROLE` (super admin,
isSuperAdminRole: every privilege), `_GROUPS_ADMIN_ROLE` (GROUPS_ALL, USERS_RETRIEVE,
ORGANIZATION_UNITS_RETRIEVE), `_USER_MANAGEMENT_ADMIN_ROLE` (USERS_ALL,
ORGANIZATION_UNITS_RETRIEVE), `_HELP_DESK_ADMIN_ROLE` (USERS_RETRIEVE, USERS_UPDATE: a
password reset is a user update).

Which privilege allows which method (METHOD_PRIVILEGES) is the emulator's reading of Google's
admin help ("Administrator privilege definitions", support.google.com/a/answer/1219251) and
of GAM's admin-role docs; where unsure, it refuses (stricter than Google rather than more
lenient):
- reads need the resource's RETRIEVE (or ALL), inserts CREATE, changes UPDATE, deletes
  DELETE; a group's members and aliases are the group's (GROUPS_*); a user's aliases the
  user's; org unit writes need ORGANIZATION_UNITS_ALL;
- domains, domain aliases and schemas may be read with USERS_RETRIEVE (reading users needs
  their addresses and custom attributes; unverified);
- super admin only: users.makeAdmin, users.undelete, users.signOut, a user's tokens, ASPs
  and backup codes, schema writes, role management (roles, roleAssignments, privileges),
  and every call of the Data Transfer, Licensing and Groups Settings APIs; so is any method
  not listed.

A role assignment: `{roleAssignmentId, roleId, assignedTo (user id), assigneeType: user,
scopeType: CUSTOMER | ORG_UNIT, orgUnitId}`. An ORG_UNIT-scoped one is kept simple and strict:
it grants only calls on one user (users.get/update/patch/delete, a user's aliases) whose
orgUnitPath lies within the unit; never a listing, nor anything on groups or org units.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.emulator.tenant import USER, Record, Tenant

SUPER_ADMIN_ROLE = "_SEED_ADMIN_ROLE"
SERVICE_ID = "00haapch16h1ysv"  # the emulator's stand-in for the Admin service's id
SERVICE_NAME = "admin"

# Privilege -> its children, in privileges.list's order; True: it may be scoped to an org unit.
PRIVILEGE_TREE: dict[str, tuple[tuple[str, ...], bool]] = {
    "USERS_ALL": (("USERS_RETRIEVE", "USERS_CREATE", "USERS_UPDATE", "USERS_DELETE"), True),
    "GROUPS_ALL": (("GROUPS_RETRIEVE", "GROUPS_CREATE", "GROUPS_UPDATE", "GROUPS_DELETE"), False),
    "ORGANIZATION_UNITS_ALL": (("ORGANIZATION_UNITS_RETRIEVE",), True),
}
PRIVILEGES: frozenset[str] = frozenset(PRIVILEGE_TREE) | frozenset(
    child for children, _ in PRIVILEGE_TREE.values() for child in children
)

# roleName -> (description, privileges); the super admin's holds every privilege.
SYSTEM_ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    SUPER_ADMIN_ROLE: ("Google Workspace Administrator Seed Role", tuple(PRIVILEGE_TREE)),
    "_GROUPS_ADMIN_ROLE": (
        "Groups Administrator",
        ("GROUPS_ALL", "USERS_RETRIEVE", "ORGANIZATION_UNITS_RETRIEVE"),
    ),
    "_USER_MANAGEMENT_ADMIN_ROLE": (
        "User Management Administrator",
        ("USERS_ALL", "ORGANIZATION_UNITS_RETRIEVE"),
    ),
    "_HELP_DESK_ADMIN_ROLE": ("Help Desk Administrator", ("USERS_RETRIEVE", "USERS_UPDATE")),
}


def _methods(privilege: str, *names: str) -> dict[str, str]:
    return {name: privilege for name in names}


# Method id -> the privilege that allows it (or its parent). Not listed: super admin only.
METHOD_PRIVILEGES: dict[str, str] = {
    **_methods(
        "USERS_RETRIEVE",
        "directory.users.get",
        "directory.users.list",
        "directory.users.aliases.list",
        "directory.domains.list",
        "directory.domains.get",
        "directory.domainAliases.list",
        "directory.domainAliases.get",
        "directory.schemas.list",
        "directory.schemas.get",
    ),
    **_methods("USERS_CREATE", "directory.users.insert"),
    **_methods(
        "USERS_UPDATE",
        "directory.users.update",
        "directory.users.patch",
        "directory.users.aliases.insert",
        "directory.users.aliases.delete",
    ),
    **_methods("USERS_DELETE", "directory.users.delete"),
    **_methods(
        "GROUPS_RETRIEVE",
        "directory.groups.get",
        "directory.groups.list",
        "directory.groups.aliases.list",
        "directory.members.get",
        "directory.members.list",
        "directory.members.hasMember",
    ),
    **_methods("GROUPS_CREATE", "directory.groups.insert"),
    **_methods(
        "GROUPS_UPDATE",
        "directory.groups.update",
        "directory.groups.patch",
        "directory.groups.aliases.insert",
        "directory.groups.aliases.delete",
        "directory.members.insert",
        "directory.members.update",
        "directory.members.patch",
        "directory.members.delete",
    ),
    **_methods("GROUPS_DELETE", "directory.groups.delete"),
    **_methods("ORGANIZATION_UNITS_RETRIEVE", "directory.orgunits.get", "directory.orgunits.list"),
    **_methods(
        "ORGANIZATION_UNITS_ALL",
        "directory.orgunits.insert",
        "directory.orgunits.update",
        "directory.orgunits.patch",
        "directory.orgunits.delete",
    ),
}
# What an ORG_UNIT-scoped assignment may allow: calls on one user, named by userKey.
ONE_USER_METHODS = frozenset(
    {
        "directory.users.get",
        "directory.users.update",
        "directory.users.patch",
        "directory.users.delete",
        "directory.users.aliases.list",
        "directory.users.aliases.insert",
        "directory.users.aliases.delete",
    }
)


def numeric_id(*parts: str) -> str:
    """A stable 17-digit id (roles and assignments have numeric ids) for `parts`."""
    digest = hashlib.blake2b("/".join(parts).encode(), digest_size=8).digest()
    return str(10**16 + int.from_bytes(digest, "big") % (9 * 10**16))


def granted(privileges: Iterable[str]) -> frozenset[str]:
    """The privileges held, a parent's children included."""
    held = set(privileges)
    for name in list(held):
        held.update(PRIVILEGE_TREE.get(name, ((), False))[0])
    return frozenset(held)


def system_role_id(tenant: Tenant, role_name: str) -> str:
    return numeric_id(tenant.customer_id, role_name)


def system_roles(tenant: Tenant) -> list[Record]:
    """The system roles as stored records (ids stable per customer)."""
    return [
        {
            "roleId": system_role_id(tenant, name),
            "roleName": name,
            "roleDescription": description,
            "rolePrivileges": [{"privilegeName": p, "serviceId": SERVICE_ID} for p in privileges],
            "isSystemRole": True,
            "isSuperAdminRole": name == SUPER_ADMIN_ROLE,
        }
        for name, (description, privileges) in SYSTEM_ROLES.items()
    ]


def every_role(tenant: Tenant) -> dict[str, Record]:
    """roleId -> role: the system roles, then the tenant's own."""
    roles = {r["roleId"]: r for r in system_roles(tenant)}
    roles.update(tenant.roles)
    return roles


def role_privileges(role: Mapping[str, Any]) -> frozenset[str]:
    return granted(p["privilegeName"] for p in role.get("rolePrivileges", ()))


def allows(tenant: Tenant, user: Record, method_id: str, params: Mapping[str, str]) -> bool:
    """Whether `user` may call `method_id` (with route keys `params`): a super admin may
    call anything; a delegated admin what its assignments' privileges cover."""
    if user.get("isAdmin"):
        return True
    needed = METHOD_PRIVILEGES.get(method_id)
    if needed is None:
        return False
    roles = every_role(tenant)
    for assignment_id in tenant.assignments_of.get(user["id"], ()):
        assignment = tenant.role_assignments[assignment_id]
        role = roles.get(assignment["roleId"])
        if role is None or needed not in role_privileges(role):
            continue
        if assignment["scopeType"] == "CUSTOMER":
            return True
        if method_id in ONE_USER_METHODS and _within(tenant, assignment, params.get("userKey")):
            return True
    return False


def _within(tenant: Tenant, assignment: Record, user_key: str | None) -> bool:
    """Whether the user `user_key` names is in the assignment's org unit (or below)."""
    hit = tenant.resolve(user_key) if user_key else None
    if hit is None or hit[0] != USER:
        return False
    unit_id = assignment.get("orgUnitId")
    if unit_id == tenant.root_orgunit_id:
        return True
    unit = tenant.orgunit_ids.get(str(unit_id))
    if unit is None:
        return False
    path = tenant.users[hit[1]]["orgUnitPath"].lower()
    return path == unit or path.startswith(unit + "/")

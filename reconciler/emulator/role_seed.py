"""A seed's (or saved state's) `roles` and `roleAssignments`, checked and kept (admin_roles.py).

- `roles`: the tenant's own roles, `{roleName, roleDescription?, rolePrivileges:
  [{privilegeName, serviceId?}]}` (a saved state adds roleId and etag). A privilege the
  emulator does not know, a roleName used twice or a system role's name is refused.
- `roleAssignments`: `{assignedTo: <user address or id>, roleName or roleId, scopeType:
  CUSTOMER (default) | ORG_UNIT, orgUnitPath or orgUnitId (ORG_UNIT only)}` (a saved state
  adds roleAssignmentId). An unknown user, role or org unit is refused; so is the super admin
  role (a super admin is a user with `isAdmin: true`).

Each problem is returned with the list and index of the entry it is about, for the seed
loader to locate.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from reconciler.emulator.admin_roles import (
    PRIVILEGES,
    SERVICE_ID,
    SUPER_ADMIN_ROLE,
    SYSTEM_ROLES,
    every_role,
    numeric_id,
)
from reconciler.emulator.ids import next_etag
from reconciler.emulator.tenant import ROOT_PATH, USER, Record, Tenant

ROLE_KEYS = frozenset(
    {"roleName", "roleDescription", "rolePrivileges", "roleId", "etag", "kind"}
    | {"isSystemRole", "isSuperAdminRole"}
)
ASSIGNMENT_KEYS = frozenset(
    {"assignedTo", "roleName", "roleId", "scopeType", "orgUnitPath", "orgUnitId"}
    | {"roleAssignmentId", "assigneeType", "etag", "kind"}
)
SCOPES = ("CUSTOMER", "ORG_UNIT")

Problem = tuple[Any, int, str]  # (the list, the entry's index, message)


def load_roles(tenant: Tenant, entries: list[Any]) -> list[Problem]:
    """Keep the valid roles of `entries` in the tenant; the problems of the others."""
    problems: list[Problem] = []
    names = {name.lower() for name in SYSTEM_ROLES}
    for i, entry in enumerate(entries):
        where = f"roles[{i}]"
        name = entry.get("roleName")
        if not isinstance(name, str) or not name.strip():
            problems.append((entries, i, f"{where}: a role needs a roleName"))
            continue
        where += f" ({name})"
        if name.lower() in names:
            what = "a system role's name" if name in SYSTEM_ROLES else "used twice"
            problems.append((entries, i, f"{where}: roleName is {what}"))
            continue
        privileges = _privileges(entry.get("rolePrivileges"), where, entries, i, problems)
        if privileges is None:
            continue
        names.add(name.lower())
        role_id = str(entry.get("roleId") or numeric_id(tenant.customer_id, "role", name))
        rec: Record = {"roleId": role_id, "roleName": name}
        if entry.get("roleDescription"):
            rec["roleDescription"] = str(entry["roleDescription"])
        rec["rolePrivileges"] = privileges
        rec["isSystemRole"] = False
        rec["isSuperAdminRole"] = False
        rec["etag"] = entry.get("etag") or next_etag(role_id)
        tenant._put_role(rec)
    return problems


def _privileges(
    value: Any, where: str, entries: list[Any], i: int, problems: list[Problem]
) -> list[Record] | None:
    if not isinstance(value, list) or not value:
        problems.append((entries, i, f"{where}: rolePrivileges: expected a list of privileges"))
        return None
    out: list[Record] = []
    ok = True
    for j, item in enumerate(value):
        name = item.get("privilegeName") if isinstance(item, Mapping) else None
        if name not in PRIVILEGES:
            hint = difflib.get_close_matches(str(name), sorted(PRIVILEGES), n=1)
            also = f" (did you mean '{hint[0]}'?)" if hint else ""
            known = ", ".join(sorted(PRIVILEGES))
            message = f"{where}: rolePrivileges[{j}]: unknown privilege {name!r}{also}"
            problems.append((entries, i, f"{message}; the emulator knows {known}"))
            ok = False
            continue
        service = item.get("serviceId", SERVICE_ID)
        if service != SERVICE_ID:
            message = f"{where}: rolePrivileges[{j}]: serviceId of {name} is {SERVICE_ID}"
            problems.append((entries, i, message))
            ok = False
            continue
        out.append({"privilegeName": name, "serviceId": SERVICE_ID})
    return out if ok else None


def load_assignments(tenant: Tenant, entries: list[Any]) -> list[Problem]:
    """Keep the valid role assignments of `entries`; the problems of the others."""
    problems: list[Problem] = []
    roles = every_role(tenant)
    by_name = {r["roleName"].lower(): r for r in roles.values()}
    for i, entry in enumerate(entries):
        where = f"roleAssignments[{i}]"
        who = entry.get("assignedTo")
        hit = tenant.resolve(str(who)) if isinstance(who, str) and who else None
        if hit is None or hit[0] != USER:
            problems.append((entries, i, f"{where}: assignedTo {who!r} is no user of the tenant"))
            continue
        role = _role(entry, roles, by_name)
        if role is None:
            named = entry.get("roleName", entry.get("roleId"))
            problems.append((entries, i, f"{where}: no role {named!r} (roleName or roleId)"))
            continue
        if role["roleName"] == SUPER_ADMIN_ROLE:
            problems.append((entries, i, f"{where}: a super admin is a user with isAdmin: true"))
            continue
        scope = entry.get("scopeType", "CUSTOMER")
        if scope not in SCOPES:
            problems.append((entries, i, f"{where}: scopeType must be CUSTOMER or ORG_UNIT"))
            continue
        rec: Record = {"roleId": role["roleId"], "assignedTo": hit[1], "scopeType": scope}
        if scope == "ORG_UNIT":
            unit_id = _unit_id(tenant, entry)
            if unit_id is None:
                message = f"{where}: ORG_UNIT scope needs the orgUnitPath of an org unit"
                problems.append((entries, i, message))
                continue
            rec["orgUnitId"] = unit_id
        parts = (hit[1], role["roleId"], scope, rec.get("orgUnitId", ""))
        rec["roleAssignmentId"] = str(
            entry.get("roleAssignmentId") or numeric_id(tenant.customer_id, "assignment", *parts)
        )
        if rec["roleAssignmentId"] in tenant.role_assignments:
            problems.append((entries, i, f"{where}: assigned twice"))
            continue
        rec["assigneeType"] = "user"
        rec["etag"] = entry.get("etag") or next_etag(rec["roleAssignmentId"])
        tenant._put_role_assignment(rec)
    return problems


def _role(entry: Mapping[str, Any], roles: dict[str, Record], by_name: dict[str, Record]):
    if entry.get("roleId") is not None:
        return roles.get(str(entry["roleId"]))
    name = entry.get("roleName")
    return by_name.get(name.lower()) if isinstance(name, str) else None


def _unit_id(tenant: Tenant, entry: Mapping[str, Any]) -> str | None:
    given = entry.get("orgUnitId")
    if isinstance(given, str) and given:
        unit_id = given if given.startswith("id:") else "id:" + given
        if unit_id == tenant.root_orgunit_id or unit_id in tenant.orgunit_ids:
            return unit_id
        return None
    path = entry.get("orgUnitPath")
    if not isinstance(path, str) or not path:
        return None
    if "/" + path.strip("/") == ROOT_PATH:
        return tenant.root_orgunit_id
    unit = tenant.orgunit(path)
    return unit["orgUnitId"] if unit is not None else None

"""The `query` parameter of users.list and groups.list: parse clauses, match records.

Supported (users): `email`, `givenName`, `familyName`, `name`, a bare term, `isAdmin`,
`isSuspended`, `isArchived`, `isDelegatedAdmin`, `isEnrolledIn2Sv`, `isEnforcedIn2Sv`,
`orgUnitPath` (the unit and everything below it), `externalId`, `orgName`, `orgTitle`,
`orgDepartment`, `orgDescription`, `orgCostCenter`, `phone`, `manager`/`directManager`
(emails), `managerId`/`directManagerId`, and custom fields as `Schema.field`. Groups:
`email`, `name`, `memberKey`. Operators `=` (equal) and `:` (contains a word; `:abc*`
starts with). Clauses separated by spaces are ANDed; values may be quoted.
Matching ignores case. Anything else is a 400, so a typo is never an empty result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.errors import ApiError
from reconciler.emulator.tenant import ROOT_PATH, Record, Tenant

_CLAUSE = re.compile(
    r"""\s*(?:(?P<field>[A-Za-z][\w.]*)\s*(?P<op>[:=])\s*)?(?P<value>'[^']*'|"[^"]*"|[^\s'"]+)"""
)
_BOOL_FIELDS: dict[str, Callable[[Record], bool] | None] = {
    "isAdmin": lambda u: bool(u.get("isAdmin")),
    "isSuspended": lambda u: bool(u.get("suspended")),
    "isArchived": lambda u: bool(u.get("archived")),
    "isDelegatedAdmin": None,  # computed: holds an admin role, is no super admin
    "isEnrolledIn2Sv": lambda u: False,
    "isEnforcedIn2Sv": lambda u: False,
}
_ORG_FIELDS = {
    "orgName": "name",
    "orgTitle": "title",
    "orgDepartment": "department",
    "orgDescription": "description",
    "orgCostCenter": "costCenter",
}


@dataclass(frozen=True)
class Clause:
    """One `field op value` clause; field "" is a bare term. Value lower-cased."""

    field: str
    op: str
    value: str
    prefix: bool


def parse_query(text: str) -> list[Clause]:
    """Split a query into clauses; 400 `Invalid query` if it cannot be read."""
    clauses: list[Clause] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _CLAUSE.match(text, pos)
        if not m or m.end() == pos:
            raise invalid_query(text)
        raw = m.group("value")
        if raw[:1] in "'\"":
            raw = raw[1:-1]
        prefix = raw.endswith("*")
        value = raw[:-1] if prefix else raw
        clauses.append(Clause(m.group("field") or "", m.group("op") or ":", value.lower(), prefix))
        pos = m.end()
    return clauses


def invalid_query(detail: str) -> ApiError:
    return ApiError(400, "invalid", f"Invalid query: {detail}", location="query")


def exact_email(clauses: list[Clause]) -> str | None:
    """The address when the query is exactly one `email:` clause without a wildcard, so
    the listing can use the address index instead of a scan."""
    if len(clauses) == 1 and clauses[0].field == "email" and not clauses[0].prefix:
        return clauses[0].value
    return None


def user_matcher(tenant: Tenant, clauses: list[Clause]) -> Callable[[Record], bool]:
    """A predicate over user records; unknown fields are rejected here, before any scan."""
    tests = [_user_test(tenant, c) for c in clauses]
    return lambda user: all(test(user) for test in tests)


def group_matcher(tenant: Tenant, clauses: list[Clause]) -> Callable[[Record], bool]:
    """A predicate over group records (email, name, memberKey)."""
    tests = [_group_test(tenant, c) for c in clauses]
    return lambda group: all(test(group) for test in tests)


def text_matches(candidates: Iterable[Any], clause: Clause) -> bool:
    """`=`: equal; `:`: equal to the value or containing it as whole words; `*`: starts with
    (the whole text or any word of it)."""
    value = clause.value
    for candidate in candidates:
        if candidate is None:
            continue
        text = str(candidate).lower()
        if clause.prefix:
            if text.startswith(value) or any(w.startswith(value) for w in text.split()):
                return True
        elif text == value or (clause.op == ":" and f" {value} " in f" {text} "):
            return True
    return False


def _user_test(tenant: Tenant, clause: Clause) -> Callable[[Record], bool]:
    field = clause.field
    if field == "email":
        return lambda u: text_matches([u["primaryEmail"], *u.get("aliases", ())], clause)
    if field in ("givenName", "familyName"):
        return lambda u: text_matches([u.get("name", {}).get(field)], clause)
    if field == "name":
        return lambda u: text_matches([_full_name(u)], clause)
    if field == "":
        return lambda u: text_matches(
            [*u.get("name", {}).values(), u["primaryEmail"], *u.get("aliases", ())],
            Clause("", ":", clause.value, True),
        )
    if field in _BOOL_FIELDS:
        if clause.value not in ("true", "false"):
            raise invalid_query(f"{field} takes true or false")
        wanted = clause.value == "true"
        getter = _BOOL_FIELDS[field] or tenant.is_delegated_admin
        return lambda u: getter(u) == wanted
    if field == "orgUnitPath":
        path = "/" + clause.value.strip("/")
        if path != ROOT_PATH and tenant.orgunit(path) is None:
            raise ApiError(400, "invalid", "Invalid Input: INVALID_OU_ID")  # as Google
        below = path.rstrip("/") + "/"
        return lambda u: path == ROOT_PATH or _under(u["orgUnitPath"].lower(), path, below)
    if field == "externalId":
        return lambda u: text_matches(_values(u.get("externalIds"), "value"), clause)
    if field in _ORG_FIELDS:
        key = _ORG_FIELDS[field]
        return lambda u: text_matches(_values(u.get("organizations"), key), clause)
    if field == "phone":
        return lambda u: text_matches(_values(u.get("phones"), "value"), clause)
    if field in ("manager", "directManager"):
        return lambda u: text_matches(_managers(u), clause)
    if field in ("managerId", "directManagerId"):

        def by_manager_id(u: Record) -> bool:
            ids = [tenant.resolve(m) for m in _managers(u)]
            return text_matches([hit[1] for hit in ids if hit], clause)

        return by_manager_id
    if "." in field:
        return _custom_test(tenant, clause)
    raise invalid_query(f"unknown field '{field}'")


def _custom_test(tenant: Tenant, clause: Clause) -> Callable[[Record], bool]:
    schema_name, _, field_name = clause.field.partition(".")
    schema = tenant.schema(schema_name)
    if schema is None:
        raise invalid_query(f"unknown custom schema '{schema_name}'")
    names = {f["fieldName"].lower(): f["fieldName"] for f in schema.get("fields", ())}
    if field_name.lower() not in names:
        raise invalid_query(f"unknown custom field '{clause.field}'")
    schema_key, field_key = schema["schemaName"], names[field_name.lower()]

    def test(user: Record) -> bool:
        value = user.get("customSchemas", {}).get(schema_key, {}).get(field_key)
        if isinstance(value, list):
            return text_matches(_values(value, "value"), clause)
        return text_matches([value], clause)

    return test


def _group_test(tenant: Tenant, clause: Clause) -> Callable[[Record], bool]:
    if clause.field == "email":
        return lambda g: text_matches([g["email"], *g.get("aliases", ())], clause)
    if clause.field == "name":
        return lambda g: text_matches([g.get("name")], clause)
    if clause.field == "memberKey":
        hit = tenant.resolve(clause.value)
        wanted = hit[1] if hit else None
        return lambda g: wanted is not None and wanted in tenant.members.get(g["id"], {})
    raise invalid_query(f"unknown field '{clause.field}'")


def _under(path: str, target: str, below: str) -> bool:
    return path == target or path.startswith(below)


def _full_name(user: Record) -> str:
    name = user.get("name", {})
    return f"{name.get('givenName', '')} {name.get('familyName', '')}".strip()


def _values(items: Any, key: str) -> list[Any]:
    if not isinstance(items, list):
        return []
    return [item.get(key) for item in items if isinstance(item, dict)]


def _managers(user: Record) -> list[Any]:
    relations = user.get("relations")
    if not isinstance(relations, list):
        return []
    return [r.get("value") for r in relations if isinstance(r, dict) and r.get("type") == "manager"]

"""Google's resource shapes to the State and back.

Git manages one entry of each list attribute: the primary organization (title, department,
cost center), the `manager` relation, the `work` phone and the `organization` external id.
Writing keeps every other entry of those lists as Google has it.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from reconciler.google.marker import (
    ONBOARDING_PENDING,
    PASSWORD_CHANGE_AT,
    SIGNED_OUT_AT,
    SUSPENDED_AT,
    marker_of,
    recorded,
    split_group_description,
)
from reconciler.state import Group, Member, OrgUnit, User

USER_FIELDS = (
    "id,primaryEmail,name(givenName,familyName),suspended,suspensionReason,orgUnitPath,"
    "aliases,isAdmin,isDelegatedAdmin,organizations,relations,phones,externalIds,"
    "recoveryEmail,recoveryPhone,customSchemas,lastLoginTime"
)
GROUP_FIELDS = "id,email,name,description,aliases,directMembersCount"
MEMBER_FIELDS = "id,email,role,type,status"
ORG_UNIT_FIELDS = "orgUnitId,orgUnitPath,description"

LIST_ATTRIBUTES = ("organizations", "relations", "phones", "externalIds")
# State attribute -> (list attribute, how to find Git's entry, the entry's key for the value)
ORGANIZATION_KEYS = {"title": "title", "department": "department", "cost_center": "costCenter"}


def _lower(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def _primary_organization(orgs: list[dict[str, Any]]) -> dict[str, Any] | None:
    for org in orgs:
        if org.get("primary"):
            return org
    return orgs[0] if orgs else None


def _typed(entries: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    for entry in entries:
        if entry.get("type") == kind:
            return entry
    return None


def _text(r: dict[str, Any], key: str, what: str, required: bool = False) -> None:
    """A field that must be text (or absent, unless required): ValueError naming it."""
    value = r.get(key)
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value):
        shown = "missing" if value is None else f"{type(value).__name__} {value!r}"[:60]
        raise ValueError(f"{what}: {key} is {shown}, not text")


def _of_type(r: dict[str, Any], key: str, kind: type, what: str) -> None:
    value = r.get(key)
    if value is not None and not isinstance(value, kind):
        names = {list: "a list", dict: "an object"}
        raise ValueError(f"{what}: {key} is {type(value).__name__}, not {names[kind]}")


def _check_user(r: dict[str, Any]) -> None:
    what = f"user {r.get('primaryEmail') or r.get('id') or '(no id)'}"[:80]
    _text(r, "primaryEmail", what, required=True)
    for key in ("id", "orgUnitPath", "recoveryEmail", "recoveryPhone", "suspensionReason"):
        _text(r, key, what)
    _of_type(r, "name", dict, what)
    _of_type(r, "customSchemas", dict, what)
    for key in ("aliases", *LIST_ATTRIBUTES):
        _of_type(r, key, list, what)
    for key in LIST_ATTRIBUTES:
        if not all(isinstance(e, dict) for e in r.get(key) or []):
            raise ValueError(f"{what}: an entry of {key} is not an object")
    if not all(isinstance(a, str) for a in r.get("aliases") or []):
        raise ValueError(f"{what}: an alias is not text")


def user_from_api(r: dict[str, Any]) -> User:
    """A Google User resource as a State user (ValueError when it has not that shape)."""
    _check_user(r)
    name = r.get("name") or {}
    orgs = r.get("organizations") or []
    org = _primary_organization(orgs) or {}
    manager = _typed(r.get("relations") or [], "manager") or {}
    phone = _typed(r.get("phones") or [], "work") or {}
    external = _typed(r.get("externalIds") or [], "organization") or {}
    aliases = tuple(sorted({a.lower() for a in r.get("aliases") or []}))
    raw = {k: r[k] for k in LIST_ATTRIBUTES if r.get(k)}
    return User(
        email=sys.intern(r["primaryEmail"].lower()),
        given_name=name.get("givenName"),
        family_name=name.get("familyName"),
        org_unit=r.get("orgUnitPath") or "/",
        title=org.get("title"),
        department=org.get("department"),
        cost_center=org.get("costCenter"),
        manager=_lower(manager.get("value")),
        phone=phone.get("value"),
        employee_id=external.get("value"),
        recovery_email=_lower(r.get("recoveryEmail")),
        recovery_phone=r.get("recoveryPhone") or None,
        aliases=aliases,
        suspended=bool(r.get("suspended")),
        id=r.get("id"),
        owner=marker_of(r),
        suspended_at=recorded(r, SUSPENDED_AT),
        signed_out_at=recorded(r, SIGNED_OUT_AT),
        password_change_at=recorded(r, PASSWORD_CHANGE_AT),
        onboarding_pending=recorded(r, ONBOARDING_PENDING),
        signed_in=_signed_in(r.get("lastLoginTime")),
        is_admin=bool(r.get("isAdmin")),
        is_delegated_admin=bool(r.get("isDelegatedAdmin")),
        suspension_reason=r.get("suspensionReason"),
        raw=json.dumps(raw, separators=(",", ":")) if raw else None,
    )


def user_body(changes: dict[str, Any], current: User | None = None) -> dict[str, Any]:
    """The part of a User resource that sets `changes` (State attribute -> new value, where
    "" or None clears), merged into the lists `current` has so other entries survive."""
    raw = json.loads(current.raw) if current is not None and current.raw else {}
    body: dict[str, Any] = {}
    name = {}
    if "given_name" in changes:
        name["givenName"] = changes["given_name"]
    if "family_name" in changes:
        name["familyName"] = changes["family_name"]
    if name:
        body["name"] = name
    if "org_unit" in changes:
        body["orgUnitPath"] = changes["org_unit"] or "/"
    if "recovery_email" in changes:
        body["recoveryEmail"] = changes["recovery_email"] or ""
    if "recovery_phone" in changes:
        body["recoveryPhone"] = changes["recovery_phone"] or ""
    if any(k in changes for k in ORGANIZATION_KEYS):
        orgs = raw.get("organizations") or []
        org = _primary_organization(orgs)
        if org is None:
            org = {"primary": True, "type": "work"}
            orgs.append(org)
        for attr, key in ORGANIZATION_KEYS.items():
            if attr in changes:
                _set_or_drop(org, key, changes[attr])
        body["organizations"] = orgs
    if "manager" in changes:
        body["relations"] = _replace_typed(raw.get("relations"), "manager", changes["manager"])
    if "phone" in changes:
        body["phones"] = _replace_typed(raw.get("phones"), "work", changes["phone"])
    if "employee_id" in changes:
        body["externalIds"] = _replace_typed(
            raw.get("externalIds"), "organization", changes["employee_id"]
        )
    return body


def _set_or_drop(entry: dict[str, Any], key: str, value: Any) -> None:
    if value:
        entry[key] = value
    else:
        entry.pop(key, None)


def _replace_typed(entries: list[dict[str, Any]] | None, kind: str, value: Any) -> list:
    """The list with its `kind` entry set to `value` (removed when empty); others kept."""
    kept = [e for e in entries or [] if e.get("type") != kind]
    if value:
        existing = _typed(entries or [], kind) or {}
        kept.insert(0, {**existing, "type": kind, "value": value})
    return kept


def group_from_api(r: dict[str, Any], members: dict[str, Member] | None = None) -> Group:
    """A Google Group resource (and its members, if read) as a State group."""
    what = f"group {r.get('email') or r.get('id') or '(no id)'}"[:80]
    _text(r, "email", what, required=True)
    for key in ("id", "name", "description"):
        _text(r, key, what)
    _of_type(r, "aliases", list, what)
    if not all(isinstance(a, str) for a in r.get("aliases") or []):
        raise ValueError(f"{what}: an alias is not text")
    count = r.get("directMembersCount")
    if isinstance(count, bool) or not isinstance(count, (int, str, type(None))):
        raise ValueError(f"{what}: directMembersCount is {type(count).__name__}, not a number")
    description, owner = split_group_description(r.get("description"))
    return Group(
        email=r["email"].lower(),
        name=r.get("name") or "",
        description=description,
        owner=owner,
        aliases=tuple(sorted({a.lower() for a in r.get("aliases") or []})),
        members=members or {},
        id=r.get("id"),
        direct_members_count=int(count) if count is not None else None,
    )


def member_from_api(r: dict[str, Any]) -> Member:
    """A Google Member resource; members without an email (the customer) go by their id."""
    what = f"member {r.get('email') or r.get('id') or '(no id)'}"[:80]
    for key in ("email", "id", "role", "type", "status"):
        _text(r, key, what)
    if not (r.get("email") or r.get("id")):
        raise ValueError(f"{what}: neither email nor id")
    # Interned, as users' emails are: one string per address, however many groups hold it.
    email = sys.intern((r.get("email") or r.get("id") or "").lower())
    # One shared string per role and type, not one per member read (500k at 100k users).
    role, kind = r.get("role", "MEMBER"), r.get("type", "USER")
    # Google omits `status` for some members (external addresses, addresses no account had
    # when they were added): None then, which the short-read check relies on.
    status = r.get("status")
    return Member(
        email=email,
        role=sys.intern(role),
        type=sys.intern(kind),
        status=sys.intern(status) if status else None,
    )


def org_unit_from_api(r: dict[str, Any]) -> OrgUnit:
    what = f"org unit {r.get('orgUnitPath') or r.get('orgUnitId') or '(no id)'}"[:80]
    _text(r, "orgUnitPath", what, required=True)
    for key in ("orgUnitId", "description"):
        _text(r, key, what)
    return OrgUnit(
        path=r["orgUnitPath"], description=r.get("description") or None, id=r.get("orgUnitId")
    )


# Google's lastLoginTime of an account nobody has signed in to (the Unix epoch).
NEVER_SIGNED_IN = "1970-01-01T00:00:00"


def _signed_in(last_login: Any) -> bool:
    """Whether someone has signed in to the account (lastLoginTime past the epoch)."""
    return isinstance(last_login, str) and not last_login.startswith(NEVER_SIGNED_IN)

"""The User resource: building a stored record from a request or seed entry, rendering it.

Shared by the users handlers (api_users) and the seed loader, so seeded and created
accounts go through the same rules.
"""

from __future__ import annotations

from typing import Any

from reconciler.emulator.api_schemas import merge_custom_values, public_fields
from reconciler.emulator.errors import (
    condition_not_met,
    domain_not_found,
    duplicate,
    invalid,
    required,
)
from reconciler.emulator.ids import new_user_id
from reconciler.emulator.rules import MAX_NAME, check_alias_room, claim, tenant_address
from reconciler.emulator.tenant import ROOT_PATH, USER, Record, Tenant

NEVER = "1970-01-01T00:00:00.000Z"  # Google's lastLoginTime for an account never used
HASH_FUNCTIONS = frozenset({"MD5", "SHA-1", "crypt"})
# Only an admin's own suspension can be lifted by an admin; Google's own (abuse, under 13,
# web login required…) answer 412 adminCannotUnsuspend.
ADMIN_SUSPENSION = "ADMIN"

# Writable fields, by JSON type. Repeated fields are lists of objects ("any" in discovery).
_BOOLS = ("changePasswordAtNextLogin", "includeInGlobalAddressList", "ipWhitelisted", "archived")
_STRINGS = ("recoveryEmail", "recoveryPhone")
_REPEATED = (
    "addresses",
    "emails",
    "externalIds",
    "ims",
    "keywords",
    "languages",
    "locations",
    "organizations",
    "phones",
    "posixAccounts",
    "relations",
    "sshPublicKeys",
    "websites",
)
_OBJECTS = ("gender", "notes")
# Read-only fields a seed or saved state may set; a request's values for them are ignored.
_TRUSTED = ("isAdmin", "creationTime", "lastLoginTime", "agreedToTerms", "deletionTime")
# What the domain_public view shows (Google: the profile fields every user may see).
_PUBLIC = ("organizations", "phones", "relations", "addresses", "locations", "websites")
_OPTIONAL_OUT = (*_STRINGS, *_REPEATED, *_OBJECTS)
# Fields copied as they are once their JSON type is checked.
_PLAIN: dict[str, type] = {
    **dict.fromkeys(_BOOLS, bool),
    **dict.fromkeys(_STRINGS, str),
    **dict.fromkeys(_OBJECTS, dict),
    **dict.fromkeys(_REPEATED, list),
}
_EXPECTED = {bool: "a boolean", str: "a string", dict: "an object", list: "a list"}

# ---- building ---------------------------------------------------------------------------


def build_user(
    tenant: Tenant,
    body: dict[str, Any],
    *,
    old: Record | None,
    mode: str,
    now: str,
    rng: Any,
) -> Record:
    """The record a write produces: `mode` insert, update, patch, or seed (a seed or saved
    state entry, which may also set ids, aliases, isAdmin, times and suspension reasons).

    update and patch both keep fields the body leaves out and clear fields set to null
    (Google documents users.update so); patch cannot clear repeated fields.
    """
    seed = mode == "seed"
    if old is None:
        _require_new_user_fields(body, password=not seed)
    rec: Record = dict(old) if old is not None else {}
    if seed:
        rec["id"] = str(body.get("id") or new_user_id(rng))
    elif old is None:
        rec["id"] = new_user_id(rng)
    owner = (USER, rec["id"]) if old is not None else None

    if "primaryEmail" in body:
        _set_primary(tenant, rec, body["primaryEmail"], old, owner)
    if "name" in body:
        rec["name"] = _name(body["name"], rec.get("name", {}))
    if "password" in body or "hashFunction" in body:
        _check_password(body.get("password"), body.get("hashFunction"), seed)
    if "orgUnitPath" in body:
        rec["orgUnitPath"] = orgunit_path(tenant, body["orgUnitPath"])
    if seed and "aliases" in body:
        rec["aliases"] = _seed_aliases(tenant, body["aliases"], rec)
    if seed:
        for key in _TRUSTED:
            if key in body:
                rec[key] = body[key]
    if "suspended" in body:
        reason = body.get("suspensionReason") if seed else None
        _set_suspended(rec, body["suspended"], reason, seed)
    for key, value in body.items():
        kind = _PLAIN.get(key)
        if kind is None:
            continue
        if kind is list:
            if mode == "patch" and value in (None, []):
                continue  # Google: patch cannot clear repeated fields; update can
            value = value or None
        _set(rec, key, value, kind)
    if "customSchemas" in body:
        custom = merge_custom_values(tenant, rec.get("customSchemas"), body["customSchemas"])
        if custom is None:
            rec.pop("customSchemas", None)
        else:
            rec["customSchemas"] = custom

    if old is None:
        rec.setdefault("orgUnitPath", ROOT_PATH)
        rec.setdefault("isAdmin", False)
        rec.setdefault("suspended", False)
        rec.setdefault("changePasswordAtNextLogin", False)
        rec.setdefault("creationTime", now)
    return rec


def _require_new_user_fields(body: dict[str, Any], *, password: bool) -> None:
    name = body.get("name") if isinstance(body.get("name"), dict) else {}
    for field, present in (
        ("primaryEmail", body.get("primaryEmail")),
        ("name.givenName", name.get("givenName")),
        ("name.familyName", name.get("familyName")),
        ("password", body.get("password") if password else True),
    ):
        if present in (None, ""):
            raise required(field)


def _set_primary(
    tenant: Tenant, rec: Record, value: Any, old: Record | None, owner: tuple[str, str] | None
) -> None:
    email = tenant_address(value, "primary_user_email")
    if old is not None and email == old["primaryEmail"]:
        return
    if old is not None and email in old.get("aliases", ()):
        # Google: "you won't be able to change your primary email address to an existing email
        # alias directly" (knowledge base 000007487); the address is taken, by this user.
        raise duplicate()
    claim(tenant, email, owner)
    rec["primaryEmail"] = email
    if old is not None:
        # A rename keeps the old address as an alias, so mail and lookups still work; at the
        # alias cap there is no room for it.
        aliases = [*old.get("aliases", ()), old["primaryEmail"]]
        check_alias_room(aliases, "user", renaming=True)
        rec["aliases"] = aliases


def _name(value: Any, current: Record) -> Record:
    if not isinstance(value, dict):
        raise invalid("Invalid Given/Family Name: GivenName")
    name = dict(current)
    for key, label in (("givenName", "GivenName"), ("familyName", "FamilyName")):
        if key in value:
            if not _ok_name(value[key]):
                raise invalid(f"Invalid Given/Family Name: {label}")
            name[key] = value[key].strip()
    if "displayName" in value:
        if value["displayName"] is None:
            name.pop("displayName", None)
        elif isinstance(value["displayName"], str):
            name["displayName"] = value["displayName"]
    return name


def _ok_name(value: Any) -> bool:
    return (
        isinstance(value, str)
        and bool(value.strip())
        and len(value.strip()) <= MAX_NAME
        and "<" not in value
        and ">" not in value
    )


def _check_password(password: Any, hash_function: Any, seed: bool) -> None:
    # Passwords are checked and then dropped: nothing stores or returns them.
    if hash_function is not None and hash_function not in HASH_FUNCTIONS:
        raise invalid("Invalid Input: hashFunction")
    if password is None:
        return
    if not isinstance(password, str):
        raise invalid("Invalid Password")
    if hash_function is None and not seed and not 8 <= len(password) <= 100:
        raise invalid("Invalid Password")


def orgunit_path(tenant: Tenant, value: Any) -> str:
    """The canonical path of an existing org unit (400 INVALID_OU_ID otherwise)."""
    if not isinstance(value, str) or not value.strip():
        raise invalid("Invalid Input: INVALID_OU_ID")
    path = value.strip()
    if path.rstrip("/") == "":
        return ROOT_PATH
    unit = tenant.orgunit(path)
    if unit is None:
        raise invalid("Invalid Input: INVALID_OU_ID")
    return unit["orgUnitPath"]


def _seed_aliases(tenant: Tenant, value: Any, rec: Record) -> list[str]:
    if not isinstance(value, list):
        raise invalid("Invalid Input: aliases")
    out: list[str] = []
    for item in value:
        alias = tenant_address(item, "alias")
        if not tenant.in_domain(alias):
            raise domain_not_found()
        if alias in tenant.addresses or alias in out or alias == rec.get("primaryEmail"):
            raise duplicate()
        out.append(alias)
    return out


def _set_suspended(rec: Record, value: Any, reason: Any, seed: bool) -> None:
    if not isinstance(value, bool):
        raise invalid("Invalid value for suspended: expected a boolean")
    was = rec.get("suspended", False)
    if value and (not was or seed):
        rec["suspended"] = True
        rec["suspensionReason"] = reason if isinstance(reason, str) and reason else ADMIN_SUSPENSION
    elif not value and was:
        if rec.get("suspensionReason", ADMIN_SUSPENSION) != ADMIN_SUSPENSION and not seed:
            raise condition_not_met(
                "Cannot restore a user suspended for abuse.", "adminCannotUnsuspend"
            )
        rec["suspended"] = False
        rec.pop("suspensionReason", None)
    elif not value:
        rec["suspended"] = False


def _set(rec: Record, key: str, value: Any, kind: type) -> None:
    if value is None:
        rec.pop(key, None)
    elif not isinstance(value, kind):
        raise invalid(f"Invalid value for {key}: expected {_EXPECTED[kind]}")
    else:
        rec[key] = value


# ---- rendering --------------------------------------------------------------------------


def render_user(
    tenant: Tenant,
    rec: Record,
    projection: str = "full",
    mask: frozenset[str] = frozenset(),
    view: str = "admin_view",
) -> dict[str, Any]:
    """A User resource as Google returns it (passwords never; customSchemas by projection)."""
    name = rec.get("name", {})
    given, family = name.get("givenName", ""), name.get("familyName", "")
    out_name = {"givenName": given, "familyName": family, "fullName": f"{given} {family}".strip()}
    if "displayName" in name:
        out_name["displayName"] = name["displayName"]
    emails = _emails(rec)
    custom = rec.get("customSchemas") if projection != "basic" else None
    if custom and projection == "custom":
        custom = {k: v for k, v in custom.items() if k.lower() in mask}
    if view == "domain_public":
        out: dict[str, Any] = {
            "kind": "admin#directory#user",
            "id": rec["id"],
            "etag": rec["etag"],
            "primaryEmail": rec["primaryEmail"],
            "name": out_name,
            "emails": emails,
        }
        out.update((k, rec[k]) for k in _PUBLIC if k in rec)
        custom = public_fields(tenant, custom) if custom else None
        if custom:
            out["customSchemas"] = custom
        return out
    suspended = rec.get("suspended", False)
    out = {
        "kind": "admin#directory#user",
        "id": rec["id"],
        "etag": rec["etag"],
        "primaryEmail": rec["primaryEmail"],
        "name": out_name,
        "isAdmin": rec.get("isAdmin", False),
        "isDelegatedAdmin": tenant.is_delegated_admin(rec),
        "lastLoginTime": rec.get("lastLoginTime", NEVER),
        "creationTime": rec["creationTime"],
        "agreedToTerms": rec.get("agreedToTerms", False),
        "suspended": suspended,
    }
    if suspended:
        out["suspensionReason"] = rec.get("suspensionReason", ADMIN_SUSPENSION)
    out["archived"] = rec.get("archived", False)
    out["changePasswordAtNextLogin"] = rec.get("changePasswordAtNextLogin", False)
    out["ipWhitelisted"] = rec.get("ipWhitelisted", False)
    out["emails"] = emails
    if rec.get("aliases"):
        out["aliases"] = list(rec["aliases"])
    out["customerId"] = tenant.customer_id
    out["orgUnitPath"] = rec["orgUnitPath"]
    out["isMailboxSetup"] = True
    out["isEnrolledIn2Sv"] = False
    out["isEnforcedIn2Sv"] = False
    out["includeInGlobalAddressList"] = rec.get("includeInGlobalAddressList", True)
    out.update((k, rec[k]) for k in _OPTIONAL_OUT if k in rec and k != "emails")
    if "deletionTime" in rec:
        out["deletionTime"] = rec["deletionTime"]
    if custom:
        out["customSchemas"] = custom
    return out


def _emails(rec: Record) -> list[dict[str, Any]]:
    """Google lists the primary address, the aliases, then any other addresses set."""
    out: list[dict[str, Any]] = [{"address": rec["primaryEmail"], "primary": True}]
    seen = {rec["primaryEmail"]}
    for alias in rec.get("aliases", ()):
        out.append({"address": alias})
        seen.add(alias)
    for item in rec.get("emails") or ():
        if isinstance(item, dict) and str(item.get("address", "")).lower() not in seen:
            out.append(item)
    return out

"""Google's rules for addresses, names and keys, shared by users, groups and the seed."""

from __future__ import annotations

import re
from typing import Any

from reconciler.emulator.errors import (
    ApiError,
    bad_request,
    domain_not_found,
    duplicate,
    invalid,
)
from reconciler.emulator.ids import next_etag
from reconciler.emulator.tenant import Record, Tenant

# Usernames and alias local parts: letters, digits, - _ ' and single inner periods.
_LOCAL_PART = re.compile(r"[a-z0-9_'\-]+(?:\.[a-z0-9_'\-]+)*")
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)+")
# Addresses outside the tenant (external members) only need to look like addresses.
_ANY_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_RESERVED = frozenset({"abuse", "postmaster"})

MAX_NAME = 60
MAX_GROUP_NAME = 73
MAX_DESCRIPTION = 4096
# Admin help: up to 30 email aliases per user ("Add or delete an alternate email address") and
# per group ("Add or remove group email aliases"). A rename counts: the old address becomes one.
MAX_ALIASES = 30
ROLES = ("OWNER", "MANAGER", "MEMBER")


def tenant_address(value: Any, field: str) -> str:
    """A user, group or alias address: lower-cased and checked (400 `Invalid Input: field`)."""
    if not isinstance(value, str):
        raise invalid(f"Invalid Input: {field}")
    address = value.strip().lower()
    local, at, domain = address.partition("@")
    if (
        not at
        or len(local) > 64
        or local in _RESERVED
        or not _LOCAL_PART.fullmatch(local)
        or not _DOMAIN.fullmatch(domain)
    ):
        raise invalid(f"Invalid Input: {field}")
    return address


def any_address(value: Any, field: str) -> str:
    """An address that may be outside the tenant (a member), lower-cased."""
    if not isinstance(value, str) or not _ANY_ADDRESS.fullmatch(value.strip()):
        raise invalid(f"Invalid Input: {field}")
    return value.strip().lower()


# Consumer Gmail: one account answers to every spelling of its address. Google lists a
# member under the account's own spelling whatever spelling it was added by (GAM 4.44.14
# release notes; Google's help: dots don't matter in Gmail addresses).
CONSUMER_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def consumer_address(address: str) -> str:
    """The spelling a consumer Gmail member is stored and listed under: the name without
    dots or +tag, on gmail.com (the emulator has no accounts to take a spelling from, so it
    uses this one). Any other (lower-case) address is returned as it is."""
    local, _, domain = address.rpartition("@")
    if domain not in CONSUMER_DOMAINS:
        return address
    name = local.partition("+")[0].replace(".", "")
    return f"{name}@gmail.com" if name else address


def claim(tenant: Tenant, address: str, owner: tuple[str, str] | None) -> None:
    """Check that a new address may be used by `owner` (None: a new resource).

    It must be in one of the tenant's domains and not be any other user's or group's
    primary address or alias.
    """
    if not tenant.in_domain(address):
        raise domain_not_found()
    hit = tenant.addresses.get(address)
    if hit is not None and hit != owner:
        raise duplicate()


def check_customer(tenant: Tenant, customer: str) -> None:
    """`my_customer` or the tenant's own id; anything else is Google's bare 400."""
    if customer not in ("my_customer", tenant.customer_id):
        raise bad_request()


def display_name(value: Any, field: str, limit: int = MAX_NAME) -> str:
    """A person's or group's name: text, at most `limit` characters, no < or >."""
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"Invalid Input: {field}")
    text = value.strip()
    if len(text) > limit or "<" in text or ">" in text:
        raise invalid(f"Invalid Input: {field}")
    return text


def alias_resource(owner_id: str, owner_etag: str, primary: str, alias: str) -> dict[str, Any]:
    """An Alias resource as users.aliases and groups.aliases return it."""
    return {
        "kind": "admin#directory#alias",
        "id": owner_id,
        "etag": next_etag(owner_etag + alias),
        "primaryEmail": primary,
        "alias": alias,
    }


def aliases_resource(owner_id: str, rec: Record, primary_field: str) -> dict[str, Any]:
    """The Aliases listing of a user or group (no `aliases` key when there are none)."""
    out: dict[str, Any] = {"kind": "admin#directory#aliases", "etag": next_etag(rec["etag"])}
    items = [
        alias_resource(owner_id, rec["etag"], rec[primary_field], a) for a in rec.get("aliases", ())
    ]
    if items:
        out["aliases"] = items
    return out


def new_alias(tenant: Tenant, body: dict[str, Any]) -> str:
    """The address of an alias being inserted: present, well-formed, in a domain, free."""
    if "alias" not in body or body["alias"] in (None, ""):
        raise ApiError(400, "required", "Missing required field: alias")
    address = tenant_address(body["alias"], "alias")
    if not tenant.in_domain(address):
        raise domain_not_found()
    if address in tenant.addresses:
        raise duplicate()
    return address


def check_alias_room(aliases: Any, kind: str, *, renaming: bool = False) -> None:
    """Refuse a write that would give a user or group more than MAX_ALIASES aliases.

    Google documents the cap, not its error: GAM handles the reason `limitExceeded` on
    alias inserts (release notes 4.86.08); the status and message are our choice."""
    if len(aliases) > MAX_ALIASES:
        why = "; a rename keeps the old address as one" if renaming else ""
        raise ApiError(
            412,
            "limitExceeded",
            f"Alias limit exceeded: a {kind} can have at most {MAX_ALIASES} aliases{why}.",
        )


def removed_alias(rec: Record, key: str) -> list[str]:
    """The aliases left after removing `key` from them. One that is not among them is
    Google's 400 "Invalid Input: resource_id" (quoted in GAM's release notes, which file
    it as invalidResource: "does not exist"), not a 404."""
    alias = key.lower()
    aliases = list(rec.get("aliases", ()))
    if alias not in aliases:
        raise invalid("Invalid Input: resource_id")
    aliases.remove(alias)
    return aliases

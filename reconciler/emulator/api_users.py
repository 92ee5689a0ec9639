"""users.* and users.aliases.*: listing, reading and changing user accounts."""

from __future__ import annotations

from typing import Any

from reconciler.emulator.errors import (
    bad_request,
    domain_not_found,
    duplicate,
    invalid,
    not_found,
    required,
    user_not_ready,
)
from reconciler.emulator.ids import next_etag
from reconciler.emulator.lag import lagged_page
from reconciler.emulator.paging import listing_digest
from reconciler.emulator.query import exact_email, parse_query, user_matcher
from reconciler.emulator.request import Call, parse_time
from reconciler.emulator.rules import (
    alias_resource,
    aliases_resource,
    check_alias_room,
    check_customer,
    new_alias,
    removed_alias,
)
from reconciler.emulator.tenant import ROOT_PATH, USER, Record, Tenant, user_addresses
from reconciler.emulator.user_resource import build_user, orgunit_path, render_user

Answer = tuple[int, dict[str, Any] | None]
DELETED_RETENTION_S = 20 * 86400  # Google lets admins restore a user for 20 days


def _projection(call: Call) -> tuple[str, frozenset[str], str]:
    projection = call.choice("projection", ("basic", "custom", "full"), "basic") or "basic"
    mask = frozenset(
        s.strip().lower() for s in (call.arg("customFieldMask") or "").split(",") if s.strip()
    )
    if projection == "custom" and not mask:
        raise invalid("Invalid Input: customFieldMask is required with projection=custom")
    view = call.choice("viewType", ("admin_view", "domain_public"), "admin_view") or "admin_view"
    return projection, mask, view


# ---- lookups ----------------------------------------------------------------------------


def find_user(call: Call, key: str, *, write: bool) -> Record:
    """The active user a key names (email, alias or id).

    A user created less than the consistency delay ago is not found by reads and answers
    writes with 412 "User creation is not complete.", as Google does while it settles; the
    new address of a user renamed less than the delay ago finds nothing yet (404).
    """
    hit = call.tenant.resolve(key)
    if hit is None or hit[0] != USER:
        raise not_found("userKey")
    if call.settling(hit[1]):
        raise user_not_ready() if write else not_found("userKey")
    if call.settling(key.lower()):
        raise not_found("userKey")
    return call.tenant.users[hit[1]]


def purge_expired(call: Call) -> None:
    """Forget deleted users past Google's 20-day window."""
    for uid, rec in list(call.tenant.deleted_users.items()):
        if call.now - parse_time(rec["deletionTime"]) > DELETED_RETENTION_S:
            call.tenant.purge_user(uid)


# ---- handlers ---------------------------------------------------------------------------


def list_users(call: Call) -> Answer:
    t = call.tenant
    domain = (call.arg("domain") or "").lower()
    customer = call.arg("customer")
    if domain:
        if domain not in t.domain_set:
            raise domain_not_found()
    elif customer:
        check_customer(t, customer)
    else:
        raise bad_request()
    limit = call.integer("maxResults", 100, 1, 500)
    order_by = call.choice("orderBy", ("email", "familyName", "givenName"), "email") or "email"
    descending = call.choice("sortOrder", ("ASCENDING", "DESCENDING"), "ASCENDING") == "DESCENDING"
    projection, mask, view = _projection(call)
    show_deleted = call.flag("showDeleted")
    query = call.arg("query") or ""
    clauses = parse_query(query)
    matcher = user_matcher(t, clauses)
    suffix = "@" + domain

    if show_deleted:
        purge_expired(call)
        source = t.deleted_users
        keys = _cached(
            t, "deleted", lambda: sorted((u["primaryEmail"], u["id"]) for u in source.values())
        )

        def record(key: Any) -> Record:
            return source[key[1]]

    elif order_by == "email":
        keys = t.user_order
        exact = exact_email(clauses)
        if exact is not None:
            hit = t.addresses.get(exact)
            keys = [t.users[hit[1]]["primaryEmail"]] if hit and hit[0] == USER else []

        def record(key: Any) -> Record:
            return t.users[t.addresses[key][1]]

    else:
        keys = _cached(t, order_by, lambda: _name_keys(t, order_by))

        def record(key: Any) -> Record:
            return t.users[t.addresses[key[1]][1]]

    def listed(rec: Record) -> bool:
        return (not domain or rec["primaryEmail"].endswith(suffix)) and matcher(rec)

    def match(key: Any) -> bool:
        return listed(record(key))

    digest = listing_digest("users", domain, customer, order_by, descending, query, show_deleted)
    lagged = {} if show_deleted else call.lagged("users")
    if lagged:
        # Users written moments ago are listed as they were (lag.py).
        def current(key: Any) -> bool:
            rec = record(key)
            return rec["id"] not in lagged and listed(rec)

        ghosts = sorted(
            (_sort_key(rec, order_by), rec) for rec in lagged.values() if rec is not None
        )
        page, token = lagged_page(
            call, "users", digest, keys, limit, current, ghosts, listed, descending
        )
        shown = [ghost or record(k) for k, ghost in page]
    else:
        found, token = call.page("users", digest, keys, limit, match, descending)
        shown = [record(k) for k in found]
    out: dict[str, Any] = {
        "kind": "admin#directory#users",
        "etag": next_etag(f"users/{t.generation}"),
    }
    if shown:
        out["users"] = [render_user(t, rec, projection, mask, view) for rec in shown]
    if token:
        out["nextPageToken"] = token
    return 200, out


def _name_keys(t: Tenant, order_by: str) -> list[tuple[str, str]]:
    return sorted(_sort_key(u, order_by) for u in t.users.values())


def _sort_key(rec: Record, order_by: str) -> Any:
    """Where a user sits in a listing ordered by `order_by`."""
    if order_by == "email":
        return rec["primaryEmail"]
    return str(rec.get("name", {}).get(order_by, "")).lower(), rec["primaryEmail"]


def _cached(t: Tenant, name: str, build: Any) -> Any:
    # Orderings other than by email are built on demand and kept until the next write.
    entry = t.cache.get(name)
    if entry is None or entry[0] != t.generation:
        entry = (t.generation, build())
        t.cache[name] = entry
    return entry[1]


def get_user(call: Call) -> Answer:
    projection, mask, view = _projection(call)
    rec = find_user(call, call.params["userKey"], write=False)
    return 200, render_user(call.tenant, rec, projection, mask, view)


def insert_user(call: Call) -> Answer:
    rec = build_user(
        call.tenant, call.body(), old=None, mode="insert", now=call.timestamp(), rng=call.rng
    )
    call.check_not_held(rec["primaryEmail"])
    call.tenant.put_user(rec)
    call.created(rec["id"])
    return 200, render_user(call.tenant, rec)


def update_user(call: Call) -> Answer:
    return _change_user(call, "update")


def patch_user(call: Call) -> Answer:
    return _change_user(call, "patch")


def _change_user(call: Call, mode: str) -> Answer:
    old = find_user(call, call.params["userKey"], write=True)
    body = call.body()
    rec = build_user(call.tenant, body, old=old, mode=mode, now=call.timestamp(), rng=call.rng)
    if rec["primaryEmail"] != old["primaryEmail"]:
        call.check_not_held(rec["primaryEmail"])
    call.tenant.put_user(rec)
    if rec["primaryEmail"] not in user_addresses(old):
        # Renamed: the new address settles like a new account (docs/emulator.md).
        call.created(rec["primaryEmail"])
    return 200, render_user(call.tenant, rec)


def delete_user(call: Call) -> Answer:
    rec = find_user(call, call.params["userKey"], write=True)
    call.tenant.delete_user(rec["id"], call.timestamp())
    call.released.extend(user_addresses(rec))
    return 204, None


def undelete_user(call: Call) -> Answer:
    t = call.tenant
    purge_expired(call)
    # Google wants the immutable id here: an address may now belong to someone else.
    rec = t.deleted_users.get(call.params["userKey"])
    if rec is None:
        raise not_found("userKey")
    body = call.body()
    path = body.get("orgUnitPath") or (
        rec["orgUnitPath"] if t.orgunit_exists(rec["orgUnitPath"]) else ROOT_PATH
    )
    path = orgunit_path(t, path)
    if any(address in t.addresses for address in user_addresses(rec)):
        raise duplicate()
    t.undelete_user(rec["id"], path)
    return 204, None


def make_admin(call: Call) -> Answer:
    body = call.body()
    status = body.get("status")
    if status is None:
        raise required("status")
    if not isinstance(status, bool):
        raise invalid("Invalid value for status: expected a boolean")
    rec = find_user(call, call.params["userKey"], write=True)
    call.tenant.put_user(dict(rec, isAdmin=status))
    return 204, None


def list_user_aliases(call: Call) -> Answer:
    rec = find_user(call, call.params["userKey"], write=False)
    return 200, aliases_resource(rec["id"], rec, "primaryEmail")


def insert_user_alias(call: Call) -> Answer:
    rec = find_user(call, call.params["userKey"], write=True)
    alias = new_alias(call.tenant, call.body())
    call.check_not_held(alias)
    aliases = [*rec.get("aliases", ()), alias]
    check_alias_room(aliases, "user")
    new = call.tenant.put_user(dict(rec, aliases=aliases))
    return 200, alias_resource(new["id"], new["etag"], new["primaryEmail"], alias)


def delete_user_alias(call: Call) -> Answer:
    rec = find_user(call, call.params["userKey"], write=True)
    remaining = removed_alias(rec, call.params["alias"])
    new = {k: v for k, v in rec.items() if k != "aliases"}
    if remaining:
        new["aliases"] = remaining
    call.tenant.put_user(new)
    call.released.append(call.params["alias"].lower())
    return 204, None

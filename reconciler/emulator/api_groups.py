"""groups.* and groups.aliases.*: building, rendering, listing and changing groups."""

from __future__ import annotations

from typing import Any

from reconciler.emulator.errors import (
    bad_request,
    domain_not_found,
    duplicate,
    invalid,
    not_found,
    required,
)
from reconciler.emulator.ids import external_member_id, new_group_id, next_etag
from reconciler.emulator.lag import lagged_page
from reconciler.emulator.paging import listing_digest
from reconciler.emulator.query import group_matcher, parse_query
from reconciler.emulator.request import Call
from reconciler.emulator.rules import (
    MAX_DESCRIPTION,
    MAX_GROUP_NAME,
    alias_resource,
    aliases_resource,
    any_address,
    check_alias_room,
    check_customer,
    claim,
    consumer_address,
    display_name,
    new_alias,
    removed_alias,
    tenant_address,
)
from reconciler.emulator.tenant import GROUP, LAST_COUNT, Record, Tenant, group_addresses

Answer = tuple[int, dict[str, Any] | None]
MAX_PAGE = 200  # Google: "Max allowed value is 200"; larger values are capped, not refused


def build_group(
    tenant: Tenant, body: dict[str, Any], *, old: Record | None, mode: str, rng: Any
) -> Record:
    """The record a write produces: `mode` insert, update, patch, or seed (which may also
    set the id and aliases). update keeps fields the body leaves out, like patch."""
    seed = mode == "seed"
    rec: Record = dict(old) if old is not None else {}
    if old is None:
        if not body.get("email"):
            raise required("email")
        rec["id"] = str(body.get("id") or new_group_id(rng)) if seed else new_group_id(rng)
    owner = (GROUP, rec["id"]) if old is not None else None
    if "email" in body:
        email = tenant_address(body["email"], "email")
        if old is None or email != old["email"]:
            if old is not None and email in old.get("aliases", ()):
                # As for users (Google documents it for them only): not to an own alias.
                raise duplicate()
            claim(tenant, email, owner)
            rec["email"] = email
            if old is not None:
                # Admin help: a renamed group keeps its old address as an alias.
                rec["aliases"] = [*old.get("aliases", ()), old["email"]]
                check_alias_room(rec["aliases"], "group", renaming=True)
    if "name" in body:
        rec["name"] = display_name(body["name"], "name", MAX_GROUP_NAME)
    if "description" in body:
        description = body["description"] or ""
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
            raise invalid("Invalid Input: description")
        rec["description"] = description
    if seed and "aliases" in body:
        rec["aliases"] = _seed_aliases(tenant, body["aliases"], rec["email"])
    if old is None:
        rec.setdefault("name", rec["email"].partition("@")[0])
        rec.setdefault("description", "")
        rec["adminCreated"] = bool(body.get("adminCreated", True)) if seed else True
    return rec


def _seed_aliases(tenant: Tenant, value: Any, email: str) -> list[str]:
    if not isinstance(value, list):
        raise invalid("Invalid Input: aliases")
    out: list[str] = []
    for item in value:
        alias = tenant_address(item, "alias")
        if not tenant.in_domain(alias):
            raise domain_not_found()
        if alias in tenant.addresses or alias in out or alias == email:
            raise duplicate()
        out.append(alias)
    return out


def render_group(tenant: Tenant, rec: Record) -> dict[str, Any]:
    """A Group resource as Google returns it; directMembersCount is a string."""
    out: dict[str, Any] = {
        "kind": "admin#directory#group",
        "id": rec["id"],
        "etag": rec["etag"],
        "email": rec["email"],
        "name": rec["name"],
        "directMembersCount": str(_members_count(tenant, rec)),
        "description": rec.get("description", ""),
        "adminCreated": rec.get("adminCreated", True),
    }
    if rec.get("aliases"):
        out["aliases"] = list(rec["aliases"])
    return out


def _members_count(tenant: Tenant, rec: Record) -> int:
    """Counted when read; a deleted group that a listing still shows, as it was."""
    members = tenant.members.get(rec["id"])
    return len(members) if members is not None else int(rec.get(LAST_COUNT, 0))


def find_group(call: Call, key: str) -> Record:
    """The group a key names (email, alias or id). A group created less than the
    consistency delay ago answers 404, as Google's do while they settle, and so does the new
    address of a group renamed less than the delay ago."""
    hit = call.tenant.resolve(key)
    if hit is None or hit[0] != GROUP or call.settling(hit[1]) or call.settling(key.lower()):
        raise not_found("groupKey")
    return call.tenant.groups[hit[1]]


def page_size(call: Call) -> int:
    """maxResults for groups and members: at least 1, at most 200."""
    return min(call.integer("maxResults", MAX_PAGE, 1), MAX_PAGE)


# ---- handlers ---------------------------------------------------------------------------


def list_groups(call: Call) -> Answer:
    t = call.tenant
    domain = (call.arg("domain") or "").lower()
    customer = call.arg("customer")
    user_key = call.arg("userKey")
    if user_key and customer:
        raise bad_request()  # discovery: userKey "cannot be used with the customer parameter"
    if domain:
        if domain not in t.domain_set:
            raise domain_not_found()
    elif customer:
        check_customer(t, customer)
    elif not user_key:
        raise bad_request()
    limit = page_size(call)
    call.choice("orderBy", ("email",), "email")
    descending = call.choice("sortOrder", ("ASCENDING", "DESCENDING"), "ASCENDING") == "DESCENDING"
    query = call.arg("query") or ""
    matcher = group_matcher(t, parse_query(query))
    keys = t.group_order
    if user_key:
        holder = _member_id_of(t, user_key)
        groups = t.member_of.get(holder, ()) if holder else ()
        keys = sorted(t.groups[gid]["email"] for gid in groups)
    suffix = "@" + domain

    def listed(rec: Record) -> bool:
        return (not domain or rec["email"].endswith(suffix)) and matcher(rec)

    def match(email: str) -> bool:
        return listed(t.groups[t.addresses[email][1]])

    digest = listing_digest("groups", domain, customer, user_key, descending, query)
    # A member's groups (userKey) follow memberships as they are; the others lag (lag.py).
    lagged = {} if user_key else call.lagged("groups")
    if lagged:

        def current(email: str) -> bool:
            gid = t.addresses[email][1]
            return gid not in lagged and listed(t.groups[gid])

        ghosts = sorted((rec["email"], rec) for rec in lagged.values() if rec is not None)
        page, token = lagged_page(
            call, "groups", digest, keys, limit, current, ghosts, listed, descending
        )
        shown = [ghost or t.groups[t.addresses[e][1]] for e, ghost in page]
    else:
        found, token = call.page("groups", digest, keys, limit, match, descending)
        shown = [t.groups[t.addresses[e][1]] for e in found]
    out: dict[str, Any] = {
        "kind": "admin#directory#groups",
        "etag": next_etag(f"groups/{t.generation}"),
    }
    if shown:
        out["groups"] = [render_group(t, rec) for rec in shown]
    if token:
        out["nextPageToken"] = token
    return 200, out


def _member_id_of(t: Tenant, key: str) -> str | None:
    hit = t.resolve(key)
    if hit is not None:
        return hit[1]
    if "@" in key:
        address = any_address(key, "userKey")
        if t.in_domain(address):
            raise not_found("userKey")
        return external_member_id(consumer_address(address))
    raise not_found("userKey")


def get_group(call: Call) -> Answer:
    return 200, render_group(call.tenant, find_group(call, call.params["groupKey"]))


def insert_group(call: Call) -> Answer:
    rec = build_group(call.tenant, call.body(), old=None, mode="insert", rng=call.rng)
    call.check_not_held(rec["email"])
    call.tenant.put_group(rec)
    call.created(rec["id"])
    return 200, render_group(call.tenant, rec)


def update_group(call: Call) -> Answer:
    return _change_group(call, "update")


def patch_group(call: Call) -> Answer:
    return _change_group(call, "patch")


def _change_group(call: Call, mode: str) -> Answer:
    old = find_group(call, call.params["groupKey"])
    rec = build_group(call.tenant, call.body(), old=old, mode=mode, rng=call.rng)
    if rec["email"] != old["email"]:
        call.check_not_held(rec["email"])
    call.tenant.put_group(rec)
    if rec["email"] not in group_addresses(old):
        # Renamed: the new address settles like a new group (docs/emulator.md).
        call.created(rec["email"])
    return 200, render_group(call.tenant, rec)


def delete_group(call: Call) -> Answer:
    rec = find_group(call, call.params["groupKey"])
    call.tenant.delete_group(rec["id"])
    call.released.extend(group_addresses(rec))
    return 204, None


def list_group_aliases(call: Call) -> Answer:
    rec = find_group(call, call.params["groupKey"])
    return 200, aliases_resource(rec["id"], rec, "email")


def insert_group_alias(call: Call) -> Answer:
    rec = find_group(call, call.params["groupKey"])
    alias = new_alias(call.tenant, call.body())
    call.check_not_held(alias)
    aliases = [*rec.get("aliases", ()), alias]
    check_alias_room(aliases, "group")
    new = call.tenant.put_group(dict(rec, aliases=aliases))
    return 200, alias_resource(new["id"], new["etag"], new["email"], alias)


def delete_group_alias(call: Call) -> Answer:
    rec = find_group(call, call.params["groupKey"])
    remaining = removed_alias(rec, call.params["alias"])
    new = {k: v for k, v in rec.items() if k != "aliases"}
    if remaining:
        new["aliases"] = remaining
    call.tenant.put_group(new)
    call.released.append(call.params["alias"].lower())
    return 204, None

"""members.*: who is in a group, with which role; hasMember follows nested groups."""

from __future__ import annotations

from typing import Any

from reconciler.emulator.api_groups import find_group, page_size
from reconciler.emulator.errors import (
    ApiError,
    condition_not_met,
    duplicate,
    invalid,
    not_found,
    required,
)
from reconciler.emulator.ids import external_member_id, next_etag
from reconciler.emulator.lag import lagged_page
from reconciler.emulator.paging import listing_digest
from reconciler.emulator.request import Call
from reconciler.emulator.rules import ROLES, any_address, consumer_address
from reconciler.emulator.tenant import (
    GROUP,
    Member,
    MemberSeen,
    Record,
    Tenant,
    member_etag,
    members_collection,
)

Answer = tuple[int, dict[str, Any] | None]
DELIVERY = frozenset({"ALL_MAIL", "DAILY", "DIGEST", "DISABLED", "NONE"})
DEFAULT_DELIVERY = "ALL_MAIL"


def render_member(
    tenant: Tenant, group_id: str, member_id: str, member: Member, *, delivery: bool = False
) -> dict[str, Any]:
    """A Member resource; `type` always present. delivery_settings only where Google
    returns it (get, insert, update), not in listings."""
    out: dict[str, Any] = {
        "kind": "admin#directory#member",
        "etag": member_etag(group_id, member_id, member),
        "id": member_id,
    }
    email = tenant.member_email(member_id, member.type)
    if email is not None:
        out["email"] = email
    out["role"] = member.role
    out["type"] = member.type
    status = member_status(tenant, member_id, member.type)
    if status is not None:
        out["status"] = status
    if delivery:
        out["delivery_settings"] = member.delivery_settings or DEFAULT_DELIVERY
    return out


def member_status(tenant: Tenant, member_id: str, member_type: str) -> str | None:
    """As Google shows it (Tenant.member_status): SUSPENDED, ACTIVE, or None (no status)."""
    return tenant.member_status(member_id, member_type)


def member_key(tenant: Tenant, key: str) -> str | None:
    """The member id a key names: a user's or group's email, alias or id, an external
    address, or the customer id; None if it names nothing known."""
    hit = tenant.resolve(key)
    if hit is not None:
        return hit[1]
    if key == tenant.customer_id:
        return key
    lowered = key.lower()
    if "@" in lowered:
        # Any spelling of a consumer Gmail address finds the member (see consumer_address).
        mid = external_member_id(consumer_address(lowered))
        return mid if mid in tenant.external_emails else None
    return key if key in tenant.external_emails else None


def held_member(tenant: Tenant, group_id: str, key: str) -> str | None:
    """The id of the direct member of a group that a key names, or None. A member listed
    without status (no account behind its address when it was added) keeps its own id: its
    address finds it even once a user or group has that address."""
    members = tenant.members[group_id]
    mid = member_key(tenant, key)
    if mid is not None and mid in members:
        return mid
    if "@" in key:
        pending = external_member_id(consumer_address(key.lower()))
        if pending in members:
            return pending
    return None


def _find_member(call: Call, group: Record, *, removing: bool = False) -> tuple[str, Member]:
    """The membership the memberKey names. Google's answers when there is none: 404 for a
    key that names nothing (or the new address of an account renamed moments ago); for a
    user, group or known address that is simply not a member, members.delete says 400
    required "Missing required field: memberKey" (GAM reads it as memberNotFound) and the
    other methods 404."""
    key = call.params["memberKey"]
    settling = call.settling(key.lower())
    mid = None if settling else held_member(call.tenant, group["id"], key)
    if mid is None:
        if removing and not settling and member_key(call.tenant, key) is not None:
            raise required("memberKey")
        raise not_found("memberKey")
    return mid, call.tenant.members[group["id"]][mid]


def new_member(
    tenant: Tenant, group: Record, body: dict[str, Any], settling: Any
) -> tuple[str, str, str | None]:
    """(member id, type, external address or None) for a member being inserted."""
    if body.get("id") == tenant.customer_id or body.get("type") == "CUSTOMER":
        return tenant.customer_id, "CUSTOMER", None
    if body.get("email"):
        address = consumer_address(any_address(body["email"], "email"))
        hit = tenant.addresses.get(address)
        if hit is None:
            if tenant.in_domain(address):
                raise not_found("memberKey")
            return external_member_id(address), "EXTERNAL", address
    elif body.get("id"):
        hit = tenant.resolve(str(body["id"]))
        if hit is None:
            raise not_found("memberKey")
    else:
        raise required("email")
    kind, mid = hit
    if settling(mid) or (body.get("email") and settling(address)):
        raise not_found("memberKey")  # created, or renamed to this address, moments ago
    if kind == GROUP:
        if group["id"] in (mid, *tenant.nested_groups(mid)):
            raise condition_not_met("Cyclic memberships not allowed")
        return mid, "GROUP", None
    return mid, "USER", None


def _role(value: Any, default: str) -> str:
    if value is None:
        return default
    if value not in ROLES:
        raise invalid("Invalid Input: role")
    return value


def _delivery(value: Any, default: str | None) -> str | None:
    if value is None:
        return default
    if value not in DELIVERY:
        raise invalid("Invalid Input: delivery_settings")
    return value


# ---- handlers ---------------------------------------------------------------------------


def list_members(call: Call) -> Answer:
    t = call.tenant
    group = find_group(call, call.params["groupKey"])
    limit = page_size(call)
    roles_arg = call.arg("roles") or ""
    roles = {r.strip().upper() for r in roles_arg.split(",") if r.strip()}
    if roles - set(ROLES):
        raise ApiError(400, "invalid", "Invalid Input: roles", location="roles")
    derived = call.flag("includeDerivedMembership")
    gid = group["id"]
    if derived:
        members, holders = _derived_members(t, gid)
        keys: list[str] = sorted(members)

        def holder(mid: str) -> str:
            return holders[mid]

    else:
        members = t.members[gid]
        keys = t.member_order[gid]

        def holder(mid: str) -> str:
            return gid

    def match(mid: str) -> bool:
        return not roles or members[mid].role in roles

    digest = listing_digest("members", gid, sorted(roles), derived)
    # Direct memberships written moments ago are listed as they were (lag.py).
    lagged = {} if derived else call.lagged(members_collection(gid))
    if lagged:

        def current(mid: str) -> bool:
            return mid not in lagged and match(mid)

        def role_matches(seen: MemberSeen) -> bool:
            return not roles or seen[1].role in roles

        ghosts = sorted((mid, seen) for mid, seen in lagged.items() if seen is not None)
        page, token = lagged_page(
            call, "members", digest, keys, limit, current, ghosts, role_matches
        )
        shown = [
            _as_seen(t, mid, seen) if seen else render_member(t, gid, mid, members[mid])
            for mid, seen in page
        ]
    else:
        found, token = call.page("members", digest, keys, limit, match)
        # Derived members are shown with the etag of the group that holds them directly.
        shown = [render_member(t, holder(mid), mid, members[mid]) for mid in found]
    out: dict[str, Any] = {
        "kind": "admin#directory#members",
        "etag": next_etag(f"{group['etag']}/members"),
    }
    if shown:
        out["members"] = shown
    if token:
        out["nextPageToken"] = token
    return 200, out


def _as_seen(tenant: Tenant, member_id: str, seen: MemberSeen) -> dict:
    """A membership as a lagging listing still shows it, under the address and with the
    status it had (a deleted user's membership still shows both)."""
    group_id, member, email, status = seen
    out = render_member(tenant, group_id, member_id, member)
    if email is not None:
        out["email"] = email
    if status is None:
        out.pop("status", None)
    else:
        out["status"] = status  # where render_member puts it: last in a listing
    return out


def _derived_members(t: Tenant, group_id: str) -> tuple[dict[str, Member], dict[str, str]]:
    """Direct members, then the members of nested groups (each member once), and for
    each the group that holds it directly."""
    out = dict(t.members[group_id])
    holders = dict.fromkeys(out, group_id)
    for nested in t.nested_groups(group_id):
        for mid, member in t.members[nested].items():
            if mid not in out:
                out[mid] = member
                holders[mid] = nested
    return out, holders


def get_member(call: Call) -> Answer:
    group = find_group(call, call.params["groupKey"])
    mid, member = _find_member(call, group)
    return 200, render_member(call.tenant, group["id"], mid, member, delivery=True)


def insert_member(call: Call) -> Answer:
    t = call.tenant
    group = find_group(call, call.params["groupKey"])
    body = call.body()
    mid, member_type, external = new_member(t, group, body, call.settling)
    role = _role(body.get("role"), "MEMBER")
    delivery = _delivery(body.get("delivery_settings"), None)
    if mid in t.members[group["id"]] or held_member(t, group["id"], body.get("email") or ""):
        # Also another spelling of a Gmail member, or an address held by a member listed
        # without status.
        raise duplicate("Member already exists.")
    member = t.put_member(group["id"], mid, role, member_type, delivery, external)
    return 200, render_member(t, group["id"], mid, member, delivery=True)


def update_member(call: Call) -> Answer:
    return _change_member(call)


def patch_member(call: Call) -> Answer:
    return _change_member(call)


def _change_member(call: Call) -> Answer:
    # update and patch alike: fields the body leaves out keep their values (our choice).
    t = call.tenant
    group = find_group(call, call.params["groupKey"])
    mid, member = _find_member(call, group)
    body = call.body()
    role = _role(body.get("role"), member.role)
    delivery = _delivery(body.get("delivery_settings"), member.delivery_settings)
    new = t.put_member(group["id"], mid, role, member.type, delivery)
    return 200, render_member(t, group["id"], mid, new, delivery=True)


def delete_member(call: Call) -> Answer:
    group = find_group(call, call.params["groupKey"])
    mid, _ = _find_member(call, group, removing=True)
    call.tenant.delete_member(group["id"], mid)
    return 204, None


def has_member(call: Call) -> Answer:
    t = call.tenant
    group = find_group(call, call.params["groupKey"])
    key = call.params["memberKey"]
    mid = None if call.settling(key.lower()) else member_key(t, key)
    if mid is None:
        if "@" in key and not t.in_domain(key.lower()):
            return 200, {"isMember": False}
        raise not_found("memberKey")
    gid = group["id"]
    if mid in t.members[gid] or held_member(t, gid, key):
        return 200, {"isMember": True}
    nested = list(t.nested_groups(gid))
    if nested and mid in t.external_emails and not t.in_domain(t.external_emails[mid]):
        # Google: nested checks need member and group in the same domain.
        raise invalid("Invalid Input: memberKey")
    return 200, {"isMember": any(mid in t.members[g] for g in nested)}

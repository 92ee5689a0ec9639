"""Read the actual State from the Directory API, with as few calls as the API allows, and
refuse to return anything built from a short read.

Calls: users ceil(N/500) pages, recently deleted users ceil(D/500) pages (at least one, to
learn there are none), groups ceil(G/200), org units 1, the ownership schema 1, and for each
group Git manages that has members, ceil(M/200) member pages, read through batch requests
(many groups per HTTP round trip).

A plan (session.plan_for) adds to this read one `domains.list` (domains.py) and, after the
diff, one lookup per key of each planned create (verify.py: one per create without previous
emails, none when nothing is created), since no listing here carries a total to check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.google.client import Call, GoogleApiError, GoogleClient
from reconciler.google.mapping import (
    GROUP_FIELDS,
    MEMBER_FIELDS,
    ORG_UNIT_FIELDS,
    USER_FIELDS,
    group_from_api,
    member_from_api,
    org_unit_from_api,
    user_from_api,
)
from reconciler.google.marker import SCHEMA, has_marker_field
from reconciler.progress import Progress
from reconciler.state import Group, Member, State, User

USERS_PAGE = 500
GROUPS_PAGE = 200
MEMBERS_PAGE = 200
# About this many member pages are requested before their answers are filed.
MEMBER_PAGES_AT_ONCE = 1000


class ShortReadError(GoogleApiError):
    """A listing came back incomplete: acting on it could suspend or remove the unread."""


@dataclass
class Actual:
    """The tenant as read, and what the reading cost."""

    state: State
    marker_schema: bool  # the ownership schema exists (else no account can carry the marker)
    calls: int = 0
    http_requests: int = 0
    retries: int = 0
    # Addresses (primary and alias, lower-case) -> primary email, for users and for groups.
    user_addresses: dict[str, str] = field(default_factory=dict)
    group_addresses: dict[str, str] = field(default_factory=dict)


def fetch_actual(
    client: GoogleClient,
    *,
    customer: str,
    domains: Iterable[str],
    managed_groups: Callable[[Group], bool] | None,
    progress: Callable[[str], Progress] = Progress,
) -> Actual:
    """Read users, org units, the ownership schema and groups; members only of the groups
    `managed_groups` accepts (None: no groups at all, as with group_management off)."""
    before = (client.stats.api_calls, client.stats.http_requests, client.stats.retries)
    state = State()
    marker_schema = _marker_schema_exists(client, customer)
    actual = Actual(state, marker_schema)
    _read_users(client, customer, marker_schema, actual, progress("Reading users"))
    _read_deleted_users(client, customer, marker_schema, state)
    units = _pages(client, lambda _t: _org_units_request(client, customer), "organizationUnits")
    for label, ou in units:
        unit = converted(org_unit_from_api, ou, label)
        state.org_units[unit.path] = unit
    if managed_groups is not None:
        _read_groups(client, customer, actual, progress("Reading groups"))
        managed = [g for g in state.groups.values() if managed_groups(g)]
        _read_members(client, managed, state, progress("Reading members"))
    _cross_check(actual, {d.lower() for d in domains})
    actual.calls = client.stats.api_calls - before[0]
    actual.http_requests = client.stats.http_requests - before[1]
    actual.retries = client.stats.retries - before[2]
    return actual


def _marker_schema_exists(client: GoogleClient, customer: str) -> bool:
    request = client.service.schemas().get(customerId=customer, schemaKey=SCHEMA)
    outcome = client.execute(Call(request, f"schemas.get {SCHEMA}"))
    if outcome.ok:
        return converted(has_marker_field, outcome.body or {}, f"schemas.get {SCHEMA}")
    if outcome.status == 404:
        return False
    raise GoogleApiError(f"schemas.get {SCHEMA}: {outcome.error}")


def _pages(client: GoogleClient, make: Callable[[str | None], Any], item: str):
    """Items of a sequential paged listing, each (label, resource): only objects."""
    token: str | None = None
    while True:
        request = make(token)
        label = request.methodId.removeprefix("directory.")
        body = client.must(Call(request, label)) or {}
        yield from ((label, r) for r in listed(body, item, label))
        token = body.get("nextPageToken")
        if token is not None and not isinstance(token, str):
            raise MalformedAnswer(f"{label}: nextPageToken is {_kind(token)}, not text")
        if not token:
            return


class MalformedAnswer(GoogleApiError):
    """An answer without the shape of the Directory API's (a wrong endpoint, a broken proxy)."""


def listed(body: Any, item: str, label: str) -> list[dict[str, Any]]:
    """The `item` list of an answer, every entry an object; MalformedAnswer otherwise."""
    items = body.get(item, []) if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise MalformedAnswer(f"{label}: {item} is {_kind(items)}, not a list{_HINT}")
    for i, entry in enumerate(items):
        if not isinstance(entry, dict):
            raise MalformedAnswer(f"{label}: {item}[{i}] is {_kind(entry)}, not an object{_HINT}")
    return items


def converted(convert: Callable[[dict[str, Any]], Any], resource: dict[str, Any], label: str):
    """`convert(resource)`, or MalformedAnswer naming the call when the resource lacks a
    field or has one of another type."""
    try:
        return convert(resource)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        why = f"no {exc.args[0]}" if isinstance(exc, KeyError) and exc.args else str(exc)
        raise MalformedAnswer(f"{label}: an entry of an unexpected shape: {why}{_HINT}") from None


_HINT = "; is the endpoint the Directory API? (check provider.endpoint)"


def _kind(value: Any) -> str:
    names = {str: "text", list: "a list", dict: "an object", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"the number {value!r}"[:40]
    return names.get(type(value), type(value).__name__)


def _org_units_request(client: GoogleClient, customer: str):
    return client.service.orgunits().list(
        customerId=customer, type="all", fields=f"organizationUnits({ORG_UNIT_FIELDS})"
    )


def _marker_projection(marker_schema: bool) -> dict[str, str]:
    return {"projection": "custom", "customFieldMask": SCHEMA} if marker_schema else {}


def _read_users(
    client: GoogleClient, customer: str, marker_schema: bool, actual: Actual, shown: Progress
) -> None:
    users = client.service.users()
    extra = _marker_projection(marker_schema)

    def page(token: str | None):
        return users.list(
            customer=customer,
            maxResults=USERS_PAGE,
            pageToken=token,
            fields=f"nextPageToken,users({USER_FIELDS})",
            **extra,
        )

    for label, resource in _pages(client, page, "users"):
        _index(converted(user_from_api, resource, label), actual.state.users, actual.user_addresses)
        shown.add()
    shown.done()
    if not actual.state.users:
        # Every tenant has at least the admin this tool acts as: an empty list is a failure.
        raise ShortReadError(
            "users.list returned no users at all, yet every tenant has an admin: refusing "
            "to plan from what looks like a failed read; check the customer id and scopes"
        )


def _read_deleted_users(
    client: GoogleClient, customer: str, marker_schema: bool, state: State
) -> None:
    """The accounts Google can still restore (`showDeleted=true` lists deleted users only,
    those deleted less than 20 days ago), by primary email; of several deleted accounts
    that had one address, the most recently deleted one (its restore window ends last)."""
    users = client.service.users()

    def page(token: str | None):
        return users.list(
            customer=customer,
            showDeleted="true",
            maxResults=USERS_PAGE,
            pageToken=token,
            fields=f"nextPageToken,users({USER_FIELDS},deletionTime)",
            **_marker_projection(marker_schema),
        )

    for label, resource in _pages(client, page, "users"):
        gone = replace(
            converted(user_from_api, resource, label), deletion_time=resource.get("deletionTime")
        )
        known = state.deleted_users.get(gone.email)
        if known is None or (gone.deletion_time or "") > (known.deletion_time or ""):
            state.deleted_users[gone.email] = gone


def _index(found: User | Group, table: dict, addresses: dict[str, str]) -> None:
    """Keep a listed user or group by its email, and every address of it (primary and
    aliases) in the lookup the short-read cross-check uses."""
    table[found.email] = found
    addresses[found.email] = found.email
    for alias in found.aliases or ():
        addresses[alias] = found.email


def _read_groups(client: GoogleClient, customer: str, actual: Actual, shown: Progress) -> None:
    groups = client.service.groups()

    def page(token: str | None):
        return groups.list(
            customer=customer,
            maxResults=GROUPS_PAGE,
            pageToken=token,
            fields=f"nextPageToken,groups({GROUP_FIELDS})",
        )

    for label, resource in _pages(client, page, "groups"):
        found = converted(group_from_api, resource, label)
        _index(found, actual.state.groups, actual.group_addresses)
        shown.add()
    shown.done()


def _read_members(client: GoogleClient, groups: list[Group], state: State, shown: Progress) -> None:
    """Every member of `groups`, first pages in batches, then further pages the same way."""
    members: dict[str, dict[str, Member]] = {g.email: {} for g in groups}
    todo: list[tuple[Group, str | None]] = [(g, None) for g in groups if g.direct_members_count]
    while todo:
        following: list[tuple[Group, str | None]] = []
        # A slice at a time, its answers turned into members before the next is read: the
        # parsed pages of every group at once would be the largest thing a plan holds. The
        # slice is whole batches, so slicing costs no extra round trip.
        batch = client.batch_limit
        at_once = max(1, MEMBER_PAGES_AT_ONCE // batch) * batch
        for start in range(0, len(todo), at_once):
            pages = todo[start : start + at_once]
            following += _read_member_pages(client, pages, members, shown)
        todo = following
    shown.done()
    for group in groups:
        read = members[group.email]
        expected = group.direct_members_count or 0
        if len(read) != expected:
            raise ShortReadError(
                f"members.list {group.email}: read {len(read)} members but the group's "
                f"directMembersCount is {expected}; refusing to plan from a partial listing "
                "(if members changed during the read, run again)"
            )
        state.groups[group.email] = replace(group, members=dict(sorted(read.items())))


def _read_member_pages(
    client: GoogleClient,
    pages: list[tuple[Group, str | None]],
    members: dict[str, dict[str, Member]],
    shown: Progress,
) -> list[tuple[Group, str | None]]:
    """Read one member page of each group (batched); file the members, and return the
    groups with a further page."""
    api = client.service.members()
    calls = [
        Call(
            api.list(
                groupKey=g.id or g.email,
                maxResults=MEMBERS_PAGE,
                pageToken=token,
                fields=f"nextPageToken,members({MEMBER_FIELDS})",
            ),
            f"members.list {g.email}",
        )
        for g, token in pages
    ]
    outcomes = client.execute_all(calls)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        first = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise GoogleApiError(f"{first.call.label}: {first.error}{more}")
    following: list[tuple[Group, str | None]] = []
    for (group, _), outcome in zip(pages, outcomes, strict=True):
        body = outcome.body or {}
        label = outcome.call.label
        listing = listed(body, "members", label)
        for resource in listing:
            member = converted(member_from_api, resource, label)
            members[group.email][member.email] = member
        shown.add(len(listing))
        token = body.get("nextPageToken")
        if token is not None and not isinstance(token, str):
            raise MalformedAnswer(f"{label}: nextPageToken is {_kind(token)}, not text")
        if token:
            following.append((group, token))
    return following


def _cross_check(actual: Actual, domains: set[str]) -> None:
    """Listings carry no totals, so check them against the other references we read: a
    user or group member in our domains that Google lists with a status (an account is
    behind it) but that the users or groups listing lacks means a short read (Google removes
    the memberships of a deleted user or group).

    Google lists some members without status: addresses added before any account had them,
    or whose account is gone (GAM 4.93.00, `removedomainnostatusmembers`). Those name no
    account, so their absence from the listings is no evidence; the plan keeps them as they
    are. The customer (type CUSTOMER) and external addresses are not in any listing."""
    missing: list[str] = []
    for group in actual.state.groups.values():
        for member in group.members.values():
            if member.status is None or member.email.rpartition("@")[2] not in domains:
                continue
            if member.type == "USER" and member.email not in actual.user_addresses:
                missing.append(f"user {member.email} (a member of {group.email})")
            elif member.type == "GROUP" and member.email not in actual.group_addresses:
                missing.append(f"group {member.email} (a member of {group.email})")
    # Managers are not checked: Google keeps a relation to a deleted user as plain text.
    if missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        raise ShortReadError(
            f"the listings look incomplete: {shown} exist but were not listed; refusing to plan "
            "from a partial read (run again; if it persists, check the customer id)"
        )

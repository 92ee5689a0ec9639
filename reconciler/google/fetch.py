"""Read the actual State from the Directory API, with as few calls as the API allows, and
refuse to return anything built from a short read.

Calls: users ceil(N/500) pages, recently deleted users ceil(D/500) pages (at least one, to
learn there are none), groups ceil(G/200), org units 1, the ownership schema 1, and for each
group Git manages that has members, ceil(M/200) member pages, read through batch requests
(many groups per HTTP round trip).

A plan (session.plan_for) adds to this read one `domains.list` (domains.py) and, after the
diff, one lookup per key of each planned create (verify.py: one per create without previous
emails, none when nothing is created), since no listing here carries a total to check.

Google's listings lag its writes by seconds (docs/emulator.md, "Eventual consistency beyond
creates"), so a read right after an apply may disagree with itself: a group's members with
its directMembersCount, a member with the users or groups listing. Before refusing such a
read as a short one, the fetch reads again what disagrees, waiting a little longer each
time (RetryPolicy.settle_delays, 30 s in all by default): a get by key says which side is
behind (found: the users or groups listing, read again; not found: that group's members,
read again with a fresh count). Only what still disagrees then is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, NoReturn

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
from reconciler.google.marker import FIELD, SCHEMA, schema_fields
from reconciler.progress import Progress
from reconciler.state import Group, Member, OrgUnit, State, User

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
    # The fields the ownership schema holds (apply adds the missing ones before writing).
    marker_fields: frozenset[str] = frozenset()
    calls: int = 0
    http_requests: int = 0
    retries: int = 0
    # Addresses (primary and alias, lower-case) -> primary email, for users and for groups.
    user_addresses: dict[str, str] = field(default_factory=dict)
    group_addresses: dict[str, str] = field(default_factory=dict)
    # What disagreed at first and was read again until it agreed (empty: the first read
    # agreed with itself); a sign that listings were behind recent writes.
    reread: list[str] = field(default_factory=list)


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
    fields = marker_schema_fields(client, customer)
    actual = Actual(state, FIELD in fields, fields)
    reader = _Reader(client, customer, actual, managed_groups, progress)
    reader.everything()
    reader.settle({d.lower() for d in domains})
    actual.calls = client.stats.api_calls - before[0]
    actual.http_requests = client.stats.http_requests - before[1]
    actual.retries = client.stats.retries - before[2]
    return actual


def marker_schema_fields(client: GoogleClient, customer: str) -> frozenset[str]:
    """The fields of the ownership schema (none when it does not exist)."""
    request = client.service.schemas().get(customerId=customer, schemaKey=SCHEMA)
    outcome = client.execute(Call(request, f"schemas.get {SCHEMA}"))
    if outcome.ok:
        return converted(schema_fields, outcome.body or {}, f"schemas.get {SCHEMA}")
    if outcome.status == 404:
        return frozenset()
    raise GoogleApiError(f"schemas.get {SCHEMA}: {outcome.error}")


def list_pages(client: GoogleClient, make: Callable[[str | None], Any], item: str):
    """Items of a sequential paged listing (only objects)."""
    for _, resource in _pages(client, make, item):
        yield resource


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


def read_org_units(client: GoogleClient, customer: str) -> dict[str, OrgUnit]:
    """Every org unit, by path (one call: the listing is not paged)."""

    def request(_token: str | None):
        return client.service.orgunits().list(
            customerId=customer, type="all", fields=f"organizationUnits({ORG_UNIT_FIELDS})"
        )

    units: dict[str, OrgUnit] = {}
    for label, ou in _pages(client, request, "organizationUnits"):
        unit = converted(org_unit_from_api, ou, label)
        units[unit.path] = unit
    return units


def marker_projection(marker_schema: bool) -> dict[str, str]:
    return {"projection": "custom", "customFieldMask": SCHEMA} if marker_schema else {}


def _read_users(
    client: GoogleClient, customer: str, marker_schema: bool, actual: Actual, shown: Progress
) -> None:
    users = client.service.users()
    extra = marker_projection(marker_schema)

    def page(token: str | None):
        return users.list(
            customer=customer,
            maxResults=USERS_PAGE,
            pageToken=token,
            fields=f"nextPageToken,users({USER_FIELDS})",
            **extra,
        )

    for label, resource in _pages(client, page, "users"):
        index_found(
            converted(user_from_api, resource, label), actual.state.users, actual.user_addresses
        )
        shown.add()
    shown.done()
    if not actual.state.users:
        # Every tenant has at least the admin this tool acts as: an empty list is a failure.
        raise ShortReadError(
            "users.list returned no users at all, yet every tenant has an admin: refusing "
            "to plan from what looks like a failed read; check the customer id and scopes"
        )


def read_deleted_users(
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
            **marker_projection(marker_schema),
        )

    for label, resource in _pages(client, page, "users"):
        gone = replace(
            converted(user_from_api, resource, label), deletion_time=resource.get("deletionTime")
        )
        known = state.deleted_users.get(gone.email)
        if known is None or (gone.deletion_time or "") > (known.deletion_time or ""):
            state.deleted_users[gone.email] = gone


def index_found(found: User | Group, table: dict, addresses: dict[str, str]) -> None:
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
        index_found(found, actual.state.groups, actual.group_addresses)
        shown.add()
    shown.done()


class _Reader:
    """The reads of one fetch, and reading again what disagrees until it agrees."""

    def __init__(
        self,
        client: GoogleClient,
        customer: str,
        actual: Actual,
        managed_groups: Callable[[Group], bool] | None,
        progress: Callable[[str], Progress],
    ):
        self.client = client
        self.customer = customer
        self.actual = actual
        self.managed_groups = managed_groups
        self.progress = progress
        self.members_read: set[str] = set()  # groups whose members were read
        self.gone: set[str] = set()  # groups listed, but gone when their members were read

    def everything(self) -> None:
        self.users()
        self.deleted_users()
        self.org_units()
        if self.managed_groups is not None:
            self.groups()

    def org_units(self) -> None:
        self.actual.state.org_units = read_org_units(self.client, self.customer)

    def users(self) -> None:
        actual = self.actual
        actual.state.users, actual.user_addresses = {}, {}
        shown = self.progress("Reading users")
        _read_users(self.client, self.customer, actual.marker_schema, actual, shown)

    def deleted_users(self) -> None:
        state = self.actual.state
        state.deleted_users = {}
        read_deleted_users(self.client, self.customer, self.actual.marker_schema, state)

    def groups(self) -> None:
        actual, managed_groups = self.actual, self.managed_groups
        assert managed_groups is not None
        actual.state.groups, actual.group_addresses = {}, {}
        _read_groups(self.client, self.customer, actual, self.progress("Reading groups"))
        managed = [g for g in actual.state.groups.values() if managed_groups(g)]
        self.members_read, self.gone = set(), set()
        self._members(managed, "Reading members")

    def _members(self, groups: list[Group], label: str) -> None:
        gone = read_members(self.client, groups, self.actual.state, self.progress(label))
        self.members_read.update(g.email for g in groups)
        self.gone = (self.gone - {g.email for g in groups}) | gone

    def settle(self, domains: set[str]) -> None:
        """Refuse a read that disagrees with itself, once reading again what disagrees, for
        as long as the retry policy's settle_delays allow, has not made it agree. A read
        that had to wait is then made again whole, once: listings were behind writes moments
        ago, and the parts that agreed may be behind the same writes (a user deleted with
        their memberships is still listed)."""
        waits: Iterator[float] = self.client.retry.settle_delays()
        waited = 0.0
        again = True
        while True:
            found = _Disagreements.of(self.actual, domains, self.members_read, self.gone)
            if found.none and waited and again:
                again = False
                self.everything()
                continue
            if found.none:
                return
            wait = next(waits, None)
            if wait is None:
                found.refuse(waited)
            self.actual.reread.append(found.summary)
            shown = self.progress("Listings disagree")
            shown.note(f"{found.summary}; reading again in {wait:.2f} s")
            self.client.retry.sleep(wait)
            waited += wait
            self._read_again(found)

    def _read_again(self, found: _Disagreements) -> None:
        """Read again the side of each disagreement that is behind: a get by key tells."""
        again = {g.email: g for g, _ in found.counts}
        users_behind = groups_behind = False
        for kind, missing in (("user", found.users), ("group", found.groups)):
            exists = self._exist(kind, [email for email, _ in missing])
            for email, holder in missing:
                if exists.get(email):  # the listing is behind (or short): read it again
                    users_behind = users_behind or kind == "user"
                    groups_behind = groups_behind or kind == "group"
                elif email in exists:  # gone: the member listing is behind
                    again[holder.email] = holder
        if users_behind:
            self.users()
        groups_behind = groups_behind or bool(found.gone)
        if groups_behind or (again and self._groups_behind(list(again.values()))):
            self.groups()

    def _exist(self, kind: str, missing: list[str]) -> dict[str, bool]:
        """Whether missing users or groups exist, by a get each: the first few only (one
        found is enough to read the listing again; the rest are asked next round)."""
        asked = list(dict.fromkeys(missing))[:GETS_AT_ONCE]
        if kind == "user":
            users = self.client.service.users()
            calls = [Call(users.get(userKey=e, fields="id"), f"users.get {e}") for e in asked]
        else:
            groups = self.client.service.groups()
            calls = [Call(groups.get(groupKey=e, fields="id"), f"groups.get {e}") for e in asked]
        found: dict[str, bool] = {}
        for email, outcome in zip(asked, self.client.execute_all(calls), strict=True):
            if not outcome.ok and outcome.status != 404:
                raise GoogleApiError(f"{outcome.call.label}: {outcome.error}")
            found[email] = outcome.ok
        return found

    def _groups_behind(self, groups: list[Group]) -> bool:
        """Read these groups again, each with its members and a fresh count; True when the
        groups listing itself is behind (one of them is gone or renamed)."""
        api = self.client.service.groups()
        calls = [
            Call(api.get(groupKey=g.id or g.email, fields=GROUP_FIELDS), f"groups.get {g.email}")
            for g in groups
        ]
        fresh: list[Group] = []
        for group, outcome in zip(groups, self.client.execute_all(calls), strict=True):
            if not outcome.ok:
                if outcome.status == 404:
                    return True
                raise GoogleApiError(f"{outcome.call.label}: {outcome.error}")
            got = converted(group_from_api, outcome.body or {}, outcome.call.label)
            if got.email != group.email:
                return True
            fresh.append(got)
        state = self.actual.state
        for group in fresh:
            state.groups[group.email] = group
        self._members(fresh, "Reading members again")
        return bool(self.gone)


GETS_AT_ONCE = 20


@dataclass
class _Disagreements:
    """What a read says that contradicts the rest of it."""

    # (group, members read) where they differ from the group's directMembersCount
    counts: list[tuple[Group, int]]
    # (address, the group listing it as a member) missing from the users or groups listing
    users: list[tuple[str, Group]]
    groups: list[tuple[str, Group]]
    # groups listed, but gone (404) when their members were read
    gone: list[str]

    @classmethod
    def of(
        cls, actual: Actual, domains: set[str], members_read: set[str], gone: set[str]
    ) -> _Disagreements:
        counts = [
            (g, len(g.members))
            for g in actual.state.groups.values()
            if g.email in members_read
            and g.email not in gone
            and len(g.members) != (g.direct_members_count or 0)
        ]
        users, groups = _cross_check(actual, domains)
        return cls(counts, users, groups, sorted(gone))

    @property
    def none(self) -> bool:
        return not (self.counts or self.users or self.groups or self.gone)

    @property
    def summary(self) -> str:
        parts = [
            f"members.list {g.email}: {n} of {g.direct_members_count or 0}" for g, n in self.counts
        ]
        parts += [f"user {e} not listed" for e, _ in self.users]
        parts += [f"group {e} not listed" for e, _ in self.groups]
        parts += [f"group {e} listed but gone" for e in self.gone]
        return ", ".join(parts[:3]) + (f" and {len(parts) - 3} more" if len(parts) > 3 else "")

    def refuse(self, waited: float) -> NoReturn:
        after = (
            f" (still so after reading again for {waited:.1f} s, in case listings were behind "
            "recent writes)"
            if waited
            else ""
        )
        if self.counts:
            group, read = self.counts[0]
            raise short_members(group, read, after)
        if self.gone:
            raise ShortReadError(
                f"groups.list listed {', '.join(self.gone[:3])}, but members.list says it is "
                f"gone; refusing to plan from a listing that is behind (run again){after}"
            )
        missing = [f"user {e} (a member of {g.email})" for e, g in self.users]
        missing += [f"group {e} (a member of {g.email})" for e, g in self.groups]
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        raise ShortReadError(
            f"the listings look incomplete: {shown} exist but were not listed; refusing to plan "
            f"from a partial read (run again; if it persists, check the customer id){after}"
        )


def short_members(group: Group, read: int, after: str = "") -> ShortReadError:
    """The refusal of a group whose members listed are not as many as its count says."""
    return ShortReadError(
        f"members.list {group.email}: read {read} members but the group's "
        f"directMembersCount is {group.direct_members_count or 0}; refusing to plan "
        f"from a partial listing (if members changed during the read, run again){after}"
    )


def read_members(
    client: GoogleClient, groups: list[Group], state: State, shown: Progress
) -> set[str]:
    """Every member of `groups`, first pages in batches, then further pages the same way;
    the groups that turned out to be gone (404)."""
    members: dict[str, dict[str, Member]] = {g.email: {} for g in groups}
    gone: set[str] = set()
    todo: list[tuple[Group, str | None]] = [(g, None) for g in groups if g.direct_members_count]
    shown.of(len(todo), "groups")  # counted as each group's last page is read
    while todo:
        following: list[tuple[Group, str | None]] = []
        # A slice at a time, its answers turned into members before the next is read: the
        # parsed pages of every group at once would be the largest thing a plan holds. The
        # slice is whole batches, so slicing costs no extra round trip.
        batch = client.batch_limit
        at_once = max(1, MEMBER_PAGES_AT_ONCE // batch) * batch
        for start in range(0, len(todo), at_once):
            pages = todo[start : start + at_once]
            following += _read_member_pages(client, pages, members, gone, shown)
        todo = following
    shown.done()
    for group in groups:
        read = members[group.email]
        state.groups[group.email] = replace(group, members=dict(sorted(read.items())))
    return gone


def _read_member_pages(
    client: GoogleClient,
    pages: list[tuple[Group, str | None]],
    members: dict[str, dict[str, Member]],
    gone: set[str],
    shown: Progress,
) -> list[tuple[Group, str | None]]:
    """Read one member page of each group (batched); file the members (or, for a group
    that is gone, its address in `gone`), and return the groups with a further page."""
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
    for (group, _), outcome in zip(pages, outcomes, strict=True):
        if outcome.status == 404 and not outcome.ok:
            gone.add(group.email)  # deleted since the groups listing (or it is behind)
            shown.add()
    failed = [o for o in outcomes if not o.ok and o.status != 404]
    if failed:
        first = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise GoogleApiError(f"{first.call.label}: {first.error}{more}")
    following: list[tuple[Group, str | None]] = []
    for (group, _), outcome in zip(pages, outcomes, strict=True):
        if not outcome.ok:
            continue
        body = outcome.body or {}
        label = outcome.call.label
        listing = listed(body, "members", label)
        for resource in listing:
            member = converted(member_from_api, resource, label)
            members[group.email][member.email] = member
        token = body.get("nextPageToken")
        if token is not None and not isinstance(token, str):
            raise MalformedAnswer(f"{label}: nextPageToken is {_kind(token)}, not text")
        if token:
            following.append((group, token))
        else:
            shown.add()
    return following


def _cross_check(
    actual: Actual, domains: set[str]
) -> tuple[list[tuple[str, Group]], list[tuple[str, Group]]]:
    """Listings carry no totals, so check them against the other references we read: a
    user or group member in our domains that Google lists with a status (an account is
    behind it) but that the users or groups listing lacks means a short read, or a listing
    behind a recent write (Google removes the memberships of a deleted user or group). The
    (address, group) pairs of the users and of the groups missing.

    Google lists some members without status: addresses added before any account had them,
    or whose account is gone (GAM 4.93.00, `removedomainnostatusmembers`). Those name no
    account, so their absence from the listings is no evidence; the plan keeps them as they
    are. The customer (type CUSTOMER) and external addresses are not in any listing."""
    users: list[tuple[str, Group]] = []
    groups: list[tuple[str, Group]] = []
    for group in actual.state.groups.values():
        for member in group.members.values():
            if member.status is None or member.email.rpartition("@")[2] not in domains:
                continue
            if member.type == "USER" and member.email not in actual.user_addresses:
                users.append((member.email, group))
            elif member.type == "GROUP" and member.email not in actual.group_addresses:
                groups.append((member.email, group))
    # Managers are not checked: Google keeps a relation to a deleted user as plain text.
    return users, groups

"""The Directory API's semantics without HTTP: one call in, one ApiResponse out.

    api = DirectoryApi(store, clock=time.time, consistency_delay_s=0.0)
    api.call("GET", "users/jo%40example.com", {"projection": ["full"]}, None)
    -> ApiResponse(status=200, body={...User...}, method_id="directory.users.get")

`path` is the part after `/admin/directory/v1/`, still percent-encoded; `query` is
`urllib.parse.parse_qs` output; `body` the raw request body. Every call runs under the
store's lock and its writes form one journal entry. Success bodies follow the discovery
document's schemas, errors Google's JSON error shape; `fields` is honoured.

The Data Transfer API runs through the same object over the same tenant:
`api.call("GET", "transfers", {}, None, service=DATATRANSFER)`, `path` then relative to
`/admin/datatransfer/v1/` (api_datatransfer.py). A transfer stays inProgress for
`api.transfer_delay_s` after its insert, then shows completed. So does the Licensing API
(`service=LICENSING`, `path` relative to `/apps/licensing/v1/`; api_licensing.py), and the
Groups Settings API (`service=GROUPSSETTINGS`, `path` relative to `/groups/v1/groups/`;
api_groupssettings.py).

Short reads, for testing a client's guard against partial listings: set
`api.short_listing = {"users": 1, "members": 2}` (collection -> how many items every
listing of that collection leaves out at its end; collections: users, groups, members,
orgunits, domains; a count above the collection's size lists nothing at all). A users
listing then ends its page sequence early, without an error or a nextPageToken; a member
listing returns fewer members than the group's directMembersCount. `{}` (the default)
turns it off. Gets (users.get, groups.get, orgunits.get…) still find what is left out.

Listing lag, as Google's listings lag its writes: set `api.listing_lag_s = 0.3` and for 0.3 s
after a write users.list, groups.list, members.list and orgunits.list show what it changed
as it was before (a new item not at all, a deleted one still); gets show it as it is. A
group's directMembersCount is counted when it is read, so a member listing that lags
disagrees with it. See lag.py.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from reconciler.emulator import (
    api_datatransfer,
    api_domains,
    api_gmail,
    api_groups,
    api_groupssettings,
    api_licensing,
    api_members,
    api_orgunits,
    api_roles,
    api_schemas,
    api_security,
    api_users,
)
from reconciler.emulator.discovery import check_selection
from reconciler.emulator.errors import ApiError
from reconciler.emulator.fields import parse_fields, select
from reconciler.emulator.lag import ListingLag
from reconciler.emulator.request import Call
from reconciler.emulator.store import StateError, TenantStore
from reconciler.emulator.transfers import DEFAULT_TRANSFER_DELAY_MS

log = logging.getLogger(__name__)

SHORT_LISTING_COLLECTIONS = frozenset({"users", "groups", "members", "orgunits", "domains"})

Handler = Callable[[Call], tuple[int, dict[str, Any] | None]]

_KEY = r"[^/]+"
_ROUTES: list[tuple[str, str, str, Handler]] = [
    ("GET", "users", "directory.users.list", api_users.list_users),
    ("POST", "users", "directory.users.insert", api_users.insert_user),
    ("GET", "users/{userKey}", "directory.users.get", api_users.get_user),
    ("PUT", "users/{userKey}", "directory.users.update", api_users.update_user),
    ("PATCH", "users/{userKey}", "directory.users.patch", api_users.patch_user),
    ("DELETE", "users/{userKey}", "directory.users.delete", api_users.delete_user),
    ("POST", "users/{userKey}/makeAdmin", "directory.users.makeAdmin", api_users.make_admin),
    ("POST", "users/{userKey}/undelete", "directory.users.undelete", api_users.undelete_user),
    ("GET", "users/{userKey}/aliases", "directory.users.aliases.list", api_users.list_user_aliases),
    (
        "POST",
        "users/{userKey}/aliases",
        "directory.users.aliases.insert",
        api_users.insert_user_alias,
    ),
    (
        "DELETE",
        "users/{userKey}/aliases/{alias}",
        "directory.users.aliases.delete",
        api_users.delete_user_alias,
    ),
    ("GET", "groups", "directory.groups.list", api_groups.list_groups),
    ("POST", "groups", "directory.groups.insert", api_groups.insert_group),
    ("GET", "groups/{groupKey}", "directory.groups.get", api_groups.get_group),
    ("PUT", "groups/{groupKey}", "directory.groups.update", api_groups.update_group),
    ("PATCH", "groups/{groupKey}", "directory.groups.patch", api_groups.patch_group),
    ("DELETE", "groups/{groupKey}", "directory.groups.delete", api_groups.delete_group),
    (
        "GET",
        "groups/{groupKey}/aliases",
        "directory.groups.aliases.list",
        api_groups.list_group_aliases,
    ),
    (
        "POST",
        "groups/{groupKey}/aliases",
        "directory.groups.aliases.insert",
        api_groups.insert_group_alias,
    ),
    (
        "DELETE",
        "groups/{groupKey}/aliases/{alias}",
        "directory.groups.aliases.delete",
        api_groups.delete_group_alias,
    ),
    ("GET", "groups/{groupKey}/members", "directory.members.list", api_members.list_members),
    ("POST", "groups/{groupKey}/members", "directory.members.insert", api_members.insert_member),
    (
        "GET",
        "groups/{groupKey}/members/{memberKey}",
        "directory.members.get",
        api_members.get_member,
    ),
    (
        "PUT",
        "groups/{groupKey}/members/{memberKey}",
        "directory.members.update",
        api_members.update_member,
    ),
    (
        "PATCH",
        "groups/{groupKey}/members/{memberKey}",
        "directory.members.patch",
        api_members.patch_member,
    ),
    (
        "DELETE",
        "groups/{groupKey}/members/{memberKey}",
        "directory.members.delete",
        api_members.delete_member,
    ),
    (
        "GET",
        "groups/{groupKey}/hasMember/{memberKey}",
        "directory.members.hasMember",
        api_members.has_member,
    ),
    (
        "GET",
        "customer/{customerId}/orgunits",
        "directory.orgunits.list",
        api_orgunits.list_orgunits,
    ),
    (
        "POST",
        "customer/{customerId}/orgunits",
        "directory.orgunits.insert",
        api_orgunits.insert_orgunit,
    ),
    (
        "GET",
        "customer/{customerId}/orgunits/{+orgUnitPath}",
        "directory.orgunits.get",
        api_orgunits.get_orgunit,
    ),
    (
        "PUT",
        "customer/{customerId}/orgunits/{+orgUnitPath}",
        "directory.orgunits.update",
        api_orgunits.update_orgunit,
    ),
    (
        "PATCH",
        "customer/{customerId}/orgunits/{+orgUnitPath}",
        "directory.orgunits.patch",
        api_orgunits.patch_orgunit,
    ),
    (
        "DELETE",
        "customer/{customerId}/orgunits/{+orgUnitPath}",
        "directory.orgunits.delete",
        api_orgunits.delete_orgunit,
    ),
    ("GET", "customer/{customer}/domains", "directory.domains.list", api_domains.list_domains),
    (
        "GET",
        "customer/{customer}/domains/{domainName}",
        "directory.domains.get",
        api_domains.get_domain,
    ),
    (
        "GET",
        "customer/{customer}/domainaliases",
        "directory.domainAliases.list",
        api_domains.list_domain_aliases,
    ),
    (
        "GET",
        "customer/{customer}/domainaliases/{domainAliasName}",
        "directory.domainAliases.get",
        api_domains.get_domain_alias,
    ),
    ("GET", "customer/{customerId}/schemas", "directory.schemas.list", api_schemas.list_schemas),
    (
        "POST",
        "customer/{customerId}/schemas",
        "directory.schemas.insert",
        api_schemas.insert_schema,
    ),
    (
        "GET",
        "customer/{customerId}/schemas/{schemaKey}",
        "directory.schemas.get",
        api_schemas.get_schema,
    ),
    (
        "PUT",
        "customer/{customerId}/schemas/{schemaKey}",
        "directory.schemas.update",
        api_schemas.update_schema,
    ),
    (
        "PATCH",
        "customer/{customerId}/schemas/{schemaKey}",
        "directory.schemas.patch",
        api_schemas.patch_schema,
    ),
    (
        "DELETE",
        "customer/{customerId}/schemas/{schemaKey}",
        "directory.schemas.delete",
        api_schemas.delete_schema,
    ),
    *api_security.ROUTES,
    *api_roles.ROUTES,
]

DIRECTORY = "directory"
DATATRANSFER = "datatransfer"
LICENSING = "licensing"
GROUPSSETTINGS = "groupssettings"
GMAIL = "gmail"
# The APIs served: name -> its routes, relative to `admin/<name>/v1/` (the Licensing API's
# to `apps/licensing/v1/`, the Groups Settings API's to `groups/v1/groups/`).
SERVICES: dict[str, list[tuple[str, str, str, Handler]]] = {
    DIRECTORY: _ROUTES,
    DATATRANSFER: api_datatransfer.ROUTES,
    LICENSING: api_licensing.ROUTES,
    GROUPSSETTINGS: api_groupssettings.ROUTES,
    GMAIL: api_gmail.ROUTES,
}


def _compile(template: str) -> re.Pattern[str]:
    """A discovery path template as a regex: {x} is one segment, {+x} the rest."""
    pattern = re.sub(r"\{\+(\w+)\}", r"(?P<\1>.+)", template)
    pattern = re.sub(r"\{(\w+)\}", rf"(?P<\1>{_KEY})", pattern)
    return re.compile(pattern)


_COMPILED = {
    service: [(m, _compile(t), method_id, handler) for m, t, method_id, handler in routes]
    for service, routes in SERVICES.items()
}


@dataclass(frozen=True)
class ApiResponse:
    """One answer: HTTP status, JSON body (None for 204) and the discovery method id."""

    status: int
    body: dict[str, Any] | None
    method_id: str


class DirectoryApi:
    """The Directory API over a TenantStore: routing, consistency delay, short reads."""

    def __init__(
        self,
        store: TenantStore,
        clock: Callable[[], float] = time.time,
        consistency_delay_s: float = 0.0,
    ):
        """`clock`: epoch seconds (inject one in tests). `consistency_delay_s`: how long a
        new user or group stays unusable by other calls, as in Google."""
        self.store = store
        self.clock = clock
        self.consistency_delay_s = consistency_delay_s
        # collection -> items every listing of it leaves out at its end (see module doc).
        self.short_listing: dict[str, int] = {}
        # How long listings lag writes (see module doc), and what they still show.
        self.listing_lag_s = 0.0
        self._lag = ListingLag()
        self._created_at: dict[str, float] = {}
        # How long an address a call released (a removed alias, a deleted user's or group's
        # addresses) cannot be claimed again: 409 duplicate, as Google answers while it
        # frees it. 0: free at once. Not persisted, like the consistency delay.
        self.address_hold_s = 0.0
        self._released_at: dict[str, float] = {}
        # How long a data transfer stays inProgress before it shows completed (the time is
        # stored with the transfer, so it survives a restart; transfers.py).
        self.transfer_delay_s = DEFAULT_TRANSFER_DELAY_MS / 1000
        # The messages the Gmail API sent (api_gmail.py), oldest first: in memory only.
        self.sent: list[dict[str, Any]] = []

    @property
    def consistency_delay_ms(self) -> float:
        """The consistency delay in milliseconds (the serve option's unit)."""
        return self.consistency_delay_s * 1000

    @consistency_delay_ms.setter
    def consistency_delay_ms(self, value: float) -> None:
        self.consistency_delay_s = value / 1000

    @property
    def address_hold_ms(self) -> float:
        """The address hold in milliseconds (the serve option's unit)."""
        return self.address_hold_s * 1000

    @address_hold_ms.setter
    def address_hold_ms(self, value: float) -> None:
        self.address_hold_s = value / 1000

    @property
    def transfer_delay_ms(self) -> float:
        """How long a data transfer stays inProgress, in milliseconds (the option's unit)."""
        return self.transfer_delay_s * 1000

    @transfer_delay_ms.setter
    def transfer_delay_ms(self, value: float) -> None:
        self.transfer_delay_s = value / 1000

    def method_id_for(self, http_method: str, path: str, service: str = DIRECTORY) -> str:
        """The discovery method id a request would run, or 'unknown'."""
        return self.route_of(http_method, path, service)[0]

    def route_of(
        self, http_method: str, path: str, service: str = DIRECTORY
    ) -> tuple[str, dict[str, str]]:
        """The discovery method id a request would run ('unknown' if none) and its path keys
        (userKey, groupKey…)."""
        route = self._route(http_method, path, service)
        return (route[0], route[2]) if route else ("unknown", {})

    def call(
        self,
        http_method: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes | None,
        service: str = DIRECTORY,
        subject_id: str | None = None,
    ) -> ApiResponse:
        """Run one API call of `service` (DIRECTORY: `path` relative to
        admin/directory/v1/; DATATRANSFER: to admin/datatransfer/v1/; LICENSING: to
        apps/licensing/v1/; GROUPSSETTINGS: to groups/v1/groups/; GMAIL: to gmail/v1/,
        `subject_id` the user its token acts as); never raises for anything a client can
        send."""
        route = self._route(http_method, path, service)
        if route is None:
            return ApiResponse(404, ApiError(404, "notFound", "Not Found").body(), "unknown")
        method_id, handler, params = route
        query = query or {}
        try:
            fields = query.get("fields")
            selection = parse_fields(fields[-1]) if fields and fields[-1] else None
            if selection is not None:
                check_selection(method_id, selection)
            with self.store.transaction() as tenant:
                now = self.clock()
                call = Call(
                    tenant=tenant,
                    params=params,
                    query=query,
                    raw_body=body,
                    now=now,
                    rng=self.store.rng,
                    settling=lambda id_: self._settling(id_, now),
                    created=lambda id_: self._created(id_, now),
                    short_listing=dict(self.short_listing),
                    lagged=self._lag.visible,
                    held=lambda address: self._held(address, now),
                    transfer_delay_s=self.transfer_delay_s,
                    subject_id=subject_id,
                    sent=self.sent,
                )
                tenant.on_change = self._watch(now)
                try:
                    status, out = handler(call)
                finally:
                    tenant.on_change = None
                # Under the lock: no claim can slip in between. Should the writes not be
                # saved, the addresses stay taken anyway: the hold changes nothing then.
                self._release(call.released, now)
        except ApiError as exc:
            return ApiResponse(exc.code, exc.body(), method_id)
        except StateError as exc:  # the tenant could not be saved: nothing of it stays
            message = f"The service is currently unavailable. ({exc})"
            return ApiResponse(503, ApiError(503, "backendError", message).body(), method_id)
        except Exception:  # a bug here must answer like Google's backend, not kill a thread
            log.exception("emulator: %s %s failed", http_method, path)
            return ApiResponse(
                500, ApiError(500, "backendError", "Backend Error").body(), method_id
            )
        if selection is not None and out is not None:
            out = select(out, selection)
        return ApiResponse(status, out, method_id)

    def snapshot(self) -> dict[str, Any]:
        """The whole tenant in the seed format (for /_emulator/state)."""
        return self.store.snapshot()

    def reset(self) -> None:
        """Back to the seed; forget which resources are still settling."""
        with self.store.lock:
            self.store.reset()
            self._created_at.clear()
            self._lag.clear()
            self._released_at.clear()
            self.sent.clear()

    # ---- internals -----------------------------------------------------------------

    def _route(
        self, http_method: str, path: str, service: str = DIRECTORY
    ) -> tuple[str, Handler, dict[str, str]] | None:
        path = path.lstrip("/")
        method = http_method.upper()
        table = _COMPILED[service]
        for route_method, pattern, method_id, handler in table:
            if route_method != method:
                continue
            m = pattern.fullmatch(path)
            if m:
                return method_id, handler, {k: unquote(v) for k, v in m.groupdict().items()}
        return None

    def _watch(self, now: float) -> Callable[[str, object, object], None] | None:
        """What the tenant tells of the changes a call makes: nothing without a lag."""
        lag_s = self.listing_lag_s
        if lag_s <= 0:
            if len(self._lag):
                self._lag.clear()
            return None
        self._lag.expire(now, lag_s)
        lag = self._lag
        return lambda collection, key, before: lag.record(now, collection, key, before)

    def _settling(self, id_: str, now: float) -> bool:
        created = self._created_at.get(id_)
        if created is None:
            return False
        if now - created >= self.consistency_delay_s:
            del self._created_at[id_]
            return False
        return True

    def _held(self, address: str, now: float) -> bool:
        released = self._released_at.get(address)
        if released is None:
            return False
        if now - released >= self.address_hold_s:
            del self._released_at[address]
            return False
        return True

    def _release(self, addresses: list[str], now: float) -> None:
        # Forget what is free again: the oldest first (insertion order is release order).
        released_at = self._released_at
        while released_at:
            oldest = next(iter(released_at))
            if now - released_at[oldest] < self.address_hold_s:
                break
            del released_at[oldest]
        if self.address_hold_s > 0:
            for address in addresses:
                released_at.pop(address, None)  # re-inserted: keeps the order by time
                released_at[address] = now

    def _created(self, id_: str, now: float) -> None:
        # Forget what has settled: the oldest first (insertion order is creation order).
        created_at = self._created_at
        while created_at:
            oldest = next(iter(created_at))
            if now - created_at[oldest] < self.consistency_delay_s:
                break
            del created_at[oldest]
        if self.consistency_delay_s > 0:
            created_at[id_] = now

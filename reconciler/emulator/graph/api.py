"""`GraphApi`: one request to Graph v1.0 or to the token endpoint, answered.

`handle(method, target, headers, body) -> (status, headers, body)` serves:
- `GET /{tenant}/v2.0/.well-known/openid-configuration`, `POST /{tenant}/oauth2/v2.0/token`
  and `GET /common/discovery/instance` (the instance metadata msal reads to learn the
  authority host's aliases before it caches a token or reports an error) (see auth.py);
- `/v1.0/users`, `/v1.0/groups…` and `POST /v1.0/$batch` (see batch.py), each needing a
  Bearer token of this tenant with a permission allowing the call (auth.py).

Groups (https://learn.microsoft.com/en-us/graph/api/group-post-groups?view=graph-rest-1.0):
- `POST /groups`: `displayName` (≤256), `mailNickname` (≤64, ASCII, none of
  `@ ( ) \\ [ ] " ; : < > ,` nor space), `mailEnabled` and `securityEnabled` (booleans) are
  required; a mail-enabled group that is not a Microsoft 365 (`Unified`) one is refused,
  "Cannot Create a mail-enabled security groups and or distribution list."
  (https://github.com/pnp/cli-microsoft365/issues/5476); `members@odata.bind` and
  `owners@odata.bind` take 20 relationships at most; binding users needs User.Read.All as
  well. Any other property is refused ("Invalid property"), since the tool sends none.
  Duplicate display names are allowed: nothing documents that Graph enforces uniqueness,
  and Terraform's opt-in duplicate check implies it does not.
- `PATCH /groups/{id}` (displayName, description, mailNickname, `members@odata.bind`, which
  is all or nothing: https://github.com/microsoftgraph/microsoft-graph-docs/issues/11514),
  `DELETE /groups/{id}`: 204.
- Open extensions (https://learn.microsoft.com/en-us/graph/extensibility-overview): at most
  two per app per object, 2 KB each (both refused 400; the codes are UNVERIFIED); the same
  extensionName twice is 409 `NameAlreadyExists` (code UNVERIFIED). PATCH replaces the
  custom properties (UNVERIFIED whether Graph merges instead).

Members (https://learn.microsoft.com/en-us/graph/api/group-post-members?view=graph-rest-1.0 ;
https://learn.microsoft.com/en-us/graph/api/group-delete-members?view=graph-rest-1.0):
- `GET /groups/{id}/members`: direct members, each with `@odata.type`.
- `POST /groups/{id}/members/$ref`: 204; already a member 400 "One or more added object
  references already exist for the following modified properties: 'members'."
  (https://github.com/microsoftgraph/microsoft-graph-docs/issues/8637); an unknown object
  404; a Microsoft 365 group as member of a security group, or a group in itself, 400.
- `DELETE /groups/{id}/members/{oid}/$ref`: 204; a non-member is 404
  `Request_ResourceNotFound` naming the group
  (https://github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/4847).
- `DELETE /groups/{id}/members/{oid}` WITHOUT `/$ref` deletes the member object itself in
  Graph (group-delete-members). The emulator refuses it, 400, so that a client bug that
  would delete users cannot pass a test.

Faults (off by default; `configure(**)` or the attributes):
- `throttle_every=N`: every Nth Graph call (a single call or a batch item; counted from
  the `configure` call that sets it; calls without a valid token do not count) answers 429
  `TooManyRequests` with `Retry-After: throttle_retry_after` (seconds; a throttled batch
  item has it in its own headers: https://learn.microsoft.com/en-us/graph/throttling).
- `create_lag_s`: for that long after a group is created it is not yet replicated
  (https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/):
  reads and listings do not show it (404 for a read), member adds on it (or of it) answer
  400 "The source resource object or one of the objects being referenced don't exist.",
  other writes 404. The POST's own answer shows it.
- `fail_next`: a list of `(method_regex, path_regex, status)`; the next call matching one
  (method whole, path searched, the path including `/v1.0`) answers `status` once.

`stats()` counts calls by "METHOD /v1.0/template" (batch items each, and the envelope as
`POST /v1.0/$batch`), token grants and refusals, and throttled answers.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from reconciler.emulator.graph import auth
from reconciler.emulator.graph import batch as batchmod
from reconciler.emulator.graph.errors import (
    GraphError,
    TokenError,
    bad_request,
    invalid_property_value,
    not_found,
)
from reconciler.emulator.graph.query import context_suffix, parse_query, project
from reconciler.emulator.graph.resources import (
    GROUP_PROPERTIES,
    OPEN_EXTENSION_TYPE,
    USER_PROPERTIES,
    extension_json,
    group_json,
    member_json,
    user_json,
)
from reconciler.emulator.graph.tenant import Extension, GraphTenant, Group, User, now_utc

GRAPH_BASE = "https://graph.microsoft.com"
LOGIN_BASE = "https://login.microsoftonline.com"
JSON_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
    "charset=utf-8"
)
MAX_BINDINGS = 20
MAX_DISPLAY_NAME = 256
MAX_NICKNAME = 64
NICKNAME_FORBIDDEN = set('@()\\[]";:<>, ')
MAX_EXTENSIONS_PER_APP = 2
MAX_EXTENSION_BYTES = 2048
ALREADY_MEMBER = (
    "One or more added object references already exist for the following modified "
    "properties: 'members'."
)
NOT_REPLICATED = "The source resource object or one of the objects being referenced don't exist."
DELETE_WITHOUT_REF = (
    "DELETE /groups/{{id}}/members/{{memberId}} without '/$ref' deletes the member object "
    "itself in Microsoft Graph, not the membership. The emulator refuses it: remove a member "
    "with DELETE /groups/{id}/members/{member}/$ref."
)
GROUP_CREATE_KEYS = frozenset(
    {
        "displayName",
        "description",
        "mailEnabled",
        "mailNickname",
        "securityEnabled",
        "groupTypes",
        "members@odata.bind",
        "owners@odata.bind",
    }
)
GROUP_PATCH_KEYS = frozenset({"displayName", "description", "mailNickname", "members@odata.bind"})
GROUP_TYPES = frozenset({"Unified"})

_TOKEN_PATH = re.compile(r"^/([^/]+)/oauth2/v2\.0/token$")
_OPENID_PATH = re.compile(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$")
INSTANCE_DISCOVERY_PATH = "/common/discovery/instance"
_REF = re.compile(r"^(directoryObjects|users|groups)/([0-9A-Fa-f-]{36})$")
FAULT_OPTIONS = ("throttle_every", "throttle_retry_after", "create_lag_s", "fail_next")


@dataclass(frozen=True)
class Answer:
    """One Graph call's answer before it is put on the wire (or into a batch)."""

    status: int
    body: Any = None  # JSON value; None: no body
    headers: Mapping[str, str] = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    template: str
    handler: Callable[..., Answer]
    allowed: frozenset[str]


class GraphApi:
    """Graph v1.0 and the token endpoint over one `GraphTenant`; see the module docstring."""

    def __init__(
        self,
        tenant: GraphTenant,
        *,
        graph_base: str = GRAPH_BASE,
        login_base: str = LOGIN_BASE,
    ) -> None:
        self.tenant = tenant
        self.graph_base = graph_base.rstrip("/")
        self.login_base = login_base.rstrip("/")
        self.tokens = auth.Tokens()
        self.throttle_every: int | None = None
        self.throttle_retry_after: float = 0.01
        self.create_lag_s: float = 0.0
        # What create_lag_s is measured by (tests set a fake one, so the lag does not
        # depend on how fast the machine is).
        self.clock: Callable[[], float] = time.monotonic
        self.fail_next: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()  # stats and faults
        self._requests: Counter[str] = Counter()
        self._token_grants = 0
        self._token_refusals = 0
        self._throttled = 0
        self._calls = 0
        self._created: dict[str, float] = {}  # group id -> `clock` time of its creation
        self._routes = self._make_routes()

    # -- options and stats -----------------------------------------------------------------

    def configure(self, **changes: Any) -> None:
        """Set fault options (see the module docstring); ValueError for a bad one."""
        unknown = sorted(set(changes) - set(FAULT_OPTIONS))
        if unknown:
            raise ValueError(f"unknown Graph fault option(s) {unknown}: use {FAULT_OPTIONS}")
        every = changes.get("throttle_every", self.throttle_every)
        if every is not None and (not isinstance(every, int) or every < 1):
            raise ValueError("throttle_every must be a positive integer or None")
        for name in ("throttle_retry_after", "create_lag_s"):
            value = changes.get(name, getattr(self, name))
            if not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a number of seconds, at least 0")
        fail_next = [tuple(f) for f in changes.get("fail_next", self.fail_next)]
        for entry in fail_next:
            if len(entry) != 3 or not isinstance(entry[2], int):
                raise ValueError("fail_next entries are (method_regex, path_regex, status)")
            re.compile(entry[0])
            re.compile(entry[1])
        with self._lock:
            for name, value in changes.items():
                setattr(self, name, value)
            self.fail_next = list(fail_next)  # type: ignore[arg-type]
            if "throttle_every" in changes:
                self._calls = 0  # "every Nth" counts from the change

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self._requests),
                "token_grants": self._token_grants,
                "token_refusals": self._token_refusals,
                "throttled": self._throttled,
            }

    def reset_stats(self) -> None:
        with self._lock:
            self._requests.clear()
            self._token_grants = self._token_refusals = self._throttled = self._calls = 0

    # -- the wire ----------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one HTTP request: status, headers, body bytes."""
        path, _, query = target.partition("?")
        method = method.upper()
        client_request_id = _header(headers, "client-request-id") or str(uuid.uuid4())
        if match := _TOKEN_PATH.match(path):
            if method != "POST":
                return _json(405, {"error": "invalid_request"})
            try:
                answer = auth.grant_token(
                    self.tenant, self.tokens, self.login_base, match.group(1), body or b""
                )
            except TokenError as exc:
                with self._lock:
                    self._token_refusals += 1
                return _json(exc.status, exc.body())
            with self._lock:
                self._token_grants += 1
            return _json(200, answer, {"Cache-Control": "no-store, no-cache"})
        if match := _OPENID_PATH.match(path):
            try:
                config = auth.openid_configuration(self.tenant, self.login_base, match.group(1))
            except TokenError as exc:
                return _json(exc.status, exc.body())
            return _json(200, config)
        if path == INSTANCE_DISCOVERY_PATH and method == "GET":
            return _json(200, auth.instance_metadata(self.login_base, self.tenant.tenant_id))
        if not path.startswith("/v1.0/"):
            return self._wire(
                GraphError(404, "BadRequest", f"Resource not found for the segment '{path}'."),
                client_request_id,
            )
        authorization = _header(headers, "Authorization")
        if unquote(path) == "/v1.0/$batch":
            with self._lock:
                self._requests["POST /v1.0/$batch" if method == "POST" else f"{method} ?"] += 1
            if method != "POST":
                return self._wire(_method_not_allowed(), client_request_id)
            answer = batchmod.run_batch(self, authorization, headers, body, client_request_id)
        else:
            answer = self.call(
                method,
                path[len("/v1.0") :],
                query,
                headers,
                body,
                authorization,
                client_request_id,
            )
        return self._wire(answer, client_request_id)

    def _wire(
        self, answer: Answer | GraphError, client_request_id: str
    ) -> tuple[int, dict[str, str], bytes]:
        if isinstance(answer, GraphError):
            answer = self.error_answer(answer, client_request_id)
        headers = {"request-id": str(uuid.uuid4()), "client-request-id": client_request_id}
        headers.update(answer.headers or {})
        if answer.body is None:
            return answer.status, headers, b""
        headers["Content-Type"] = JSON_TYPE
        return answer.status, headers, json.dumps(answer.body, separators=(",", ":")).encode()

    def error_answer(self, exc: GraphError, client_request_id: str) -> Answer:
        return Answer(exc.status, exc.body(str(uuid.uuid4()), client_request_id), exc.headers)

    # -- one Graph call (single or batch item) -----------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes | None,
        authorization: str | None,
        client_request_id: str,
    ) -> Answer:
        """One Graph call; `path` is relative to `/v1.0` (e.g. `/groups/{id}`)."""
        path = unquote(path)
        route, args = self._route(method, path)
        template = route.template if route else "?"
        with self._lock:
            self._requests[f"{method} /v1.0{template}"] += 1
        try:
            grant = self.tokens.grant(authorization)
            self._fault(method, "/v1.0" + path)
            if route is None:
                raise self._no_route(method, path)
            auth.require(grant, route.allowed)
            payload = _json_body(method, headers, body)
            with self.tenant.lock:
                answer = route.handler(grant, query, payload, *args)
                if method != "GET" and answer.status < 300:
                    self.tenant.save()
            return answer
        except GraphError as exc:
            if exc.status == 429:
                with self._lock:
                    self._throttled += 1
            return self.error_answer(exc, client_request_id)

    def _fault(self, method: str, path: str) -> None:
        with self._lock:
            self._calls += 1
            if self.throttle_every and self._calls % self.throttle_every == 0:
                raise throttled(self.throttle_retry_after)
            for i, (method_re, path_re, status) in enumerate(self.fail_next):
                if re.fullmatch(method_re, method) and re.search(path_re, path):
                    del self.fail_next[i]
                    if status == 429:
                        raise throttled(self.throttle_retry_after)
                    raise GraphError(
                        status, _FAULT_CODES.get(status, "UnknownError"), "Injected fault."
                    )

    def _route(self, method: str, path: str) -> tuple[Route | None, tuple[str, ...]]:
        for route in self._routes:
            if route.method == method and (match := route.pattern.fullmatch(path)):
                return route, match.groups()
        return None, ()

    def _no_route(self, method: str, path: str) -> GraphError:
        if any(r.pattern.fullmatch(path) for r in self._routes):
            return _method_not_allowed()
        segment = path.strip("/").split("/")[0] if path.strip("/") else path
        return GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")

    def _make_routes(self) -> list[Route]:
        gid = r"/groups/([^/]+)"
        table = [
            ("GET", r"/users", "/users", self._list_users, auth.READ_USERS),
            ("GET", r"/users/([^/]+)", "/users/{id}", self._get_user, auth.READ_USERS),
            ("GET", r"/groups", "/groups", self._list_groups, auth.READ_GROUPS),
            ("POST", r"/groups", "/groups", self._create_group, auth.CREATE_GROUPS),
            ("GET", gid, "/groups/{id}", self._get_group, auth.READ_GROUPS),
            ("PATCH", gid, "/groups/{id}", self._update_group, auth.WRITE_GROUPS),
            ("DELETE", gid, "/groups/{id}", self._delete_group, auth.WRITE_GROUPS),
            (
                "GET",
                gid + r"/extensions",
                "/groups/{id}/extensions",
                self._list_extensions,
                auth.READ_GROUPS,
            ),
            (
                "POST",
                gid + r"/extensions",
                "/groups/{id}/extensions",
                self._create_extension,
                auth.WRITE_GROUPS,
            ),
            (
                "GET",
                gid + r"/extensions/([^/]+)",
                "/groups/{id}/extensions/{name}",
                self._get_extension,
                auth.READ_GROUPS,
            ),
            (
                "PATCH",
                gid + r"/extensions/([^/]+)",
                "/groups/{id}/extensions/{name}",
                self._update_extension,
                auth.WRITE_GROUPS,
            ),
            (
                "DELETE",
                gid + r"/extensions/([^/]+)",
                "/groups/{id}/extensions/{name}",
                self._delete_extension,
                auth.WRITE_GROUPS,
            ),
            (
                "GET",
                gid + r"/members",
                "/groups/{id}/members",
                self._list_members,
                auth.READ_GROUPS,
            ),
            (
                "POST",
                gid + r"/members/\$ref",
                "/groups/{id}/members/$ref",
                self._add_member,
                auth.WRITE_MEMBERS,
            ),
            (
                "DELETE",
                gid + r"/members/([^/]+)/\$ref",
                "/groups/{id}/members/{id}/$ref",
                self._remove_member,
                auth.WRITE_MEMBERS,
            ),
            (
                "DELETE",
                gid + r"/members/([^/$][^/]*)",
                "/groups/{id}/members/{id}",
                self._refuse_member_delete,
                auth.WRITE_MEMBERS,
            ),
        ]
        return [Route(m, re.compile(p), t, h, a) for m, p, t, h, a in table]

    # -- lookups -----------------------------------------------------------------------------

    def _context(self, suffix: str) -> str:
        return f"{self.graph_base}/v1.0/$metadata#{suffix}"

    def _lagging(self, group_id: str) -> bool:
        created = self._created.get(group_id)
        return created is not None and self.clock() - created < self.create_lag_s

    def _group(self, group_id: str) -> Group:
        group = self.tenant.groups.get(group_id.lower())
        if group is None or self._lagging(group.id):
            raise not_found(group_id)
        return group

    def _visible_groups(self) -> list[Group]:
        return sorted(
            (g for g in self.tenant.groups.values() if not self._lagging(g.id)),
            key=lambda g: g.id,
        )

    def _reference(self, url: Any, prop: str) -> User | Group:
        """The object an `@odata.id`/`@odata.bind` URL names; 400 malformed, 404 unknown."""
        if not isinstance(url, str):
            raise bad_request(f"Invalid URL format specified in {prop}.")
        rest = None
        for base in {self.graph_base, GRAPH_BASE}:
            if url.startswith(base + "/v1.0/"):
                rest = url[len(base) + len("/v1.0/") :]
        match = _REF.match(rest or "")
        if match is None:
            raise bad_request(f"Invalid URL format specified in {prop}.")  # wording UNVERIFIED
        kind, object_id = match.group(1), match.group(2).lower()
        obj = self.tenant.object(object_id)
        if (
            obj is None
            or (kind == "users" and not isinstance(obj, User))
            or (kind == "groups" and not isinstance(obj, Group))
        ):
            raise not_found(match.group(2))
        if isinstance(obj, Group) and self._lagging(obj.id):
            raise bad_request(NOT_REPLICATED)
        return obj

    def _check_member(self, group: Group, member: User | Group) -> None:
        if isinstance(member, Group):
            if member.id == group.id:
                raise bad_request("A group cannot be a member of itself.")  # wording UNVERIFIED
            if member.unified:
                raise bad_request(  # wording UNVERIFIED; group-post-members lists member types
                    "A Microsoft 365 group cannot be a member of another group."
                )
            if group.unified:
                raise bad_request("A Microsoft 365 group can have users as members only.")
        if member.id in group.members:
            raise bad_request(ALREADY_MEMBER)

    # -- users -------------------------------------------------------------------------------

    def _list_users(self, grant: auth.Grant, query: str, payload: Any) -> Answer:
        q = parse_query(
            query,
            type_name="microsoft.graph.user",
            properties=USER_PROPERTIES,
            filterable=frozenset({"userPrincipalName", "mail", "id"}),
        )
        users = sorted(self.tenant.users.values(), key=lambda u: u.id)
        if q.filter:
            prop, value = q.filter
            users = [u for u in users if (getattr(u, prop) or "").lower() == value.lower()]
        return self._page("users", users, q, lambda u: project(user_json(u), q.select))

    def _get_user(self, grant: auth.Grant, query: str, payload: Any, user_id: str) -> Answer:
        q = parse_query(query, type_name="microsoft.graph.user", properties=USER_PROPERTIES)
        user = self.tenant.users.get(user_id.lower())
        if user is None:  # Graph also finds users by UPN here
            user = next(
                (
                    u
                    for u in self.tenant.users.values()
                    if u.userPrincipalName.lower() == user_id.lower()
                ),
                None,
            )
        if user is None:
            raise not_found(user_id)
        body = {
            "@odata.context": f"{self.graph_base}/v1.0/$metadata#"
            + context_suffix("users", q.select)
            + "/$entity",
            **project(user_json(user), q.select),
        }
        return Answer(200, body)

    def _page(self, collection: str, items: list, q, render: Callable, context=None) -> Answer:
        if q.after is not None:
            items = [i for i in items if i.id > q.after]
        page, more = items[: q.top], len(items) > q.top
        body: dict[str, Any] = {
            "@odata.context": f"{self.graph_base}/v1.0/$metadata#"
            + (context or context_suffix(collection, q.select)),
            "value": [render(i) for i in page],
        }
        if more:
            body["@odata.nextLink"] = (
                f"{self.graph_base}/v1.0/{collection}?$skiptoken={q.token(page[-1].id)}"
            )
        return Answer(200, body)

    # -- groups ------------------------------------------------------------------------------

    def _group_query(self, query: str, filterable: frozenset[str] = frozenset()):
        return parse_query(
            query,
            type_name="microsoft.graph.group",
            properties=GROUP_PROPERTIES - {"extensions"},
            filterable=filterable,
            expandable=frozenset({"extensions"}),
        )

    def _render_group(self, group: Group, q) -> dict[str, Any]:
        out = group_json(group, extensions="extensions" in q.expand)
        return project(out, q.select, keep=("extensions",))

    def _list_groups(self, grant: auth.Grant, query: str, payload: Any) -> Answer:
        q = self._group_query(query, frozenset({"displayName", "mailNickname", "id"}))
        groups = self._visible_groups()
        if q.filter:
            prop, value = q.filter
            groups = [g for g in groups if (getattr(g, prop) or "").lower() == value.lower()]
        return self._page("groups", groups, q, lambda g: self._render_group(g, q))

    def _get_group(self, grant: auth.Grant, query: str, payload: Any, group_id: str) -> Answer:
        q = self._group_query(query)
        group = self._group(group_id)
        body = {
            "@odata.context": f"{self.graph_base}/v1.0/$metadata#"
            + context_suffix("groups", q.select)
            + "/$entity",
            **self._render_group(group, q),
        }
        return Answer(200, body)

    def _bindings(self, payload: dict, grant: auth.Grant) -> tuple[list, list]:
        members_raw = payload.get("members@odata.bind", [])
        owners_raw = payload.get("owners@odata.bind", [])
        for prop, raw in (("members@odata.bind", members_raw), ("owners@odata.bind", owners_raw)):
            if not isinstance(raw, list):
                raise bad_request(f"Invalid value for property '{prop}': expected a list.")
        if len(members_raw) + len(owners_raw) > MAX_BINDINGS:
            raise bad_request(  # the limit is documented (group-post-groups); wording UNVERIFIED
                f"A request can add at most {MAX_BINDINGS} relationships (members@odata.bind "
                "and owners@odata.bind together)."
            )
        members = [self._reference(u, "members@odata.bind") for u in members_raw]
        owners = [self._reference(u, "owners@odata.bind") for u in owners_raw]
        if any(isinstance(o, Group) for o in owners):
            # A group's owners are users or service principals (group-post-groups);
            # wording UNVERIFIED.
            raise bad_request("A group cannot be an owner of a group.")
        if any(isinstance(o, User) for o in members + owners):
            auth.require(grant, auth.READ_USERS)  # group-post-groups: binding users needs it
        return members, owners

    def _create_group(self, grant: auth.Grant, query: str, payload: Any) -> Answer:
        if not isinstance(payload, dict):
            raise bad_request("The request body must be a JSON object.")
        for key in payload:
            if key == "@odata.type" and payload[key] in ("#microsoft.graph.group",):
                continue
            if key not in GROUP_CREATE_KEYS:
                raise bad_request(f"Invalid property '{key}'.")
        name = payload.get("displayName")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_DISPLAY_NAME:
            raise invalid_property_value("displayName")
        nickname = payload.get("mailNickname")
        if not _valid_nickname(nickname):
            raise invalid_property_value("mailNickname")
        description = payload.get("description")
        if description is not None and not isinstance(description, str):
            raise invalid_property_value("description")
        for prop in ("mailEnabled", "securityEnabled"):
            if not isinstance(payload.get(prop), bool):
                raise invalid_property_value(prop)
        group_types = payload.get("groupTypes", [])
        if not isinstance(group_types, list) or not all(t in GROUP_TYPES for t in group_types):
            raise invalid_property_value("groupTypes")  # dynamic membership is not modelled
        if payload["mailEnabled"] and "Unified" not in group_types:
            raise bad_request(
                "Cannot Create a mail-enabled security groups and or distribution list."
            )
        members, owners = self._bindings(payload, grant)
        group = Group(
            id=str(uuid.uuid4()),
            displayName=name,
            mailNickname=nickname,
            description=description,
            securityEnabled=payload["securityEnabled"],
            mailEnabled=payload["mailEnabled"],
            groupTypes=list(group_types),
            createdDateTime=now_utc(),
        )
        for member in members:
            self._check_member(group, member)
            group.members.append(member.id)
        group.owners = [o.id for o in owners]
        self.tenant.groups[group.id] = group
        self._created[group.id] = self.clock()
        body = {
            "@odata.context": f"{self.graph_base}/v1.0/$metadata#groups/$entity",
            **group_json(group),
        }
        return Answer(201, body, {"Location": f"{self.graph_base}/v1.0/groups/{group.id}"})

    def _update_group(self, grant: auth.Grant, query: str, payload: Any, group_id: str) -> Answer:
        group = self._group(group_id)
        if not isinstance(payload, dict):
            raise bad_request("The request body must be a JSON object.")
        for key in payload:
            if key not in GROUP_PATCH_KEYS:
                raise bad_request(f"Invalid property '{key}'.")
        if "displayName" in payload:
            name = payload["displayName"]
            if not isinstance(name, str) or not name.strip() or len(name) > MAX_DISPLAY_NAME:
                raise invalid_property_value("displayName")
        if "mailNickname" in payload and not _valid_nickname(payload["mailNickname"]):
            raise invalid_property_value("mailNickname")
        if "description" in payload and not isinstance(payload["description"], str | None):
            raise invalid_property_value("description")
        members, _ = self._bindings(payload, grant)
        added: list[str] = []
        for member in members:  # all or nothing: every check before any change
            self._check_member(group, member)
            if member.id in added:
                raise bad_request(ALREADY_MEMBER)
            added.append(member.id)
        for key in ("displayName", "description", "mailNickname"):
            if key in payload:
                setattr(group, key, payload[key])
        group.members.extend(added)
        return Answer(204)

    def _delete_group(self, grant: auth.Grant, query: str, payload: Any, group_id: str) -> Answer:
        group = self._group(group_id)
        del self.tenant.groups[group.id]
        self._created.pop(group.id, None)
        for other in self.tenant.groups.values():
            if group.id in other.members:
                other.members.remove(group.id)
        return Answer(204)

    # -- open extensions ---------------------------------------------------------------------

    def _extension(self, group: Group, name: str) -> Extension:
        ext = group.extensions.get(name)
        if ext is None:
            raise not_found(name)
        return ext

    def _extension_props(self, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise bad_request("The request body must be a JSON object.")
        odata_type = str(payload.get("@odata.type", "")).lstrip("#").lower()
        if odata_type != OPEN_EXTENSION_TYPE.lstrip("#").lower():
            raise bad_request(
                "An open extension needs '@odata.type': '#microsoft.graph.openTypeExtension'."
            )
        props = {
            k: v for k, v in payload.items() if k not in ("@odata.type", "extensionName", "id")
        }
        if len(json.dumps(props).encode()) > MAX_EXTENSION_BYTES:
            raise bad_request(  # the 2 KB limit: extensibility-overview; wording UNVERIFIED
                f"An open extension holds at most {MAX_EXTENSION_BYTES} bytes of data."
            )
        return props

    def _list_extensions(self, grant: auth.Grant, query: str, payload: Any, gid: str) -> Answer:
        group = self._group(gid)
        return Answer(
            200,
            {
                "@odata.context": self._context(f"groups('{group.id}')/extensions"),
                "value": [extension_json(e) for e in group.extensions.values()],
            },
        )

    def _create_extension(self, grant: auth.Grant, query: str, payload: Any, gid: str) -> Answer:
        group = self._group(gid)
        props = self._extension_props(payload)
        name = payload.get("extensionName")
        if not isinstance(name, str) or not name:
            raise invalid_property_value("extensionName", "openTypeExtension")
        if name in group.extensions:
            raise GraphError(  # code UNVERIFIED
                409,
                "NameAlreadyExists",
                f"An extension named '{name}' already exists on this object.",
            )
        mine = [e for e in group.extensions.values() if e.app == grant.client_id]
        if len(mine) >= MAX_EXTENSIONS_PER_APP:
            raise bad_request(  # the limit: extensibility-overview; code and wording UNVERIFIED
                f"An app can add at most {MAX_EXTENSIONS_PER_APP} open extensions to one object."
            )
        ext = Extension(name, props, grant.client_id)
        group.extensions[name] = ext
        body = {
            "@odata.context": self._context(f"groups('{group.id}')/extensions/$entity"),
            **extension_json(ext),
        }
        return Answer(201, body)

    def _get_extension(self, grant, query: str, payload: Any, gid: str, name: str) -> Answer:
        ext = self._extension(self._group(gid), name)
        return Answer(200, extension_json(ext))

    def _update_extension(self, grant, query: str, payload: Any, gid: str, name: str) -> Answer:
        ext = self._extension(self._group(gid), name)
        props = self._extension_props(payload)
        if payload.get("extensionName", name) != name:
            raise bad_request("An open extension's extensionName cannot be changed.")
        ext.properties = props
        return Answer(204)

    def _delete_extension(self, grant, query: str, payload: Any, gid: str, name: str) -> Answer:
        group = self._group(gid)
        self._extension(group, name)
        del group.extensions[name]
        return Answer(204)

    # -- members -----------------------------------------------------------------------------

    def _list_members(self, grant: auth.Grant, query: str, payload: Any, gid: str) -> Answer:
        group = self._group(gid)
        q = parse_query(
            query,
            type_name="microsoft.graph.directoryObject",
            properties=USER_PROPERTIES | GROUP_PROPERTIES - {"extensions"},
        )
        objects = sorted(
            (o for o in map(self.tenant.object, group.members) if o is not None),
            key=lambda o: o.id,
        )

        def render(obj: User | Group) -> dict[str, Any]:
            return project(member_json(obj), q.select, keep=("@odata.type",))

        return self._page(f"groups/{group.id}/members", objects, q, render, "directoryObjects")

    def _add_member(self, grant: auth.Grant, query: str, payload: Any, gid: str) -> Answer:
        group = self.tenant.groups.get(gid.lower())
        if group is not None and self._lagging(group.id):
            raise bad_request(NOT_REPLICATED)
        if group is None:
            raise not_found(gid)
        if not isinstance(payload, dict) or set(payload) != {"@odata.id"}:
            raise bad_request('The request body must be {"@odata.id": "<object URL>"}.')
        member = self._reference(payload["@odata.id"], "@odata.id")
        _check_managed_here(group, grant)
        self._check_member(group, member)
        group.members.append(member.id)
        return Answer(204)

    def _remove_member(self, grant, query: str, payload: Any, gid: str, oid: str) -> Answer:
        group = self._group(gid)
        _check_managed_here(group, grant)
        if oid.lower() not in group.members:
            raise not_found(group.id)
        group.members.remove(oid.lower())
        return Answer(204)

    def _refuse_member_delete(self, grant, query: str, payload: Any, gid: str, oid: str) -> Answer:
        raise bad_request(DELETE_WITHOUT_REF.format(id=gid, member=oid))


# A group synced from on-premises Active Directory is changed there, not through Graph
# (https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/how-to-connect-syncservice-features:
# synced objects are mastered on-premises); Graph's words for it.
ON_PREMISES = (
    "Unable to update the specified properties for on-premises mastered Directory Sync "
    "objects or objects currently undergoing migration."
)
# Members of a role-assignable group are changed only with RoleManagement.ReadWrite.Directory
# (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/groups-concept).
ROLE_MANAGEMENT = frozenset({"RoleManagement.ReadWrite.Directory"})


def _check_managed_here(group: Group, grant: auth.Grant) -> None:
    if group.onPremisesSyncEnabled:
        raise bad_request(ON_PREMISES)
    if group.isAssignableToRole and not (set(grant.roles) & ROLE_MANAGEMENT):
        raise GraphError(403, "Authorization_RequestDenied", auth.INSUFFICIENT)


_FAULT_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Authorization_RequestDenied",
    404: "Request_ResourceNotFound",
    409: "Conflict",
    412: "PreconditionFailed",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def throttled(retry_after: float) -> GraphError:
    """429 as Graph throttles (https://learn.microsoft.com/en-us/graph/throttling)."""
    seconds = f"{retry_after:g}"
    return GraphError(
        429,
        "TooManyRequests",
        "Too many requests, please retry after the time given in Retry-After.",
        {"Retry-After": seconds},
    )


def _method_not_allowed() -> GraphError:
    return GraphError(
        405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."
    )


def _valid_nickname(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_NICKNAME
        and value.isascii()
        and not (set(value) & NICKNAME_FORBIDDEN)
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    getter = getattr(headers, "get", None)
    value = getter(name) if getter else None
    if value is None:
        lower = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lower), None)
    return value


def _json_body(method: str, headers: Mapping[str, str], body: bytes | None) -> Any:
    """The JSON payload of a write (None when there is none); 400 if unreadable.

    A body must be typed application/json: the emulator refuses others (415), which also
    keeps a web page's form from driving it.
    """
    if not body:
        return None
    media = (_header(headers, "Content-Type") or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise GraphError(
            415,
            "UnsupportedMediaType",
            f"A request body must be application/json, not {media or 'untyped'}.",
        )
    try:
        return json.loads(body)
    except ValueError:
        raise GraphError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and "
            "payload is of valid JSON format.",
        ) from None


def _json(
    status: int, body: Any, extra: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json; charset=utf-8", **(extra or {})}
    return status, headers, json.dumps(body, separators=(",", ":")).encode()

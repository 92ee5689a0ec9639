"""The emulator over HTTP on loopback: the Directory API, batch, discovery, a token endpoint.

Routes:
- `/admin/directory/v1/...`: one Directory API call, delegated to `DirectoryApi.call`;
  `/admin/datatransfer/v1/...`: one Data Transfer API call, `/apps/licensing/v1/...`: one
  Licensing API call, and `/groups/v1/groups/...`: one Groups Settings API call, to the same
  object (one tenant).
- `POST /batch/groupssettings/v1` (the Groups Settings document's batchPath): its calls only.
- `POST /batch` (the batchPath of the three APIs' discovery documents), `POST
  /batch/admin/directory_v1` (the Directory's older one): up to 1000 calls in Google's
  multipart format (see batch.py); each part is an API call for stats, quota and faults.
  A batch holds the calls of one API only (Google ended heterogeneous batches with its
  global batch endpoints in 2020): a batch that mixes them is refused whole, 400.
- `GET /$discovery/rest?version=directory_v1` (or `datatransfer_v1`), `GET
  /discovery/v1/apis/admin/directory_v1/rest` (or `admin/datatransfer_v1`, or
  `licensing/v1`: the Licensing API's is served on that path only, since its own host's
  `version=v1` would be ambiguous on one host serving three APIs): the discovery
  documents bundled with googleapiclient, with their root URL set to this server, so a
  client built from one sends API calls and batches here.
- `POST /token`: answers a JWT-bearer grant without checking the signature, so service-account
  credentials (domain-wide delegation included) work offline; it checks the assertion's
  subject and scopes as Google does, and every API call (every batch part) needs one of
  its tokens, with a scope that authorizes the method (see auth.py). Neither assertions nor
  tokens are ever logged.
- Microsoft Graph, when the server has a `graph` (a `GraphApi`, see the `graph` package):
  `/v1.0/...`, `POST /{tenant}/oauth2/v2.0/token` and `GET
  /{tenant}/v2.0/.well-known/openid-configuration` (and msal's `GET
  /common/discovery/instance`) are its, answered in Microsoft's shapes
  after the loopback-host and cross-site refusals below (counted in its own stats, which
  `/_emulator/stats` shows under `graph`, with Graph's calls and round trips; a reset
  leaves the Graph side as it is).
- `/gmail/v1/users/{userId}/messages/send`: the Gmail API's send (api_gmail.py), batched at
  `/batch` like the others.
- `/_emulator/stats` (GET), `/_emulator/reset` (POST), `/_emulator/state` (GET),
  `/_emulator/config` (GET; POST a JSON object of options to change them at runtime),
  `/_emulator/messages` (GET: the messages the Gmail API sent, `{"messages": [...]}`).
  These are not counted in the stats and get no latency.

Choices where Google documents nothing: the server binds 127.0.0.1 only and refuses requests
whose Host header names another host (no DNS rebinding from a browser); JSON is answered
compact; errors always use Google's JSON error shape.

No web page can drive it from a browser: requests with an `Origin` that is not a loopback
origin, or with `Sec-Fetch-Site: cross-site`, are refused (403 forbidden), and request
bodies of API calls and of `/_emulator/` POSTs must be `application/json` (415 otherwise;
a batch must be multipart/mixed), which a cross-site form cannot send. googleapiclient and
google-auth (whose `/token` request is form-encoded) send no Origin.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import random
import re
import secrets
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from reconciler.emulator import auth, discovery
from reconciler.emulator import batch as batchfmt
from reconciler.emulator.api import (
    DATATRANSFER,
    DIRECTORY,
    GMAIL,
    GROUPSSETTINGS,
    LICENSING,
    SHORT_LISTING_COLLECTIONS,
    DirectoryApi,
)
from reconciler.emulator.discovery import bundled_discovery_document
from reconciler.emulator.faults import (
    AFTER_FAULT_KINDS,
    DROP,
    DROP_AFTER,
    EmulatorConfig,
    FaultPlan,
    QuotaWindow,
    Stats,
    fault_error,
    google_error,
    quota_error,
)
from reconciler.emulator.journal import StateError

if TYPE_CHECKING:
    from reconciler.emulator.graph.api import GraphApi

HOST = "127.0.0.1"
API_PREFIX = "/admin/directory/v1/"
DATATRANSFER_PREFIX = "/admin/datatransfer/v1/"
LICENSING_PREFIX = "/apps/licensing/v1/"
GROUPSSETTINGS_PREFIX = "/groups/v1/groups/"
GMAIL_PREFIX = "/gmail/v1/"
# Path prefix -> the API (DirectoryApi service) whose calls it holds.
API_PREFIXES = {
    API_PREFIX: DIRECTORY,
    DATATRANSFER_PREFIX: DATATRANSFER,
    LICENSING_PREFIX: LICENSING,
    GROUPSSETTINGS_PREFIX: GROUPSSETTINGS,
    GMAIL_PREFIX: GMAIL,
}
GROUPSSETTINGS_BATCH = "/batch/groupssettings/v1"
# Batch path -> the APIs whose calls it takes (one API per batch, whichever): `/batch` is the
# batchPath of the Directory, Data Transfer and Licensing documents; the Groups Settings
# API's own (on www.googleapis.com at Google) takes its calls only.
BATCH_SERVICES = {
    "/batch": frozenset({DIRECTORY, DATATRANSFER, LICENSING, GMAIL}),
    "/batch/admin/directory_v1": frozenset({DIRECTORY}),
    GROUPSSETTINGS_BATCH: frozenset({GROUPSSETTINGS}),
}
BATCH_PATHS = tuple(BATCH_SERVICES)
# `$discovery/rest?version=` -> the document (the admin host's names).
DISCOVERY_VERSIONS = {
    "directory_v1": discovery.DIRECTORY,
    "datatransfer_v1": discovery.DATATRANSFER,
}
# The discovery service's paths -> the document.
DISCOVERY_DOCUMENTS = {
    "/discovery/v1/apis/admin/directory_v1/rest": discovery.DIRECTORY,
    "/discovery/v1/apis/admin/datatransfer_v1/rest": discovery.DATATRANSFER,
    "/discovery/v1/apis/licensing/v1/rest": discovery.LICENSING,
    "/discovery/v1/apis/groupssettings/v1/rest": discovery.GROUPSSETTINGS,
    "/discovery/v1/apis/gmail/v1/rest": discovery.GMAIL,
}
DISCOVERY_PATHS = ("/$discovery/rest", *DISCOVERY_DOCUMENTS)
API_VERSION = "directory_v1"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
MAX_BODY = 64 * 1024 * 1024
JSON_TYPE = "application/json; charset=UTF-8"
# Connections waiting to be accepted: a burst of clients (a retry storm, many threads)
# must not meet the default of 5, past which Linux drops SYNs (1 s and more of delay).
LISTEN_BACKLOG = 128
# How often the accept loop looks for a stop request: stop() waits up to this long.
POLL_INTERVAL_S = 0.05


@dataclass(frozen=True)
class Reply:
    """What to send back for one HTTP request; `drop` closes the connection unanswered."""

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    drop: bool = False
    headers: tuple[tuple[str, str], ...] = ()  # more response headers (Graph's Retry-After…)


def json_reply(status: int, body: Any) -> Reply:
    if body is None:
        return Reply(status)
    return Reply(status, json.dumps(body, separators=(",", ":")).encode())


def error_reply(status: int, reason: str, message: str) -> Reply:
    return json_reply(status, google_error(status, reason, message))


_DROPPED = Reply(0, drop=True)


class EmulatorServer:
    """The emulator's HTTP server on 127.0.0.1, run in a background thread.

    `with EmulatorServer(api) as server:` starts it on an ephemeral port; `server.base_url`
    is what clients use; leaving the block stops it and persists the tenant.
    """

    def __init__(
        self,
        api: DirectoryApi,
        config: EmulatorConfig | None = None,
        *,
        host: str = HOST,
        port: int = 0,
        persist: Callable[[], None] | None = None,
        graph: GraphApi | None = None,
    ) -> None:
        """Serve `api` with `config` (default: no latency, faults or quota; the API's
        consistency delay and short listings are set from it); `persist` runs after the
        server stops (e.g. the store's close). `graph`, if given (or set later as the
        attribute), answers Microsoft Graph and its token endpoint on the same port."""
        if host != HOST:
            raise ValueError(f"the emulator binds {HOST} only, not {host}")
        self.api = api
        self.graph = graph
        self.port = port
        self._persist = persist
        self._config = EmulatorConfig()
        self._lock = threading.Lock()  # guards stats, quota, faults and config
        self.stats = Stats()
        self.graph_http_requests = 0  # HTTP requests to Graph's /v1.0/ (see stats_json)
        self._quota = QuotaWindow()
        self._faults = FaultPlan(None)
        self._batch_random = random.Random(None)
        self._httpd: _LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._discovery: dict[str, bytes] = {}  # version -> the document as served
        self.tokens = auth.Tokens()
        self.configure(**(config.as_json() if config else {}))

    @classmethod
    def open(
        cls,
        seed: Path | Mapping[str, Any] | None = None,
        state: Path | None = None,
        config: EmulatorConfig | None = None,
        *,
        port: int = 0,
        graph: GraphApi | None = None,
    ) -> EmulatorServer:
        """A server over the tenant in `state` (or, if absent, `seed`: a YAML/JSON file or a
        parsed document; None: empty, domain example.com), persisted to `state` on stop.

        Raises InvalidInput for a bad seed and StateError for an unreadable state file.
        """
        from reconciler.emulator.store import TenantStore

        store = TenantStore(seed=seed, state=state)
        try:
            return cls(DirectoryApi(store), config, port=port, persist=store.close, graph=graph)
        except BaseException:
            store.close()
            raise

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, without a trailing slash."""
        if self._httpd is None:
            raise RuntimeError("the emulator is not running")
        return f"http://{HOST}:{self._httpd.server_address[1]}"

    def start(self) -> str:
        """Bind 127.0.0.1 (port 0: any free port), serve in a daemon thread; the base URL."""
        if self._httpd is not None:
            return self.base_url
        httpd = _LoopbackHTTPServer((HOST, self.port), _Handler)
        httpd.emulator = self
        self._httpd = httpd
        self._discovery = {}  # its root URL names the port
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            args=(POLL_INTERVAL_S,),
            name=f"emulator:{self.base_url}",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving, close open connections, then persist the tenant (and release its
        state file) — also when the server never started."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.close_connections()
            httpd.server_close()  # joins the connection threads
            if self._thread is not None:
                self._thread.join()
                self._thread = None
        persist, self._persist = self._persist, None
        if persist is not None:
            persist()

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- runtime options -------------------------------------------------------------------

    @property
    def config(self) -> EmulatorConfig:
        return self._config

    def configure(self, **changes: Any) -> EmulatorConfig:
        """Change options at runtime; ValueError naming every bad key or value."""
        with self._lock:
            new = self._config.updated(changes)
            unknown = sorted(set(new.short_listing) - SHORT_LISTING_COLLECTIONS)
            if unknown:
                choices = ", ".join(sorted(SHORT_LISTING_COLLECTIONS))
                raise ValueError(
                    f"short_listing names unknown collections {unknown}: use {choices}"
                )
            if "fault_seed" in changes:
                self._faults = FaultPlan(new.fault_seed)
                self._batch_random = random.Random(new.fault_seed)
            self._config = new
            _set_api_options(self.api, new)
        return new

    def reset(self) -> None:
        """Tenant back to its seed, counters and quota window cleared, faults re-seeded."""
        self.api.reset()
        with self._lock:
            self.stats.clear()
            self._quota.clear()
            self._faults = FaultPlan(self._config.fault_seed)
            self._batch_random = random.Random(self._config.fault_seed)

    def messages(self) -> list[dict[str, Any]]:
        """The messages the Gmail API sent (users.messages.send), oldest first: id, from,
        to, cc, bcc, subject and the plain text body. In memory only."""
        return [dict(m) for m in self.api.sent]

    def first_super_admin(self) -> str | None:
        """The tenant's first super admin (by address): a subject that delegation may act as."""
        return auth.first_super_admin(self.api.store)

    def stats_json(self) -> dict[str, Any]:
        with self._lock:
            out = self.stats.as_json()
            out["config"] = self._config.as_json()
            graph_http_requests = self.graph_http_requests
        if self.graph is not None:
            # Graph's counters (GraphApi.stats: requests by template, each $batch item and
            # the envelope as `POST /v1.0/$batch`), with its calls (every item and lone
            # request, envelopes not) and its HTTP round trips (a $batch is one).
            graph = self.graph.stats()
            requests = graph["requests"]
            graph["api_calls"] = sum(requests.values()) - requests.get("POST /v1.0/$batch", 0)
            graph["http_requests"] = graph_http_requests
            out["graph"] = graph
        return out

    # -- request handling ------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Any, body: bytes | None) -> Reply:
        """Answer one HTTP request (called from the connection's thread)."""
        path, _, query = target.partition("?")
        refusal = _cross_site(headers)
        if refusal is None and (path.startswith(("/_emulator/", *API_PREFIXES))):
            refusal = _not_json(method, headers, body)
        if refusal is not None:
            return refusal
        graph = self.graph
        if graph is not None and _graph_path(path):
            from reconciler.emulator.graph.server import graph_reply

            if path.startswith("/v1.0/"):  # Graph's own round trips (a $batch counts once)
                with self._lock:
                    self.graph_http_requests += 1
            return graph_reply(graph, method, target, headers, body)
        if path.startswith("/_emulator/"):
            return self._control(method, path, body)
        with self._lock:
            if path != "/token":  # OAuth, not the API: counted in token_grants instead
                self.stats.http_requests += 1
            latency = self._config.latency_ms
        if latency > 0:
            time.sleep(latency / 1000)
        authorization = headers.get("Authorization")
        if _service_of(path) is not None:
            return self._api_reply(method, path, query, body, authorization, in_batch=False)
        if path in BATCH_PATHS:
            return self._batch(
                method, path, headers.get("Content-Type", ""), body or b"", authorization
            )
        if path in DISCOVERY_PATHS and method == "GET":
            return self._discovery_reply(path, query)
        if path == "/token" and method == "POST":
            return self._token(body or b"")
        return error_reply(404, "notFound", f"Not Found: {method} {path}")

    def _api_reply(
        self,
        method: str,
        path: str,
        query: str,
        body: bytes | None,
        authorization: str | None,
        *,
        in_batch: bool,
    ) -> Reply:
        service = _service_of(path)
        assert service is not None
        relative = path[len(_prefix_of(path)) :]
        try:
            method_id, params = self.api.route_of(method, relative, service)
        except Exception:
            method_id, params = "unknown", {}
        refusal = self._unauthorized(method_id, authorization, params)
        with self._lock:
            config = self._config
            self.stats.api_calls += 1
            self.stats.by_method[method_id] += 1
            if refusal is not None:  # checked before quota: a refused call uses none
                self.stats.by_status[refusal[0]] += 1
                return json_reply(*refusal)
            if not self._quota.admit(config.quota_per_minute):
                self.stats.quota_rejections += 1
                self.stats.by_status[403] += 1
                return json_reply(*quota_error(config.quota_per_minute))
            fault = self._faults.draw(config.fault_rate, config.fault_kinds)
            if fault is not None:
                self.stats.faults_injected += 1
                self.stats.faults_by_kind[fault] += 1
            if fault is not None and fault not in AFTER_FAULT_KINDS:
                if fault == DROP and not in_batch:
                    return _DROPPED
                status, error = fault_error(fault)
                self.stats.by_status[status] += 1
                return json_reply(status, error)
        # A mailbox is its user's: the Gmail API is told whom the token acts as.
        grant = self.tokens.lookup(auth.bearer(authorization)) if service == GMAIL else None
        mailbox = {"subject_id": grant.subject_id} if grant is not None else {}
        try:
            response = self.api.call(
                method, relative, parse_qs(query, keep_blank_values=True), body, service, **mailbox
            )
            status, payload = response.status, response.body
        except Exception as exc:  # a bug in the emulator: say so, keep serving
            traceback.print_exc(file=sys.stderr)
            status, payload = 500, google_error(500, "backendError", f"emulator bug: {exc!r}")
        if fault is not None:  # an after-fault: the call ran, its answer is lost
            if fault == DROP_AFTER and not in_batch:
                return _DROPPED
            status, payload = fault_error(fault)
        with self._lock:
            self.stats.by_status[status] += 1
        return json_reply(status, payload)

    def _unauthorized(
        self, method_id: str, authorization: str | None, params: Mapping[str, str] | None = None
    ) -> tuple[int, dict] | None:
        """401 or 403 for a call its token does not allow; None when it may run. An unknown
        method is not checked: it answers 404 whoever asks. `params`: the call's path keys
        (a delegated admin's org-unit-scoped role looks at the user named)."""
        if method_id == "unknown":
            return None
        grant = self.tokens.lookup(auth.bearer(authorization))
        if grant is None:
            return auth.unauthenticated()
        if auth.api_of(method_id) in self._config.disabled_apis:
            return auth.service_disabled(auth.api_of(method_id))
        if not auth.covers(grant.scopes, method_id):
            return auth.insufficient_scopes()
        if auth.api_of(method_id) == "gmail":
            return None  # a user's own mailbox: api_gmail.py judges the sender
        admins = self._config.admin_service_accounts
        if not auth.may_administer(self.api.store, grant, admins, method_id, params):
            return auth.not_authorized()
        return None

    def _batch(
        self,
        method: str,
        batch_path: str,
        content_type: str,
        body: bytes,
        authorization: str | None = None,
    ) -> Reply:
        if method != "POST":
            return error_reply(405, "methodNotAllowed", "A batch request must be a POST.")
        try:
            parts = batchfmt.parse_batch(content_type, body)
        except batchfmt.BatchFormatError as exc:
            return error_reply(400, "badRequest", f"Invalid batch request: {exc}.")
        services = {_service_of(p.target.partition("?")[0]) for p in parts} - {None}
        if len(services) > 1 or services - BATCH_SERVICES[batch_path]:
            # Google ended heterogeneous batches: one batch, one API (its batch endpoint).
            return error_reply(
                400, "badRequest", "Invalid batch request: a batch holds the calls of one API."
            )
        with self._lock:
            self.stats.batch_requests += 1
            run_order = list(range(len(parts)))
            answer_order = list(range(len(parts)))
            if self._config.batch_order == "shuffle":
                self._batch_random.shuffle(run_order)
                self._batch_random.shuffle(answer_order)
        answered: dict[int, batchfmt.PartResponse] = {}
        for n in run_order:
            part = parts[n]
            path, _, query = part.target.partition("?")
            if _service_of(path) is not None:
                # A part's own Authorization header wins over the batch's (Google: the outer
                # request's headers apply to every part unless the part sets its own).
                part_auth = part.headers.get("authorization", authorization)
                reply = self._api_reply(
                    part.method, path, query, part.body, part_auth, in_batch=True
                )
            else:
                reply = error_reply(
                    404, "notFound", f"Not Found: {part.target} (a batch holds API calls)"
                )
            # The part's number keeps its Content-ID, whatever the order of the answers.
            answered[n] = batchfmt.PartResponse(
                part.content_id or f"<part + {n + 1}>", reply.status, reply.body
            )
        answers = [answered[n] for n in answer_order]
        boundary = f"batch_{secrets.token_hex(12)}"
        content_type, payload = batchfmt.format_batch(boundary, answers)
        return Reply(200, payload, content_type)

    def _discovery_reply(self, path: str, query: str) -> Reply:
        if path == DISCOVERY_PATHS[0]:
            asked = parse_qs(query).get("version", [""])
            version = DISCOVERY_VERSIONS.get(asked[0] if len(asked) == 1 else "", "")
            if not version:
                served = " or ".join(f"version={v}" for v in DISCOVERY_VERSIONS)
                return error_reply(404, "notFound", f"Only {served} is served here.")
        else:
            version = DISCOVERY_DOCUMENTS[path]
        if version not in self._discovery:
            doc = discovery_document(self.base_url, version)
            self._discovery[version] = json.dumps(doc, separators=(",", ":")).encode()
        return Reply(200, self._discovery[version])

    def _token(self, body: bytes) -> Reply:
        form = parse_qs(body.decode("utf-8", "replace"))
        grant = form.get("grant_type", [""])[0]
        if grant != JWT_BEARER:
            return _oauth_error("unsupported_grant_type", f"grant_type must be {JWT_BEARER}")
        claims = jwt_claims(form.get("assertion", [""])[0])
        if claims is None:
            return _oauth_error("invalid_grant", "the assertion is not a JWT")
        missing = [c for c in ("iss", "aud") if not claims.get(c)]
        if missing:
            return _oauth_error("invalid_grant", f"the assertion lacks {', '.join(missing)}")
        scopes = str(claims.get("scope") or "").split()
        subject = claims.get("sub")
        subject_id = None
        try:
            if subject is not None:
                subject_id = auth.find_subject(self.api.store, str(subject))
                if subject_id is None:
                    raise auth.TokenError("invalid_grant", auth.INVALID_SUBJECT)
            auth.check_scopes(scopes, subject is not None, self._config.delegated_scopes)
        except auth.TokenError as exc:
            return _oauth_error(exc.error, exc.description, exc.status)
        token = self.tokens.issue(scopes, subject_id, str(claims["iss"]))
        with self._lock:
            self.stats.token_grants += 1
            self.stats.token_scopes.update(set(scopes))
        answer = {"access_token": token, "token_type": "Bearer"}
        return json_reply(200, {**answer, "expires_in": auth.TOKEN_LIFETIME_S})

    def _control(self, method: str, path: str, body: bytes | None) -> Reply:
        name = path[len("/_emulator/") :]
        allowed = {
            "stats": "GET",
            "state": "GET",
            "reset": "POST",
            "config": "GET POST",
            "messages": "GET",
        }
        if name not in allowed:
            return error_reply(404, "notFound", f"Not Found: {path}")
        if method not in allowed[name].split():
            return error_reply(405, "methodNotAllowed", f"{path} answers {allowed[name]}.")
        if name == "stats":
            return json_reply(200, self.stats_json())
        if name == "messages":
            return json_reply(200, {"messages": self.messages()})
        try:
            if name == "state":
                return json_reply(200, self.api.snapshot())
            if name == "reset":
                self.reset()
                return json_reply(200, {"reset": True})
        except StateError as exc:  # the tenant cannot be saved or reloaded just now
            message = f"The service is currently unavailable. ({exc})"
            return error_reply(503, "backendError", message)
        if method == "POST":
            try:
                changes = json.loads(body or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("the body must be a JSON object of options")
                self.configure(**changes)
            except ValueError as exc:
                return error_reply(400, "invalid", f"Invalid emulator config: {exc}.")
        return json_reply(200, self._config.as_json())


def _set_api_options(api: DirectoryApi, config: EmulatorConfig) -> None:
    # The API owns consistency and short listings; the server only passes the options on.
    api.consistency_delay_s = config.consistency_delay_ms / 1000
    api.listing_lag_s = config.listing_lag_ms / 1000
    api.address_hold_s = config.address_hold_ms / 1000
    api.transfer_delay_s = config.transfer_delay_ms / 1000
    api.short_listing = dict(config.short_listing)


def _oauth_error(error: str, description: str, status: int = 400) -> Reply:
    return json_reply(status, {"error": error, "error_description": description})


def jwt_claims(assertion: str) -> dict | None:
    """The payload of a JWT, decoded without verifying its signature; None if malformed."""
    pieces = assertion.split(".")
    if len(pieces) != 3:
        return None
    payload = pieces[1] + "=" * (-len(pieces[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def discovery_document(base_url: str, version: str = API_VERSION) -> dict:
    """The bundled discovery document of `version` (directory_v1, datatransfer_v1,
    licensing_v1, groupssettings_v1) with every root URL pointing at `base_url`; batches
    go to `/batch`, but the Groups Settings API's to its own `batch/groupssettings/v1`."""
    doc = dict(bundled_discovery_document(version))
    root = base_url.rstrip("/") + "/"
    doc["rootUrl"] = root
    doc["mtlsRootUrl"] = root
    doc["baseUrl"] = root + doc.get("servicePath", "")
    if version != discovery.GROUPSSETTINGS:
        doc["batchPath"] = "batch"
    return doc


def _prefix_of(path: str) -> str:
    """The API prefix `path` starts with ('' for none)."""
    for prefix in API_PREFIXES:
        if path.startswith(prefix):
            return prefix
    return ""


def _service_of(path: str) -> str | None:
    """The API whose calls live under `path` (DIRECTORY, DATATRANSFER, LICENSING,
    GROUPSSETTINGS), or None."""
    prefix = _prefix_of(path)
    return API_PREFIXES[prefix] if prefix else None


class _LoopbackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG
    emulator: EmulatorServer

    def __init__(self, address: tuple[str, int], handler: type) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End idle keep-alive connections so their threads finish."""
        with self._open_lock:
            open_now = list(self._open)
        for sock in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client went away; nothing to report
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _LoopbackHTTPServer

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests and unknown methods, answered in Google's error shape too."""
        self.close_connection = True
        phrase = _PHRASES.get(code, "Error")
        reply = error_reply(code, "badRequest" if code == 400 else "unsupported", message or phrase)
        self._send(Reply(code) if self.command == "HEAD" else reply)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet; request bodies (assertions, tokens) are never logged anyway

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError as exc:
            self.close_connection = True
            self._send(error_reply(400, "badRequest", str(exc)))
            return
        if not _loopback_host(self.headers.get("Host")):
            reply = error_reply(403, "forbidden", "The emulator answers loopback host names only.")
        else:
            try:
                reply = self.server.emulator.handle(self.command, self.path, self.headers, body)
            except Exception as exc:  # a bug in the emulator: answer, say so, keep serving
                traceback.print_exc(file=sys.stderr)
                reply = error_reply(500, "backendError", f"emulator bug: {exc!r}")
        self._send(reply)

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return None
        if not length.isdigit() or int(length) > MAX_BODY:
            raise ValueError(f"Content-Length must be a number up to {MAX_BODY}.")
        return self.rfile.read(int(length))

    def _read_chunked(self) -> bytes:
        chunks, total = [], 0
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise ValueError("Malformed chunked body.") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise ValueError(f"The body exceeds {MAX_BODY} bytes.")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, reply: Reply) -> None:
        if reply.drop:
            self.close_connection = True
            return
        phrase = _PHRASES.get(reply.status, "Unknown")
        head = [f"HTTP/1.1 {reply.status} {phrase}", f"Content-Length: {len(reply.body)}"]
        if reply.body:
            head.append(f"Content-Type: {reply.content_type}")
        head.extend(f"{name}: {value}" for name, value in reply.headers)
        if self.close_connection:
            head.append("Connection: close")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body
        self.wfile.write(data)


_PHRASES = {s.value: s.phrase for s in HTTPStatus}


def _cross_site(headers: Any) -> Reply | None:
    """403 for a request a web page made: a non-loopback Origin, or cross-site fetch."""
    origin = headers.get("Origin")
    if origin is not None and not _loopback_origin(origin):
        return error_reply(
            403, "forbidden", f"The emulator answers no requests from web pages ({origin})."
        )
    if (headers.get("Sec-Fetch-Site") or "").strip().lower() == "cross-site":
        return error_reply(403, "forbidden", "The emulator answers no cross-site requests.")
    return None


def _not_json(method: str, headers: Any, body: bytes | None) -> Reply | None:
    """415 for a request body (or a typed POST, PUT, PATCH, DELETE) that is not JSON."""
    content_type = headers.get("Content-Type")
    if not body and (content_type is None or method == "GET"):
        return None
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/json":
        return None
    return error_reply(
        415,
        "unsupportedMediaType",
        f"A request body must be application/json, not {media or 'untyped'}.",
    )


_GRAPH_LOGIN_PATHS = (
    re.compile(r"/[^/]+/oauth2/v2\.0/token"),
    re.compile(r"/[^/]+/v2\.0/\.well-known/openid-configuration"),
)


def _graph_path(path: str) -> bool:
    """A path of Microsoft Graph (`/v1.0/…`) or of its token endpoint and metadata."""
    if path.startswith("/v1.0/") or path == "/common/discovery/instance":
        return True
    return any(p.fullmatch(path) for p in _GRAPH_LOGIN_PATHS)


def _loopback_origin(origin: str) -> bool:
    try:
        parts = urlsplit(origin.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises for a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and host is not None and host in LOOPBACK_NAMES


def _loopback_host(host: str | None) -> bool:
    if not host:
        return True  # HTTP/1.0 clients may leave it out; the socket is loopback anyway
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name.lower() in LOOPBACK_NAMES

"""The Microsoft Graph v1.0 client: app-only tokens (msal), one HTTP session (requests),
paged reads, JSON batches, and retries.

Every URL the client builds is the real service's (`https://login.microsoftonline.com`,
`https://graph.microsoft.com`), emulator or not: msal refuses an authority that is not https.
For an emulator (an `endpoint` such as `http://127.0.0.1:PORT`) the session mounts a
transport that sends those two hosts' requests to the endpoint instead, over plain http on
loopback only; their paths tell them apart (`/{tenant}/...` for the login service, `/v1.0/...`
for Graph). msal sends its requests through the same session, so one connection pool serves
both.

Retries (https://learn.microsoft.com/en-us/graph/throttling ;
https://learn.microsoft.com/en-us/graph/errors): 429, 503 and 504 are tried again after their
`Retry-After` (seconds, possibly fractional, e.g. 2.128), else after an exponential backoff
with jitter from 1 s, doubling, at most 60 s a wait, 8 attempts in all. A dropped connection
is tried again only for a request that changes nothing (a GET, a batch of GETs). In a JSON
batch every item is throttled on its own, with the Retry-After in its own headers
(https://learn.microsoft.com/en-us/graph/json-batching): only those items are sent again,
after the largest of their waits.

A 401 InvalidAuthenticationToken (an expired or revoked token) gets one fresh token and the
call once more. A 403 Authorization_RequestDenied is the usual sign of an application
permission without admin consent (Entra issues a token without `roles` rather than refusing
one): the error names the permission the call needs.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import msal
import requests
from requests.adapters import HTTPAdapter

from reconciler.entra.credentials import client_credential
from reconciler.entra.endpoint import endpoint_problem
from reconciler.problems import ReconcilerError, excerpt

LOGIN = "https://login.microsoftonline.com"
GRAPH = "https://graph.microsoft.com"
GRAPH_V1 = GRAPH + "/v1.0"
SCOPES = [GRAPH + "/.default"]
# The largest page /users, /groups and /groups/{id}/members give (user-list, group-list).
PAGE_SIZE = 999
# Requests per JSON batch (json-batching).
BATCH_LIMIT = 20
RETRY_STATUSES = frozenset({429, 503, 504})
# A 504 says the gateway stopped waiting, not that the work was not done: a call that must
# not run twice (a create: Graph allows two groups of one name) is not sent again after it.
# Its caller reports it; the next plan finds the group by its name if it was created.
MAY_HAVE_RUN = frozenset({504})
HTTP_TIMEOUT_S = 60.0
# A Retry-After larger than this is taken as this: a wrong header must not stall a run.
MAX_RETRY_AFTER_S = 300.0


class GraphError(ReconcilerError):
    """A Graph call failed for good; the message says which, Graph's words, and what to do."""

    def __init__(self, message: str, status: int | None = None, code: str = ""):
        super().__init__(message)
        self.status = status
        self.code = code


class GraphAuthError(GraphError):
    """No token: Entra refused the credentials (the message carries its AADSTS code)."""


@dataclass
class GraphStats:
    """What the client sent: HTTP round trips, Graph calls (each batch item one), attempts
    sent again, and how many of those were for a 429."""

    http_requests: int = 0
    calls: int = 0
    retries: int = 0
    throttled: int = 0


@dataclass
class GraphRetry:
    """How often and how long to wait: `max_attempts` tries of one request (or one batch
    item), waits of 1 s, 2 s, 4 s ... at most `cap_s`, half fixed and half random."""

    max_attempts: int = 8
    base_s: float = 1.0
    cap_s: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        """The wait after failed attempt number `attempt` (1 for the first)."""
        ceiling = min(self.cap_s, self.base_s * 2 ** (attempt - 1))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Retry-After when the answer had one, else the backoff."""
        if retry_after is not None:
            return retry_after
        return self.backoff(attempt)


# -- answers -----------------------------------------------------------------------------------


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """A header's value by case-insensitive name (batch items carry plain dicts)."""
    if not headers:
        return None
    lowered = name.lower()
    for key, value in headers.items():
        if str(key).lower() == lowered:
            return None if value is None else str(value)
    return None


def retry_after(headers: Mapping[str, Any] | None) -> float | None:
    """Seconds from a Retry-After header (fractional allowed), or None when absent or not a
    number of seconds (an HTTP date is not used by Graph)."""
    raw = header(headers, "Retry-After")
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    if not 0 <= value < float("inf"):
        return None
    return min(value, MAX_RETRY_AFTER_S)


def error_of(body: Any) -> tuple[str, str]:
    """Graph's error `code` and `message` from an answer's body ('' when absent). The message
    is sometimes an object `{"value": ...}` (seen in the wild)."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError:
            return "", ""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return "", ""
    error = body["error"]
    code = error.get("code")
    message = error.get("message")
    if isinstance(message, dict):
        message = message.get("value")
    return (code if isinstance(code, str) else ""), (message if isinstance(message, str) else "")


def repeatable(method: str, url: str) -> bool:
    """Whether sending a call twice does no harm: anything but a create (`POST /groups`).
    Adding a member twice answers "already exist", removing twice 404: both are done."""
    path = urlsplit(url).path if "://" in url else url.split("?", 1)[0]
    return not (method.upper() == "POST" and path.removeprefix("/v1.0").rstrip("/") == "/groups")


def should_retry(status: int, method: str, url: str) -> bool:
    """A status worth sending the call again for (after its wait)."""
    if status not in RETRY_STATUSES:
        return False
    return status not in MAY_HAVE_RUN or repeatable(method, url)


def permission_for(method: str, url: str) -> str:
    """The application permission a call needs, for a 403's message
    (https://learn.microsoft.com/en-us/graph/permissions-reference)."""
    path = urlsplit(url).path if "://" in url else url.split("?", 1)[0]
    path = path.removeprefix("/v1.0")
    method = method.upper()
    if path.startswith("/users"):
        return "User.Read.All"
    if "/members" in path and method != "GET":
        return "GroupMember.ReadWrite.All (or Group.ReadWrite.All)"
    if path.startswith("/groups") and method != "GET":
        return "Group.ReadWrite.All"
    if path.startswith("/groups"):
        return "Group.Read.All (or Group.ReadWrite.All)"
    return "the permission the call needs"


def describe(method: str, url: str, status: int, body: Any) -> str:
    """A failed call in one line: what, Graph's code and words, and for a refusal for want
    of rights, which permission to grant."""
    code, message = error_of(body)
    what = f"{method.upper()} {_shown_url(url)}"
    detail = f"{status} {code}: {excerpt(message, 300)}" if code or message else str(status)
    text = f"Graph refused {what}: {detail}"
    if status == 403 and code == "Authorization_RequestDenied":
        text += (
            f" (the app needs the application permission {permission_for(method, url)} "
            "of Microsoft Graph, with admin consent granted: Entra admin center > App "
            "registrations > the app > API permissions > Grant admin consent)"
        )
    return text


def _shown_url(url: str) -> str:
    """A URL for a message: relative to Graph v1.0 when it is Graph's, at most 200 chars."""
    return excerpt(url.removeprefix(GRAPH_V1), 200)


# -- the transport for an emulator -------------------------------------------------------------


def checked_endpoint(endpoint: str) -> str:
    """`endpoint` without a trailing slash, or GraphError when it is neither https nor a
    plain http URL of a loopback address (tokens must never cross a network in the clear)."""
    problem = endpoint_problem(endpoint)
    if problem:
        raise GraphError(problem)
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


class EndpointAdapter(HTTPAdapter):
    """Sends requests for the login service and Graph to `endpoint`, same path and query."""

    def __init__(self, endpoint: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.endpoint = checked_endpoint(endpoint)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        url = request.url or ""
        for origin in (LOGIN, GRAPH):
            if url == origin or url.startswith(origin + "/"):
                request = request.copy()
                request.url = self.endpoint + url[len(origin) :]
                break
        else:  # mounted only for those two origins
            raise GraphError(f"no route to {excerpt(url)} through the endpoint")
        return super().send(request, *args, **kwargs)


class TimedSession(requests.Session):
    """A session whose requests wait at most `timeout_s` for an answer unless told otherwise:
    msal sends its requests without a timeout when given a session of its own."""

    timeout_s = HTTP_TIMEOUT_S

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout_s)
        return super().request(method, url, *args, **kwargs)


def session_for(endpoint: str | None) -> requests.Session:
    """One session for msal and Graph, through `endpoint` when given."""
    session = TimedSession()
    if endpoint:
        adapter = EndpointAdapter(endpoint)
        session.mount(LOGIN + "/", adapter)
        session.mount(GRAPH + "/", adapter)
    return session


# -- tokens ------------------------------------------------------------------------------------

# What to do about the AADSTS codes a misconfiguration gives
# (https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes).
AADSTS_HINTS = {
    "700016": "the app (entra.client_id) is not registered in that tenant: check "
    "entra.client_id and entra.tenant_id",
    "700011": "the app (entra.client_id) is not registered in that tenant: check "
    "entra.client_id and entra.tenant_id",
    "90002": "no such tenant: check entra.tenant_id",
    "7000215": "the app's credential is not valid: check entra.provider.credentials",
    "700027": "the assertion's signature does not match a certificate of the app: upload "
    "the certificate of entra.provider.credentials to the app registration",
    "50012": "the certificate is not authorized for the app: upload it to the app registration",
    "70021": "no federated credential of the app matches GitHub's token: check its subject "
    "(repo:ORG/REPO:ref:refs/heads/BRANCH, :environment:NAME or :pull_request, exactly as "
    "the job runs), issuer and audience; a credential created minutes ago may not be in "
    "effect yet",
    "700211": "no federated credential of the app matches GitHub's token issuer: check its "
    "issuer (https://token.actions.githubusercontent.com) and subject",
}


def token_error(result: Mapping[str, Any]) -> GraphAuthError:
    """An error for msal's error dict: Entra's error and description, and what to do."""
    error = str(result.get("error") or "error")
    description = str(result.get("error_description") or "").split("\r\n")[0].split("\n")[0]
    codes = [str(c) for c in result.get("error_codes") or []]
    if not codes and description.startswith("AADSTS"):
        codes = [description[6:].split(":", 1)[0]]
    hint = next((AADSTS_HINTS[c] for c in codes if c in AADSTS_HINTS), None)
    text = f"Entra ID refused a token: {error}: {excerpt(description, 300)}"
    return GraphAuthError(text + (f" ({hint})" if hint else ""), code=error)


class MsalTokens:
    """Tokens from an msal confidential client, answered from its cache while valid. A login
    service that does not answer is asked again (msal leaves retries to the session's owner),
    with the client's backoff."""

    def __init__(self, app: Any, retry: GraphRetry | None = None):
        self.app = app
        self.retry = retry or GraphRetry()

    def __call__(self, fresh: bool = False) -> str:
        if fresh:
            # Forget the cached token (msal's remove_tokens_for_client would first ask the
            # login service for the authority's aliases): this app holds app tokens only.
            cache = self.app.token_cache
            for token in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                cache.remove_at(token)
        attempt = 0
        while True:
            attempt += 1
            try:
                result = self.app.acquire_token_for_client(scopes=SCOPES)
                break
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt >= self.retry.max_attempts:
                    raise GraphAuthError(
                        f"Entra ID could not be reached for a token ({type(exc).__name__}, "
                        f"{attempt} attempts)"
                    ) from None
                self.retry.sleep(self.retry.backoff(attempt))
            except requests.RequestException as exc:
                raise GraphAuthError(
                    f"Entra ID could not be reached for a token ({type(exc).__name__})"
                ) from None
        if not isinstance(result, dict) or "access_token" not in result:
            raise token_error(result if isinstance(result, dict) else {})
        return str(result["access_token"])


# -- the client --------------------------------------------------------------------------------


@dataclass
class Response:
    """An answer: its status, headers and parsed body (None when empty)."""

    status: int
    headers: dict[str, str]
    body: Any

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "headers": self.headers, "body": self.body}


class GraphClient:
    """Graph v1.0 over one session, with a token source (`fresh=True`: not from a cache)."""

    def __init__(
        self,
        session: requests.Session,
        tokens: Callable[..., str],
        *,
        retry: GraphRetry | None = None,
        timeout_s: float = HTTP_TIMEOUT_S,
    ):
        self.session = session
        self.tokens = tokens
        self.retry = retry or GraphRetry()
        self.timeout_s = timeout_s
        self.stats = GraphStats()
        self._token: str | None = None

    @classmethod
    def connect(
        cls,
        entra: Any,
        root: Path,
        *,
        endpoint: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> GraphClient:
        """A client for the tenant `entra` names (`tenant_id`, `client_id`, `provider`), or for
        the emulator at `endpoint` (`provider.kind == "emulator"`, or an endpoint given)."""
        provider = getattr(entra, "provider", None)
        emulator = getattr(provider, "kind", "graph") == "emulator"
        endpoint = endpoint or getattr(provider, "endpoint", None)
        if emulator and not endpoint:
            raise GraphError("the Graph emulator's endpoint is not known (no endpoint given)")
        session = session_for(endpoint)
        credential = client_credential(entra, root, emulator=emulator)
        authority = f"{LOGIN}/{entra.tenant_id}"
        where = f" through {endpoint}" if endpoint else ""
        try:
            # msal reads the tenant's OpenID configuration here, from the login service.
            app = msal.ConfidentialClientApplication(
                str(entra.client_id),
                authority=authority,
                client_credential=credential,
                http_client=session,
            )
        except requests.RequestException as exc:
            raise GraphAuthError(
                f"Entra ID's login service could not be reached{where} ({type(exc).__name__})"
            ) from None
        except ValueError:
            raise GraphAuthError(
                f"Entra ID's login service does not know the tenant {excerpt(entra.tenant_id)}"
                f"{where} (it has no OpenID configuration at {excerpt(authority)}): check "
                "entra.tenant_id"
            ) from None
        retry = GraphRetry(sleep=sleep)
        return cls(session, MsalTokens(app, retry), retry=retry)

    # -- sending ---------------------------------------------------------------------------

    def _bearer(self, fresh: bool = False) -> str:
        if fresh or self._token is None:
            self._token = self.tokens(fresh=fresh)
        return self._token

    def _send(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        calls: int = 1,
        idempotent: bool | None = None,
        repeat: bool | None = None,
    ) -> Response:
        """One request with its retries; the last answer, whatever its status.

        `idempotent`: a dropped connection may be retried (default: a GET). `repeat`: a 504
        may be retried (default: anything but a create, see `repeatable`)."""
        if not url.startswith(GRAPH + "/"):
            raise GraphError(f"refused to send the token to {excerpt(url)}: not Graph's URL")
        idempotent = method.upper() == "GET" if idempotent is None else idempotent
        repeat = repeatable(method, url) if repeat is None else repeat
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            headers = {"Authorization": f"Bearer {self._bearer()}"}
            self.stats.http_requests += 1
            self.stats.calls += calls
            try:
                raw = self.session.request(
                    method,
                    url,
                    data=None if body is None else json.dumps(body),
                    headers={**headers, "Content-Type": "application/json"}
                    if body is not None
                    else headers,
                    timeout=self.timeout_s,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if not idempotent or attempt >= self.retry.max_attempts:
                    tried = f" ({attempt} attempts)" if attempt > 1 else ""
                    raise GraphError(
                        f"{method} {_shown_url(url)}: no answer from Graph{tried} "
                        f"({type(exc).__name__})"
                    ) from None
                self._wait(self.retry.backoff(attempt), retries=1, throttled=0)
                continue
            answer = Response(raw.status_code, dict(raw.headers), _parsed(raw))
            if answer.status == 401 and not refreshed:
                code, _ = error_of(answer.body)
                if code == "InvalidAuthenticationToken":
                    refreshed = True
                    self._bearer(fresh=True)
                    continue
            if answer.status in RETRY_STATUSES and (repeat or answer.status not in MAY_HAVE_RUN):
                if attempt >= self.retry.max_attempts:
                    raise GraphError(
                        f"{describe(method, url, answer.status, answer.body)} "
                        f"(still after {attempt} attempts)",
                        answer.status,
                        error_of(answer.body)[0],
                    )
                wait = self.retry.wait(attempt, retry_after(answer.headers))
                self._wait(wait, retries=1, throttled=int(answer.status == 429))
                continue
            return answer

    def _wait(self, seconds: float, *, retries: int, throttled: int) -> None:
        """Wait before sending `retries` calls again, `throttled` of them after a 429."""
        self.stats.retries += retries
        self.stats.throttled += throttled
        self.retry.sleep(seconds)

    def request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """One call to `path` (relative to v1.0, e.g. "/groups"): `{"status", "headers",
        "body"}` whatever the status, like a batch item's answer; GraphError only when no
        answer came, or the retries of a 429/503/504 ran out."""
        return self._send(method.upper(), GRAPH_V1 + path, body=body).as_dict()

    def must(self, method: str, path: str, body: Any = None) -> Any:
        """The body of a call that must succeed, else GraphError."""
        answer = self._send(method.upper(), GRAPH_V1 + path, body=body)
        if not 200 <= answer.status < 300:
            raise refused(method, path, answer)
        return answer.body

    # -- reading ---------------------------------------------------------------------------

    def get_all(self, path: str, params: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Every item of a listing: GET v1.0`path` with `$top=999` and `params`, then each
        `@odata.nextLink` exactly as given until there is none
        (https://learn.microsoft.com/en-us/graph/paging)."""
        query = {"$top": str(PAGE_SIZE), **(params or {})}
        url: str | None = f"{GRAPH_V1}{path}?{urlencode(query, safe='$,', quote_via=quote)}"
        items: list[dict[str, Any]] = []
        while url is not None:
            answer = self._send("GET", url)
            if answer.status != 200:
                raise refused("GET", url, answer)
            page, url = page_of(answer.body, f"GET {path}")
            items.extend(page)
        return items

    # -- batches ---------------------------------------------------------------------------

    def batch(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Run calls `{"method", "url" (relative to v1.0), "body"?}` through JSON batches of
        20; one `{"status", "headers", "body"}` per call, in their order. Items answered 429,
        503 or 504 are sent again (alone, in a new batch) after the largest Retry-After among
        them; any other status is returned as it is, for the caller to judge."""
        for item in requests:
            url = item.get("url")
            if not isinstance(url, str) or not url.startswith("/"):
                raise ValueError(f"a batch item's url must be relative to v1.0: {url!r}")
        results: list[dict[str, Any] | None] = [None] * len(requests)
        indices = list(range(len(requests)))
        for start in range(0, len(indices), BATCH_LIMIT):
            self._batch_chunk(requests, indices[start : start + BATCH_LIMIT], results)
        return [r for r in results if r is not None]

    def _batch_chunk(
        self,
        items: list[dict[str, Any]],
        pending: list[int],
        results: list[dict[str, Any] | None],
    ) -> None:
        attempt = 0
        while pending:
            attempt += 1
            payload = {"requests": [_batch_item(str(i), items[i]) for i in pending]}
            reads_only = all(str(items[i]["method"]).upper() == "GET" for i in pending)
            answer = self._send(
                "POST",
                GRAPH_V1 + "/$batch",
                body=payload,
                calls=len(pending),
                idempotent=reads_only,
                repeat=all(repeatable(str(items[i]["method"]), items[i]["url"]) for i in pending),
            )
            if answer.status != 200:
                raise refused("POST", "/$batch", answer)
            by_id = _responses_by_id(answer.body)
            again: list[int] = []
            waits: list[float] = []
            throttled = 0
            for i in pending:
                got = by_id.get(str(i))
                if got is None:
                    raise GraphError(f"Graph's batch answer lacks the item {items[i]['url']}")
                status, headers, body = got
                retry = should_retry(status, str(items[i]["method"]), items[i]["url"])
                if retry and attempt < self.retry.max_attempts:
                    again.append(i)
                    after = retry_after(headers)
                    if after is not None:
                        waits.append(after)
                    throttled += status == 429
                    continue
                results[i] = {"status": status, "headers": headers, "body": body}
            if again:
                wait = max(waits) if waits else self.retry.backoff(attempt)
                self._wait(wait, retries=len(again), throttled=throttled)
            pending = again


def refused(method: str, url: str, answer: Response) -> GraphError:
    """The error for a call answered with a failure."""
    code, _ = error_of(answer.body)
    return GraphError(describe(method, url, answer.status, answer.body), answer.status, code)


def _batch_item(request_id: str, item: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": request_id,
        "method": str(item["method"]).upper(),
        "url": item["url"],
    }
    if item.get("body") is not None:
        out["headers"] = {"Content-Type": "application/json"}
        out["body"] = item["body"]
    return out


def _responses_by_id(body: Any) -> dict[str, tuple[int, dict[str, Any], Any]]:
    """A batch answer's items by id (ids compare case-insensitively; ours are digits)."""
    responses = body.get("responses") if isinstance(body, dict) else None
    if not isinstance(responses, list):
        raise GraphError("Graph's batch answer has no `responses` list: is it Graph?")
    found: dict[str, tuple[int, dict[str, Any], Any]] = {}
    for entry in responses:
        if not isinstance(entry, dict) or not isinstance(entry.get("status"), int):
            raise GraphError("Graph's batch answer holds an item without a status")
        headers = entry.get("headers") if isinstance(entry.get("headers"), dict) else {}
        found[str(entry.get("id")).lower()] = (entry["status"], headers, entry.get("body"))
    return found


def page_of(body: Any, label: str) -> tuple[list[dict[str, Any]], str | None]:
    """A page's items and its `@odata.nextLink` (None on the last page); GraphError for an
    answer without that shape, or a next link away from Graph (the token would follow it)."""
    items = body.get("value") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise GraphError(f"{label}: the answer holds no list of objects in `value`: is it Graph?")
    link = body.get("@odata.nextLink")
    if link is None:
        return items, None
    if not isinstance(link, str) or not link.startswith(GRAPH_V1 + "/"):
        raise GraphError(f"{label}: @odata.nextLink is not a Graph v1.0 URL: {excerpt(link)}")
    return items, link


def _parsed(raw: requests.Response) -> Any:
    """The JSON of an answer, its text when it is not JSON, None when empty."""
    if not raw.content:
        return None
    try:
        return raw.json()
    except ValueError:
        return raw.text


def relative(url: str) -> str:
    """A Graph v1.0 URL made relative, as batch items want (`/groups/...`)."""
    if not url.startswith(GRAPH_V1 + "/"):
        raise GraphError(f"not a Graph v1.0 URL: {excerpt(url)}")
    return url[len(GRAPH_V1) :]

"""The Directory API client: one service, paced, retried, batched.

Every request goes to the endpoint when one is set (the emulator, a proxy): the service is
built from the bundled discovery document with its rootUrl replaced, so batch requests go
there too (batch ignores `api_endpoint`). Without an endpoint it talks to Google.

The Data Transfer API (`client.datatransfer`), the Licensing API (`client.licensing`) and the
Groups Settings API (`client.groupssettings`) are built the same way on first use, each from
its own bundled document, over the same HTTP transport and credentials: their calls need a
token with their scopes, which the tool asks for only once a command needs them.
`client.transfers`, `client.licenses` and `client.settings` run their calls (paced on the one
quota, retried, batched at the API's own batch URL).
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import googleapiclient
import httplib2
from google.auth.exceptions import RefreshError
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest

from reconciler import progress
from reconciler.google.credentials import access_hint, build_credentials, token_refused
from reconciler.google.pacing import Pacer
from reconciler.google.retry import (
    CONNECTION_ERRORS,
    RetryPolicy,
    classify,
    error_message,
    error_reason,
    may_have_run,
)
from reconciler.problems import ReconcilerError, one_line
from reconciler.settings import GoogleProvider

if TYPE_CHECKING:
    from reconciler.entra.client import GraphClient

ENDPOINT_ENV = "RECONCILER_GOOGLE_ENDPOINT"
DIRECTORY = "directory_v1"
DATATRANSFER = "datatransfer_v1"
LICENSING = "licensing_v1"
GROUPSSETTINGS = "groupssettings_v1"
GMAIL = "gmail_v1"
# The bundled discovery document of each API the client builds.
DOCUMENT_FILES = {
    DIRECTORY: "admin.directory_v1.json",
    DATATRANSFER: "admin.datatransfer_v1.json",
    LICENSING: "licensing.v1.json",
    GROUPSSETTINGS: "groupssettings.v1.json",
    GMAIL: "gmail.v1.json",
}
# How long one request may go without an answer (seconds); the environment may set another.
HTTP_TIMEOUT_S = 60.0
TIMEOUT_ENV = "RECONCILER_HTTP_TIMEOUT"
# Seconds a read waits, in all, for listings that disagree to agree (RetryPolicy.settle_s).
SETTLE_ENV = "RECONCILER_SETTLE_SECONDS"
# A refused connection is retried this often before the endpoint is declared unreachable.
REFUSED_ATTEMPTS = 3
# So is a request that got no answer in time: an endpoint that accepts connections and never
# answers is said so after a few minutes, not after every retry's timeout.
TIMEOUT_ATTEMPTS = 3
# Google frees an address (a removed alias, a deleted account's) a while after the call that
# released it, and answers a claim made meanwhile 409 "Entity already exists." (GAM waits 2 s,
# up to 10 s, between deleting an alias and adding it elsewhere; Google's knowledge base
# speaks of up to 24 hours). A Call marked `after_release` waits with backoff, this long at
# most in all, then fails saying so.
RELEASE_WAIT_S = 60.0


class GoogleApiError(ReconcilerError):
    """A call failed for good; the message names the method, the resource and Google's words."""


@dataclass
class Call:
    """One API call, ready to run alone or as a part of a batch."""

    request: HttpRequest
    label: str  # what it does to which resource, e.g. "members.insert eng@example.com"
    # Statuses that mean "already done", e.g. {409: "already a member"} on an insert.
    done_statuses: dict[int, str] = field(default_factory=dict)
    # The same, but only on a retry after an attempt that may have run (no answer, or a
    # server error): a 409 on the first attempt, or after refusals only (rate limits, not
    # ready yet), is a real conflict; after a lost answer it is most likely that attempt's work.
    done_on_retry: dict[int, str] = field(default_factory=dict)
    # The call acts on something created moments ago: a 404 means "not yet", not "gone".
    after_create: bool = False
    # Which of its keys (userKey, groupKey, memberKey) name something created moments ago;
    # empty: all of them.
    new_keys: tuple[str, ...] = ()
    # For answers whose meaning takes more than the status: called with a failed attempt's
    # status, reason and message, and whether an earlier attempt may have done the work;
    # returns a note when the work is done after all (it may read to make sure), else None.
    done_if: Callable[[int, str, str, bool], str | None] | None = None
    # The call claims an address released moments ago (earlier in this run): a 409
    # duplicate means "not free yet", waited out for up to RELEASE_WAIT_S.
    after_release: bool = False
    # Never sent again once an attempt may have run (its answer lost): a mail sent twice is
    # two mails. It fails instead, saying it may have gone.
    once: bool = False


@dataclass
class Outcome:
    """What became of a Call."""

    call: Call
    ok: bool
    body: Any = None
    note: str | None = None
    error: str | None = None
    status: int | None = None
    reason: str = ""
    attempts: int = 1


@dataclass
class ClientStats:
    api_calls: int = 0
    http_requests: int = 0
    retries: int = 0


@cache
def bundled_discovery(version: str = DIRECTORY) -> dict[str, Any]:
    """The discovery document of `version` (directory_v1, datatransfer_v1, licensing_v1,
    groupssettings_v1) that ships with googleapiclient."""
    if version not in DOCUMENT_FILES:
        raise ValueError(f"no bundled discovery document for {version}")
    path = (
        Path(googleapiclient.__file__).parent
        / "discovery_cache"
        / "documents"
        / DOCUMENT_FILES[version]
    )
    return json.loads(path.read_text(encoding="utf-8"))


def discovery_for(endpoint: str | None, version: str = DIRECTORY) -> dict[str, Any]:
    """The bundled document of `version`, every root URL pointing at `endpoint` if given."""
    doc = copy.deepcopy(bundled_discovery(version))
    if endpoint:
        root = endpoint.rstrip("/") + "/"
        doc["rootUrl"] = root
        doc["mtlsRootUrl"] = root
        doc["baseUrl"] = root + doc["servicePath"]
    return doc


def http_timeout(env: dict[str, str] | None = None) -> float:
    """Seconds a request may wait for its answer: RECONCILER_HTTP_TIMEOUT, else 60."""
    raw = (os.environ if env is None else env).get(TIMEOUT_ENV, "").strip()
    if not raw:
        return HTTP_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value < 86_400:
        raise ReconcilerError(f"{TIMEOUT_ENV}: {one_line(raw)[:40]!r} is not a number of seconds")
    return value


def endpoint_for(provider: GoogleProvider, env: dict[str, str] | None = None) -> str | None:
    """RECONCILER_GOOGLE_ENDPOINT overrides provider.endpoint."""
    env = os.environ if env is None else env
    return env.get(ENDPOINT_ENV) or provider.endpoint


class _Transport(httplib2.Http):
    """httplib2.Http that counts the requests it sent twice on its own.

    When a connection closes before an answer comes, httplib2 takes it for a stale
    keep-alive connection and sends the request again, once, without telling anyone (its
    `_conn_request`, whatever RETRIES says). The first sending may have done the work: an
    insert then answers 409 (or an org unit insert 400) to what looks like a first attempt.
    The client reads `resent` to judge such an answer as the retry it is."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.resent = 0

    def _conn_request(self, conn: Any, request_uri: Any, method: Any, body: Any, headers: Any):
        sent = 0
        send = conn.request

        def counted(*args: Any, **kwargs: Any) -> Any:
            nonlocal sent
            sent += 1
            return send(*args, **kwargs)

        conn.request = counted
        try:
            return super()._conn_request(conn, request_uri, method, body, headers)
        finally:
            del conn.request
            if sent > 1:
                self.resent += 1


class GoogleClient:
    """Runs Calls against the Directory API with pacing, retries and batching."""

    def __init__(
        self,
        service: Any,
        http: Any,
        pacer: Pacer | None = None,
        retry: RetryPolicy | None = None,
        batch_size: int = 100,
        endpoint: str | None = None,
    ):
        """`endpoint`: where the services send their calls (None: Google); the Data
        Transfer and Licensing services, built on first use, go there too."""
        self.service = service
        self.http = http
        self.endpoint = endpoint
        self._services: dict[str, Any] = {}  # other APIs' services, by version
        self.pacer = pacer
        self.retry = retry or RetryPolicy()
        self.batch_size = batch_size
        self.stats = ClientStats()
        self.timeout_s = HTTP_TIMEOUT_S
        self._transfers: GoogleClient | None = None
        self._licenses: GoogleClient | None = None
        self._settings: GoogleClient | None = None
        # Microsoft Graph, opened beside Google's connection by the session when
        # workspace.yaml exports groups to Entra ID (reconciler/entra/); None otherwise.
        self.graph: GraphClient | None = None
        # The domains the tenant can hold addresses on (the Directory target's check reads
        # them before anything else; a targeted read looks up only addresses on them).
        self.tenant_domains: set[str] | None = None

    @property
    def transfers(self) -> GoogleClient:
        """A client of the Data Transfer API over the same connection, endpoint, pacing
        (one quota), retries and counts; built on first use."""
        if self._transfers is None:
            self._transfers = self._sibling(self.datatransfer)
        return self._transfers

    @property
    def licenses(self) -> GoogleClient:
        """A client of the Licensing API over the same connection, endpoint, pacing (one
        quota), retries and counts; built on first use. Its batches go to the Licensing
        API's own batch URL (rootUrl + batchPath: the endpoint's `/batch`)."""
        if self._licenses is None:
            self._licenses = self._sibling(self.licensing)
        return self._licenses

    @property
    def settings(self) -> GoogleClient:
        """A client of the Groups Settings API over the same connection, endpoint, pacing
        (one quota), retries and counts; built on first use. Its batches go to that API's
        own batch URL (rootUrl + batchPath: the endpoint's `/batch/groupssettings/v1`)."""
        if self._settings is None:
            self._settings = self._sibling(self.groupssettings)
        return self._settings

    def mail_as(self, sender: str, scope: str) -> GoogleClient:
        """A client of the Gmail API acting as `sender` with `scope` only: the same
        credentials delegated to another subject (domain-wide delegation), the same
        endpoint, pacing and counts; one per sender, built on first use. Its calls are run
        one at a time (`execute`). ReconcilerError when the credentials cannot delegate."""
        mailers = self.__dict__.setdefault("_mailers", {})
        if sender not in mailers:
            credentials = getattr(self.http, "credentials", None)
            if credentials is None or not hasattr(credentials, "with_subject"):
                raise ReconcilerError(
                    f"the credentials cannot act as {sender}: sending as another account "
                    "needs a service account with domain-wide delegation"
                )
            credentials = credentials.with_subject(sender)
            if hasattr(credentials, "with_scopes"):
                credentials = credentials.with_scopes([scope])
            http = AuthorizedHttp(credentials, http=_Transport(timeout=self.timeout_s))
            service = build_from_document(discovery_for(self.endpoint, GMAIL), http=http)
            mailer = GoogleClient(service, http, self.pacer, self.retry, 1, self.endpoint)
            mailer.stats = self.stats
            mailer.timeout_s = self.timeout_s
            mailers[sender] = mailer
        return mailers[sender]

    def _sibling(self, service: Any) -> GoogleClient:
        sibling = GoogleClient(
            service, self.http, self.pacer, self.retry, self.batch_size, self.endpoint
        )
        sibling.stats = self.stats
        sibling.timeout_s = self.timeout_s
        return sibling

    @classmethod
    def connect(
        cls,
        provider: GoogleProvider,
        root: Path,
        *,
        read_only: bool,
        endpoint: str | None = None,
        retry: RetryPolicy | None = None,
        offboarding: bool = False,
        licenses: bool = False,
        group_settings: bool = False,
    ) -> GoogleClient:
        """A client for `provider`, or for `endpoint` (e.g. the embedded emulator) if given;
        `offboarding`: with the scopes offboarding needs too; `licenses`: with the Licensing
        API's scope; `group_settings`: with the Groups Settings API's (credentials.scopes)."""
        endpoint = endpoint or endpoint_for(provider)
        credentials = build_credentials(
            provider,
            root,
            endpoint,
            read_only,
            offboarding,
            licenses=licenses,
            group_settings=group_settings,
        )
        timeout = http_timeout()
        retry = retry or RetryPolicy()
        settle = os.environ.get(SETTLE_ENV)
        if settle:
            retry.settle_s = _seconds(settle, SETTLE_ENV)
        http: Any = _Transport(timeout=timeout)
        if credentials is not None:
            http = AuthorizedHttp(credentials, http=http)
        service = build_from_document(discovery_for(endpoint), http=http)
        # The whole quota: the pacer counts each call from its answer (see Pacer), so it
        # frees no call before Google does. A margin would cost a whole extra minute
        # whenever the calls needed sit just above a multiple of it.
        quota = provider.quota_per_minute
        pacer = Pacer(quota, on_wait=partial(progress.quota_wait, per_minute=quota))
        client = cls(service, http, pacer, retry, provider.batch_size, endpoint)
        client.timeout_s = timeout
        return client

    @property
    def datatransfer(self) -> Any:
        """The Data Transfer API service (built on first use)."""
        return self._service(DATATRANSFER)

    @property
    def licensing(self) -> Any:
        """The Licensing API service (built on first use)."""
        return self._service(LICENSING)

    @property
    def groupssettings(self) -> Any:
        """The Groups Settings API service (built on first use)."""
        return self._service(GROUPSSETTINGS)

    def _service(self, version: str) -> Any:
        """The service of `version` built from its bundled discovery document, once, over
        the same HTTP transport (credentials) and endpoint as `service`."""
        if version not in self._services:
            doc = discovery_for(self.endpoint, version)
            self._services[version] = build_from_document(doc, http=self.http)
        return self._services[version]

    # -- running calls ---------------------------------------------------------------------

    def execute(self, call: Call) -> Outcome:
        """Run one call, retrying transient failures; never raises for an API error."""
        attempts = 0
        maybe_done = False
        delays = self.retry.delays()
        release = _ReleaseWaits(self.retry)
        waited = 0.0  # for an address released moments ago
        while True:
            attempts += 1
            self.stats.api_calls += 1
            self.stats.http_requests += 1
            resent = self._resent()
            try:
                with self._spending(1):
                    body = call.request.execute(num_retries=0)
                return _answered(call, body, attempts)
            except Exception as exc:  # classified below; unknown ones fail the call
                # Sent twice by httplib2 on its own: the first may have done the work.
                maybe_done = maybe_done or self._resent() > resent
                outcome = self._settle(call, exc, attempts, maybe_done)
                if outcome is not None:
                    return outcome
                last = exc
                maybe_done = maybe_done or may_have_run(exc)
                if call.once and maybe_done:
                    return _maybe_sent(call, exc, attempts)
            if _not_free_yet(call, last):
                wait = release.next_wait(waited)
                if wait is None:
                    return _release_failure(call, last, attempts, waited)
                waited += wait
            else:
                wait = next(delays, None)
                if wait is None:
                    return _failure(call, last, attempts, "gave up after retries: ")
            self._say_retry(call, last, wait, attempts)
            self.stats.retries += 1
            self.retry.sleep(wait)

    def must(self, call: Call) -> Any:
        """The body of a call that must succeed, else GoogleApiError."""
        outcome = self.execute(call)
        if not outcome.ok:
            raise GoogleApiError(f"{call.label}: {outcome.error}")
        return outcome.body

    @property
    def batch_limit(self) -> int:
        """Calls per batch request: `batch_size`, or less under a quota smaller than that
        (every part counts against the quota, so a batch the pacer cannot admit at once
        would go out over the rate)."""
        return min(self.batch_size, self.pacer.per_minute) if self.pacer else self.batch_size

    def execute_all(self, calls: Sequence[Call]) -> list[Outcome]:
        """Run calls in batches of `batch_limit`; failed parts are retried in later batches.

        Outcomes come back in the order of `calls`.
        """
        outcomes: list[Outcome | None] = [None] * len(calls)
        attempts = [0] * len(calls)
        last: dict[int, BaseException] = {}
        maybe_done = [False] * len(calls)
        pending = list(range(len(calls)))
        delays = self.retry.delays()
        release = _ReleaseWaits(self.retry)
        waited = [0.0] * len(calls)  # for an address released moments ago
        while pending:
            again: list[int] = []
            for chunk in _chunks(pending, self.batch_limit):
                resent = self._resent()
                for i, result in self._run_batch([calls[i] for i in chunk], chunk):
                    attempts[i] += 1
                    response, exc = result
                    if exc is None:
                        outcomes[i] = _answered(calls[i], response, attempts[i])
                        continue
                    # Sent twice by httplib2 on its own: the first may have done the work.
                    maybe_done[i] = maybe_done[i] or self._resent() > resent
                    settled = self._settle(calls[i], exc, attempts[i], maybe_done[i])
                    if settled is None:
                        last[i] = exc
                        maybe_done[i] = maybe_done[i] or may_have_run(exc)
                        if calls[i].once and maybe_done[i]:
                            outcomes[i] = _maybe_sent(calls[i], exc, attempts[i])
                        else:
                            again.append(i)
                    else:
                        outcomes[i] = settled
            held = [i for i in again if _not_free_yet(calls[i], last[i])]
            for i in held:
                if waited[i] >= RELEASE_WAIT_S:
                    outcomes[i] = _release_failure(calls[i], last[i], attempts[i], waited[i])
            again = [i for i in again if outcomes[i] is None]
            held = [i for i in held if outcomes[i] is None]
            if not again:
                break
            if len(held) < len(again):  # something else failed too: the usual backoff
                wait = next(delays, None)
            else:
                wait = release.next_wait(min(waited[i] for i in held))
            if wait is None:
                for i in again:
                    if i in held:
                        outcomes[i] = _release_failure(calls[i], last[i], attempts[i], waited[i])
                    else:
                        outcomes[i] = _failure(
                            calls[i], last[i], attempts[i], "gave up after retries: "
                        )
                break
            for i in held:
                waited[i] += wait
            self._say_retry(calls[again[0]], last[again[0]], wait, attempts[again[0]], len(again))
            self.stats.retries += len(again)
            self.retry.sleep(wait)
            pending = again
        return [o for o in outcomes if o is not None]

    def _run_batch(
        self, calls: list[Call], ids: list[int]
    ) -> Iterator[tuple[int, tuple[Any, BaseException | None]]]:
        if len(calls) == 1:
            # A batch of one costs a multipart round trip for nothing.
            self.stats.api_calls += 1
            self.stats.http_requests += 1
            try:
                with self._spending(1):
                    response = calls[0].request.execute(num_retries=0)
            except Exception as exc:
                yield ids[0], (None, exc)
            else:
                yield ids[0], (response, None)
            return
        results: dict[str, tuple[Any, BaseException | None]] = {}

        def collect(request_id: str, response: Any, exception: BaseException | None) -> None:
            results[request_id] = (response, exception)

        batch = self.service.new_batch_http_request(callback=collect)
        for call, i in zip(calls, ids, strict=True):
            batch.add(call.request, request_id=str(i))
        self.stats.api_calls += len(calls)
        self.stats.http_requests += 1
        try:
            with self._spending(len(calls)):
                batch.execute(http=self.http)
        except Exception as exc:  # the whole round trip failed: every part failed with it
            for i in ids:
                yield i, (None, exc)
            return
        for i in ids:
            yield i, results.get(str(i), (None, ConnectionError("no answer in the batch")))

    def _say_retry(
        self, call: Call, exc: BaseException, wait: float, attempts: int, calls: int = 1
    ) -> None:
        """A line on stderr when calls are tried again after no answer (a timeout, a dropped
        connection): a slow or hung endpoint shows as progress, not silence."""
        if not isinstance(exc, CONNECTION_ERRORS):
            return
        what = f"{call.label}" + (f" and {calls - 1} more calls" if calls > 1 else "")
        why = (
            f"no answer within {self.timeout_s:g} s"
            if isinstance(exc, TimeoutError)
            else f"{type(exc).__name__}: {one_line(str(exc))[:80]}"
        )
        print(
            f"{_endpoint_of(call)}: {why} to {what} (attempt {attempts}); "
            f"trying again in {wait:.0f} s...",
            file=sys.stderr,
            flush=True,
        )

    def _resent(self) -> int:
        """How many requests the transport has sent twice on its own (see _Transport)."""
        transport = getattr(self.http, "http", self.http)  # inside an AuthorizedHttp
        return getattr(transport, "resent", 0)

    def _spending(self, calls: int) -> AbstractContextManager[None]:
        """Pace `calls` API calls: room before they go, counted from their answer."""
        return self.pacer.spending(calls) if self.pacer else nullcontext()

    def _settle(
        self, call: Call, exc: BaseException, attempts: int, maybe_done: bool = False
    ) -> Outcome | None:
        """A final Outcome for a failed attempt, or None when it should be tried again.

        `maybe_done`: an earlier attempt may have done the work, its answer lost."""
        if isinstance(exc, ConnectionRefusedError) and attempts >= REFUSED_ATTEMPTS:
            # Nothing listens there: a wrong endpoint, not a blip. Say so now, not minutes on.
            return Outcome(
                call,
                False,
                error=f"connection refused {attempts} times: nothing is listening at the "
                "endpoint (check provider.endpoint / RECONCILER_GOOGLE_ENDPOINT)",
                attempts=attempts,
            )
        if isinstance(exc, TimeoutError) and attempts >= TIMEOUT_ATTEMPTS:
            return Outcome(
                call,
                False,
                error=f"no answer from {_endpoint_of(call)} within {self.timeout_s:g} s, "
                f"{attempts} times: it accepts connections but does not answer (check "
                f"provider.endpoint / {ENDPOINT_ENV}; {TIMEOUT_ENV} sets the wait)",
                attempts=attempts,
            )
        if isinstance(exc, HttpError):
            done = dict(call.done_statuses)
            if maybe_done:
                done.update(call.done_on_retry)
            if exc.status_code in done:
                note = done[exc.status_code]
                return Outcome(call, True, note=note, status=exc.status_code, attempts=attempts)
            if call.done_if is not None:
                note = call.done_if(
                    exc.status_code, error_reason(exc), error_message(exc), maybe_done
                )
                if note is not None:
                    status = exc.status_code
                    return Outcome(call, True, note=note, status=status, attempts=attempts)
        if _not_free_yet(call, exc):
            return None
        verdict = classify(exc, call.after_create, call.new_keys)
        if verdict in ("retry", "not_ready"):
            return None
        return _failure(call, exc, attempts)


def _maybe_sent(call: Call, exc: BaseException, attempts: int) -> Outcome:
    """The failure of a call not to be sent twice, whose attempt may have run."""
    return Outcome(
        call,
        False,
        error=f"no answer ({type(exc).__name__}), and it may have been done: not sent again "
        "(a message sent twice is two messages)",
        attempts=attempts,
    )


def _endpoint_of(call: Call) -> str:
    """scheme://host:port of the call's URL: the endpoint, for messages."""
    parts = urlsplit(getattr(call.request, "uri", "") or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "the endpoint"


def _answered(call: Call, body: Any, attempts: int) -> Outcome:
    """A call answered with success: its body, unless it is no JSON object. googleapiclient
    hands over the text of an answer it cannot parse (an HTML page from a proxy, JSON cut
    short) as a string; an empty one is the empty answer of a delete."""
    if body is None or isinstance(body, dict) or body == "":
        return Outcome(call, True, body, attempts=attempts)
    where = _endpoint_of(call)
    if isinstance(body, str):
        shown = one_line(body.strip()[:60]) + ("…" if len(body.strip()) > 60 else "")
        what = f"text that is not JSON, or JSON cut short ('{shown}')"
    else:
        what = f"JSON that is not an object (a {type(body).__name__})"
    return Outcome(
        call,
        False,
        error=f"{where} answered with {what}: is it the Directory API? "
        f"(check provider.endpoint / {ENDPOINT_ENV})",
        attempts=attempts,
    )


def _failure(call: Call, exc: BaseException, attempts: int, prefix: str = "") -> Outcome:
    """A failed Outcome that says what Google (or the connection) said last."""
    if isinstance(exc, HttpError):
        status, reason = exc.status_code, error_reason(exc)
        message = error_message(exc)
        detail = f"{status} {reason}: {message}".replace(" :", ":")
        detail += access_hint(status, reason, message)
        return Outcome(
            call, False, error=prefix + detail, status=status, reason=reason, attempts=attempts
        )
    if isinstance(exc, RefreshError):
        return Outcome(call, False, error=prefix + token_refused(exc), attempts=attempts)
    return Outcome(call, False, error=f"{prefix}{type(exc).__name__}: {exc}", attempts=attempts)


def _seconds(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise ReconcilerError(f"{name} must be a number of seconds, 0 or more (not {text!r})")
    return value


class _ReleaseWaits:
    """Waits for an address released moments ago: the policy's backoff (without its limit on
    attempts), the last one cut so that they add up to RELEASE_WAIT_S at most."""

    def __init__(self, policy: RetryPolicy):
        self.policy = policy
        self._tries = 0

    def next_wait(self, waited: float) -> float | None:
        """The next wait of a call that has waited `waited` s so far; None: give up."""
        left = RELEASE_WAIT_S - waited
        if left <= 0:
            return None
        ceiling = min(self.policy.cap_s, self.policy.base_s * (2**self._tries))
        self._tries += 1
        return min(left, ceiling / 2 + self.policy.rng.uniform(0, ceiling / 2))


def _not_free_yet(call: Call, exc: BaseException | None) -> bool:
    """A claim of a just-released address answered "already exists": maybe not free yet."""
    return (
        call.after_release
        and isinstance(exc, HttpError)
        and exc.status_code == 409
        and error_reason(exc) == "duplicate"
    )


def _release_failure(call: Call, exc: BaseException, attempts: int, waited: float) -> Outcome:
    outcome = _failure(call, exc, attempts)
    outcome.error = (
        f"{outcome.error} The address was released moments ago, earlier in this run, and was "
        f"still not free after {waited:.0f} s: Google can take longer to free an address "
        "(up to 24 hours). Run apply again later."
    )
    return outcome


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

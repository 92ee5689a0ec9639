"""Which failures are worth retrying, and how long to wait before the next attempt."""

from __future__ import annotations

import http.client
import json
import random
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import httplib2
from googleapiclient.errors import HttpError

Verdict = Literal["retry", "not_ready", "fail"]

RATE_REASONS = {"userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded"}
# A server error that is a refusal, the same on every attempt: the Licensing API answers a
# reassignment to the SKU the user holds with 500 conditionNotMet (GAM-team/GAM#1046).
REFUSAL_REASONS = {"conditionNotMet"}
# Google answers calls on a just-created user or group with these until it is usable.
NOT_READY_MESSAGES = ("creation is not complete", "not yet")
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    socket.timeout,
    http.client.HTTPException,
    httplib2.error.ServerNotFoundError,
    httplib2.error.RedirectMissingLocation,
)


def error_reason(exc: HttpError) -> str:
    """The first `errors[].reason` of a Google error, or ''."""
    try:
        body = json.loads(exc.content.decode("utf-8"))
        return str(body["error"]["errors"][0].get("reason", ""))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return ""


def error_message(exc: HttpError) -> str:
    """Google's message of an error, without the request URL googleapiclient adds."""
    try:
        body = json.loads(exc.content.decode("utf-8"))
        return str(body["error"]["message"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return exc.reason or str(exc.status_code)


def classify(
    exc: BaseException, after_create: bool = False, new_keys: tuple[str, ...] = ()
) -> Verdict:
    """retry: transient (rate limits, 5xx, dropped connections); not_ready: a resource created
    moments ago is not usable yet (only when the call depends on one, and, when `new_keys`
    names which of its keys are new, only a "Resource Not Found" about one of those: a
    member that was never created is not worth waiting for); fail: anything else, a server
    error whose reason is a refusal included (REFUSAL_REASONS)."""
    if isinstance(exc, HttpError):
        status = exc.status_code
        if status >= 500 and error_reason(exc) in REFUSAL_REASONS:
            return "fail"
        if status == 429 or status >= 500:
            return "retry"
        if status == 403 and error_reason(exc) in RATE_REASONS:
            return "retry"
        message = error_message(exc).lower()
        if status == 412 and any(m in message for m in NOT_READY_MESSAGES):
            return "not_ready"
        about_new = not new_keys or any(key.lower() in message for key in new_keys)
        if after_create and status == 404 and about_new:
            return "not_ready"
        return "fail"
    if isinstance(exc, CONNECTION_ERRORS):
        return "retry"
    return "fail"


def may_have_run(exc: BaseException) -> bool:
    """Whether a failed attempt may still have done its work: no answer came (a dropped
    connection, a timeout) or a server error did. Refusals (rate limits, not ready yet) come
    before any work is done."""
    if isinstance(exc, HttpError):
        return exc.status_code >= 500 and error_reason(exc) not in REFUSAL_REASONS
    return True


# Reads that disagree (a listing behind a get, a member listing behind its group's count)
# are read again after these waits, doubling, until they agree or `settle_s` is spent.
SETTLE_FIRST_S = 0.25
SETTLE_CAP_S = 8.0


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter, capped: 1 s, 2 s, 4 s ... up to `cap_s`.

    `settle_s`: how long, in all, reads that disagree are waited for to agree (Google's
    listings lag its writes by seconds) before the read is refused as a short one."""

    max_attempts: int = 8
    base_s: float = 1.0
    cap_s: float = 32.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    settle_s: float = 30.0

    def delays(self) -> Iterator[float]:
        """The waits before attempts 2, 3, ... (max_attempts - 1 of them)."""
        for attempt in range(self.max_attempts - 1):
            ceiling = min(self.cap_s, self.base_s * (2**attempt))
            # Half fixed, half random: never hammer, never synchronize with other clients.
            yield ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def settle_delays(self) -> Iterator[float]:
        """The waits before reading again what disagreed: 0.25 s, 0.5 s, 1 s ... (at most
        8 s each), `settle_s` in all; none when it is 0."""
        spent, wait = 0.0, SETTLE_FIRST_S
        while spent < self.settle_s:
            step = min(wait, SETTLE_CAP_S, self.settle_s - spent)
            yield step
            spent += step
            wait *= 2

"""Latency, injected faults, the per-minute quota and the counters `/_emulator/stats` shows.

Choices where Google documents nothing:
- A call refused by the quota does not use up quota; every call attempted still counts in
  `api_calls` and `by_method` (the quota unit), refused or faulted or not.
- The quota is checked before faults are drawn, so a refused call never draws a fault.
- Faults are drawn from a `random.Random(fault_seed)`: the same sequence of calls meets the
  same faults. Reset re-seeds it.
- The default kinds (FAULT_KINDS) fail a call before it runs: nothing changes. The kinds
  of AFTER_FAULT_KINDS run the call, and keep its changes, then fail its answer, as a
  timeout or a lost answer does in Google's: `backend_error_after` answers 503,
  `drop_after` closes the connection (inside a batch, where a connection cannot be dropped
  for one part, that part answers 503). They are opt-in (name them in `fault_kinds`):
  a client that retries them must cope with its first attempt having worked.
- `batch_order: "shuffle"` runs the parts of a batch in a random order and answers them in
  another (Google: "the calls may be executed in any order"), drawn from a
  `random.Random(fault_seed)` of its own; `"sequential"` (the default) keeps both in the
  order of the request.
"""

from __future__ import annotations

import random
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from reconciler.emulator.transfers import DEFAULT_TRANSFER_DELAY_MS

# name -> (HTTP status, reason, domain, message); "drop" closes the connection instead.
FAULTS: dict[str, tuple[int, str, str, str]] = {
    "too_many_requests": (429, "rateLimitExceeded", "usageLimits", "Rate Limit Exceeded"),
    "backend_error": (503, "backendError", "global", "The service is currently unavailable."),
    "rate_limit": (403, "rateLimitExceeded", "usageLimits", "Rate Limit Exceeded"),
    "user_rate_limit": (403, "userRateLimitExceeded", "usageLimits", "User Rate Limit Exceeded"),
}
DROP = "drop"
# The default kinds: the call fails before it runs.
FAULT_KINDS = (*FAULTS, DROP)
# Opt-in kinds: the call runs (its changes stay), then its answer fails.
BACKEND_ERROR_AFTER = "backend_error_after"
DROP_AFTER = "drop_after"
AFTER_FAULT_KINDS = (BACKEND_ERROR_AFTER, DROP_AFTER)
ALL_FAULT_KINDS = (*FAULT_KINDS, *AFTER_FAULT_KINDS)
# A dropped connection cannot be told apart inside a batch: that part gets this instead.
DROP_IN_BATCH = "backend_error"
BATCH_ORDERS = ("sequential", "shuffle")
# The APIs served, as `disabled_apis` names them (the first part of their method ids).
APIS = ("directory", "datatransfer", "licensing", "groupssettings", "gmail")
QUOTA_WINDOW_S = 60.0


@dataclass
class EmulatorConfig:
    """Options that tests and operators may change at runtime (`POST /_emulator/config`)."""

    latency_ms: float = 0.0
    fault_rate: float = 0.0
    fault_seed: int | None = None
    fault_kinds: list[str] = field(default_factory=lambda: list(FAULT_KINDS))
    quota_per_minute: int = 0  # 0: unlimited
    consistency_delay_ms: float = 0.0
    # For this long after a write, listings show what it changed as it was (api.py, lag.py).
    listing_lag_ms: float = 0.0
    # How long an address released by a call (a removed alias, a deleted user or group)
    # cannot be claimed again (409 duplicate, as Google answers while it frees it).
    address_hold_ms: float = 0.0
    # How long a data transfer stays inProgress before it shows completed (transfers.py).
    transfer_delay_ms: float = DEFAULT_TRANSFER_DELAY_MS
    # collection ("users", "groups", "members"...) -> items every listing of it leaves out
    short_listing: dict[str, int] = field(default_factory=dict)
    batch_order: str = "sequential"  # or "shuffle": parts run and answer in any order
    # Scopes the tenant's domain-wide delegation grants the client (None: any scope).
    delegated_scopes: list[str] | None = None
    # Service accounts holding an admin role, which may call without a subject (None: all).
    admin_service_accounts: list[str] | None = None
    # APIs not enabled in the caller's Cloud project (directory, datatransfer, licensing,
    # groupssettings, gmail): their calls are refused 403 accessNotConfigured (auth.py).
    disabled_apis: list[str] = field(default_factory=list)

    def check(self) -> list[str]:
        """Every problem with these values, as messages."""
        problems = []
        if self.latency_ms < 0:
            problems.append("latency_ms must be 0 or more")
        if not 0.0 <= self.fault_rate <= 1.0:
            problems.append("fault_rate must be between 0 and 1")
        unknown = sorted(set(self.fault_kinds) - set(ALL_FAULT_KINDS))
        if unknown or not self.fault_kinds:
            problems.append(f"fault_kinds must be a non-empty list of {', '.join(ALL_FAULT_KINDS)}")
        unknown_apis = sorted(set(self.disabled_apis) - set(APIS))
        if unknown_apis:
            problems.append(f"disabled_apis must name APIs among {', '.join(APIS)}")
        if self.batch_order not in BATCH_ORDERS:
            problems.append(f"batch_order must be one of {', '.join(BATCH_ORDERS)}")
        if self.quota_per_minute < 0:
            problems.append("quota_per_minute must be 0 (unlimited) or more")
        if self.consistency_delay_ms < 0:
            problems.append("consistency_delay_ms must be 0 or more")
        if self.listing_lag_ms < 0:
            problems.append("listing_lag_ms must be 0 or more")
        if self.address_hold_ms < 0:
            problems.append("address_hold_ms must be 0 or more")
        if self.transfer_delay_ms < 0:
            problems.append("transfer_delay_ms must be 0 or more")
        if any(
            not isinstance(n, int) or isinstance(n, bool) or n < 0
            for n in self.short_listing.values()
        ):
            problems.append("short_listing must map collection names to counts of 0 or more")
        return problems

    def updated(self, changes: dict[str, Any]) -> EmulatorConfig:
        """A copy with `changes` applied; ValueError naming every bad key or value."""
        known = {f.name: f for f in fields(self)}
        problems = [f"unknown option {k!r}" for k in changes if k not in known]
        values = asdict(self)
        for key, value in changes.items():
            if key not in known:
                continue
            if value is None:
                ok = key in _NULLABLE
            else:  # JSON true is not a number here
                ok = isinstance(value, _TYPES[key]) and not isinstance(value, bool)
            if ok and isinstance(value, list):
                ok = all(isinstance(v, str) for v in value)
                value = list(value)
            if ok and isinstance(value, dict):
                value = dict(value)
            if ok:
                values[key] = value
            else:
                problems.append(f"{key} has the wrong type: {value!r}")
        new = EmulatorConfig(**values)
        problems += new.check()
        if problems:
            raise ValueError("; ".join(problems))
        return new

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


_TYPES: dict[str, type | tuple[type, ...]] = {
    "latency_ms": (int, float),
    "fault_rate": (int, float),
    "fault_seed": int,
    "fault_kinds": list,
    "quota_per_minute": int,
    "consistency_delay_ms": (int, float),
    "listing_lag_ms": (int, float),
    "address_hold_ms": (int, float),
    "transfer_delay_ms": (int, float),
    "short_listing": dict,
    "batch_order": str,
    "delegated_scopes": list,
    "admin_service_accounts": list,
    "disabled_apis": list,
}
_NULLABLE = {"fault_seed", "delegated_scopes", "admin_service_accounts"}


class QuotaWindow:
    """Admits at most `limit` calls in any sliding window of 60 seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._admitted: deque[float] = deque()

    def admit(self, limit: int) -> bool:
        """Record and admit one call, or refuse it (refusals use no quota); limit 0: no limit."""
        if limit <= 0:
            return True
        now = self._clock()
        horizon = now - QUOTA_WINDOW_S
        while self._admitted and self._admitted[0] <= horizon:
            self._admitted.popleft()
        if len(self._admitted) >= limit:
            return False
        self._admitted.append(now)
        return True

    def clear(self) -> None:
        self._admitted.clear()


class FaultPlan:
    """Draws, per API call, whether it fails and how; repeatable for a given seed."""

    def __init__(self, seed: int | None) -> None:
        self._random = random.Random(seed)

    def draw(self, rate: float, kinds: list[str]) -> str | None:
        """A fault kind for this call, or None."""
        if rate <= 0.0:
            return None
        if self._random.random() >= rate:
            return None
        return kinds[self._random.randrange(len(kinds))]


class Stats:
    """Counters for `/_emulator/stats`; callers hold the server's lock."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.http_requests = 0
        self.api_calls = 0
        self.batch_requests = 0
        self.faults_injected = 0
        self.quota_rejections = 0
        self.token_grants = 0
        self.token_scopes: Counter[str] = Counter()  # scope -> tokens granted with it
        self.by_method: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()
        self.faults_by_kind: Counter[str] = Counter()
        self.since = time.time()

    def as_json(self) -> dict[str, Any]:
        return {
            "http_requests": self.http_requests,
            "api_calls": self.api_calls,
            "by_method": dict(sorted(self.by_method.items())),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "faults_injected": self.faults_injected,
            "faults_by_kind": dict(sorted(self.faults_by_kind.items())),
            "quota_rejections": self.quota_rejections,
            "batch_requests": self.batch_requests,
            "token_grants": self.token_grants,
            "token_scopes": dict(sorted(self.token_scopes.items())),
            "seconds_since_reset": round(time.time() - self.since, 3),
        }


def google_error(status: int, reason: str, message: str, domain: str = "global") -> dict:
    """Google's JSON error body."""
    return {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"domain": domain, "reason": reason, "message": message}],
        }
    }


def fault_error(kind: str) -> tuple[int, dict]:
    """Status and body of an injected fault (not `drop`; `backend_error_after` answers as
    `backend_error`)."""
    status, reason, domain, message = FAULTS[DROP_IN_BATCH if kind in _AS_BACKEND else kind]
    return status, google_error(status, reason, message, domain)


_AS_BACKEND = frozenset({DROP, *AFTER_FAULT_KINDS})


def quota_error(limit: int) -> tuple[int, dict]:
    """403 userRateLimitExceeded, as Google answers a call over the per-minute quota."""
    message = (
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' "
        f"of service 'admin.googleapis.com' ({limit} per minute, emulated)."
    )
    return 403, google_error(403, "userRateLimitExceeded", message, "usageLimits")

"""The time plans and applies go by: the system clock, or RECONCILER_NOW.

RECONCILER_NOW (an ISO 8601 timestamp, e.g. 2026-06-01T09:00:00Z) stands in for the clock
in plans (delete_after_days, security timestamps) and in what apply records on markers:
for trying offboarding on the emulator without waiting days, and for tests. It moves the
clock only for this tool; Google's own times are its own.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from reconciler.problems import ReconcilerError

NOW_ENV = "RECONCILER_NOW"


def now() -> datetime:
    """The current time, aware, in UTC (RECONCILER_NOW when set)."""
    raw = os.environ.get(NOW_ENV, "").strip()
    if not raw:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ReconcilerError(f"{NOW_ENV}: {raw[:40]!r} is not an ISO 8601 timestamp") from None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)

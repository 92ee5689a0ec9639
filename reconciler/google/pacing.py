"""Client-side pacing: stay under the API quota instead of bouncing off it."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 60.0


class Pacer:
    """At most `per_minute` API calls in any sliding 60-second window (Google's quota unit
    is the call, so each part of a batch counts)."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.per_minute = per_minute
        self.clock = clock
        self.sleep = sleep
        self.waited_s = 0.0
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self, calls: int = 1) -> None:
        """Block until `calls` more calls fit in the window, then count them as sent."""
        calls = min(calls, self.per_minute)
        with self._lock:
            while True:
                now = self.clock()
                while self._sent and self._sent[0] <= now - WINDOW_S:
                    self._sent.popleft()
                room = self.per_minute - len(self._sent)
                if room >= calls:
                    self._sent.extend([now] * calls)
                    return
                # Wait until enough of the oldest calls leave the window.
                wait = self._sent[calls - room - 1] + WINDOW_S - now
                self.waited_s += max(wait, 0.0)
                self.sleep(max(wait, 0.001))

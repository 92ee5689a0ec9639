"""Client-side pacing: stay under the API quota instead of bouncing off it."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

WINDOW_S = 60.0


class Pacer:
    """At most `per_minute` API calls in any sliding 60-second window (Google's quota unit
    is the call, so each part of a batch counts).

    A call is counted from when it is sent (`acquire`) and, once answered, from when its
    answer came (`settle`): the server counted it somewhere in between, so a window that
    runs from the answer frees no call before the server does, and the answered calls of
    one process never bounce off the quota, however slowly the server works through a
    batch. What it cannot see may still meet a refusal, which the client retries: calls of
    other processes on the same quota, and a call whose answer was lost (timed out or cut
    off), which the server may count after the client gave up on it.

    `settle` re-stamps the most recent calls, so one request is in flight at a time (as
    GoogleClient sends them).

    `on_wait(seconds)`, when given, hears of each wait for the quota before the pacer sleeps
    it (GoogleClient.connect says it through the current progress display); it must not call
    the pacer.
    """

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[float], None] | None = None,
    ):
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.per_minute = per_minute
        self.clock = clock
        self.sleep = sleep
        self.on_wait = on_wait
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
                if self.on_wait is not None:
                    self.on_wait(max(wait, 0.0))
                self.sleep(max(wait, 0.001))

    def settle(self, calls: int = 1) -> None:
        """Count the last `calls` calls sent from now, their answer having come."""
        calls = min(calls, self.per_minute)
        with self._lock:
            now = self.clock()
            calls = min(calls, len(self._sent))
            for _ in range(calls):
                self._sent.pop()
            # `now` is no earlier than any stamp, so the window stays in time order.
            self._sent.extend([now] * calls)

    @contextmanager
    def spending(self, calls: int = 1) -> Iterator[None]:
        """Acquire room for `calls`, and settle them when the block ends (answered or not)."""
        self.acquire(calls)
        try:
            yield
        finally:
            self.settle(calls)

"""Progress of long operations on stderr: a counted line now and then, never a flood."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    """Counts items of one phase; prints `label: N` at most every `every_s` seconds."""

    def __init__(
        self,
        label: str,
        stream: TextIO | None = None,
        every_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.every_s = every_s
        self.clock = clock
        self.count = 0
        self.started = clock()
        self._last = self.started
        self._printed = False

    def add(self, n: int = 1) -> None:
        self.count += n
        now = self.clock()
        if now - self._last >= self.every_s:
            self._last = now
            self._printed = True
            print(f"{self.label}: {self.count:,}...", file=self.stream, flush=True)

    def done(self) -> None:
        """A final count, only when the phase was long enough to show progress at all."""
        if self._printed:
            took = self.clock() - self.started
            print(f"{self.label}: {self.count:,} ({took:.1f} s)", file=self.stream, flush=True)

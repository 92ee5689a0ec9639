"""Progress of long operations, on standard error only (standard output holds the plan).

On a terminal (stderr a TTY, CI not set), a display per phase drawn by rich
(reconciler/progress_display.py, imported only then): count, total and bar where known, rate,
time left, quota waits. Elsewhere (CI, pipes, tests), a plain line now and then that reads
well in a log, and nothing at all for a phase too short to have shown a line.

One phase is current per process: the last one begun. The client's quota pacer says its
waits through `quota_wait` (the hook GoogleClient.connect gives its Pacer), and the current
phase shows them, so no function passes progress along for the quota's sake.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

EVERY_S = 5.0  # plain lines: at most one per phase this often (a long quota wait excepted)

_current: Progress | None = None
_terminal: Any = None  # the TerminalDisplay, once a phase chose it


def on_terminal(stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether to draw the terminal display on `stream`: a TTY, and CI not set (or false)."""
    if environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def quota_wait(seconds: float, per_minute: int | None = None) -> None:
    """The pacer is about to sleep `seconds` for the quota: the current phase says so. With
    none, a wait long enough to look like a hang gets a line of its own."""
    if _current is not None:
        _current.waiting(seconds, per_minute)
    elif seconds >= EVERY_S:
        print(f"Waiting {_wait_words(seconds, per_minute)}", file=sys.stderr, flush=True)


class Progress:
    """Counts the items of one phase and shows them: on `stream` as plain lines at most every
    `every_s` seconds; with no stream given, on stderr, drawn by rich on a terminal."""

    def __init__(
        self,
        label: str,
        stream: TextIO | None = None,
        every_s: float = EVERY_S,
        clock: Callable[[], float] = time.monotonic,
        *,
        total: int | None = None,
        unit: str = "",
    ):
        global _current
        self.label = label
        self._stream = stream
        self.every_s = every_s
        self.clock = clock
        self.total = total
        self.unit = unit
        self.count = 0
        self.started = clock()
        self._last = self.started
        self._printed = False
        self._display = _terminal_display(sys.stderr) if stream is None else None
        _current = self

    @property
    def stream(self) -> TextIO:
        """Where plain lines go: the stream given, else stderr as it is now."""
        return self._stream if self._stream is not None else sys.stderr

    def of(self, total: int, unit: str = "") -> Progress:
        """Expect `total` items (counted as `unit`, e.g. "groups"); returns the phase."""
        self.total, self.unit = total, unit
        return self

    def add(self, n: int = 1) -> None:
        self.count += n
        if self._display is not None:
            self._display.counted(self)
        elif self._due():
            self._line(self.facts())

    def waiting(self, seconds: float, per_minute: int | None = None) -> None:
        """Say a wait for the quota: plain, when it is long, or a line is due anyway and the
        wait is a second or more (shorter ones are part of the rate, not news)."""
        if self._display is not None:
            self._display.waiting(self, seconds)
        elif seconds >= self.every_s or (seconds >= 1 and self._due()):
            self._line(f"waiting {_wait_words(seconds, per_minute)}")

    def note(self, text: str) -> None:
        """A line about the phase, said now (not a count)."""
        if self._display is not None:
            self._display.note(self, text)
        else:
            self._line(text)

    def done(self) -> None:
        """The end: on a terminal, the phase's last state stays; in plain lines a final count
        and duration, only when the phase was long enough to show a line at all."""
        global _current
        if _current is self:
            _current = None
        if self._display is not None:
            self._display.done(self)
        elif self._printed:
            self._line(self.summary())

    def summary(self) -> str:
        """`done, 10,000 of 10,000 groups in 41 s`: the phase's end."""
        return f"done, {self.counted()} in {_duration(self.clock() - self.started)}"

    def rate(self) -> float | None:
        """Items a second since the phase began (waits included: they are part of the pace)."""
        took = self.clock() - self.started
        return self.count / took if self.count and took > 0 else None

    def left_s(self) -> float | None:
        """Seconds left at the rate so far, when the total is known."""
        rate = self.rate()
        if self.total is None or rate is None:
            return None
        return max(self.total - self.count, 0) / rate

    def facts(self) -> str:
        """`1,200 of 10,000 groups, 310/s, about 28 s left`, as far as they are known."""
        parts = [self.counted()]
        rate, left = self.rate(), self.left_s()
        if rate is not None:
            parts.append(f"{rate:,.0f}/s" if rate >= 10 else f"{rate:.1f}/s")
        if left is not None:
            parts.append(f"about {_duration(left)} left")
        return ", ".join(parts)

    def counted(self) -> str:
        """`1,200 of 10,000 groups`, or `12,000` with no total and no unit."""
        of = f" of {self.total:,}" if self.total is not None else ""
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.count:,}{of}{unit}"

    def _due(self) -> bool:
        return self.clock() - self._last >= self.every_s

    def _line(self, text: str) -> None:
        self._last = self.clock()
        self._printed = True
        print(f"{self.label}: {text}", file=self.stream, flush=True)


def _terminal_display(stream: TextIO) -> Any:
    """The process's terminal display when `stream` is a terminal outside CI, else None."""
    global _terminal
    if not on_terminal(stream):
        return None
    if _terminal is None or _terminal.stream is not stream:
        from reconciler.progress_display import TerminalDisplay

        _terminal = TerminalDisplay.on(stream)
    return _terminal


def _wait_words(seconds: float, per_minute: int | None) -> str:
    quota = f" ({per_minute:,} calls a minute)" if per_minute else ""
    return f"{_duration(seconds)} for the quota{quota}"


def _duration(seconds: float) -> str:
    """`0.4 s`, `23 s`, `4 min`, `1 h 5 min`: as precise as a person needs."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"

"""The terminal display of progress (reconciler/progress.py chooses it): one rich progress
display on stderr, a line per phase with its bar (when the total is known), count, rate,
time left, and a quota wait counted down. Imported only when a terminal is there to see it.
"""

from __future__ import annotations

import atexit
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.progress import BarColumn, ProgressColumn, Task, TaskID, TextColumn
from rich.progress import Progress as RichProgress
from rich.text import Text

if TYPE_CHECKING:
    from reconciler.progress import Progress


class _Bar(BarColumn):
    """A bar only where the total is known (no pulsing bar that promises nothing)."""

    def render(self, task: Task) -> Text:  # type: ignore[override]
        return Text("") if task.total is None else super().render(task)  # type: ignore[return-value]


class _Facts(ProgressColumn):
    """The phase's own facts (count, rate, time left); while a quota wait runs, the count
    and the wait counted down (the rate and time left are back once it is over)."""

    def __init__(self, clock: Callable[[], float]):
        super().__init__()
        self.clock = clock

    def render(self, task: Task) -> Text:
        left = task.fields.get("wait_until", 0.0) - self.clock()
        if left > 0:
            return Text(f"{task.fields['counted']}, waiting {math.ceil(left)} s for the quota")
        return Text(task.fields.get("facts", ""))


class TerminalDisplay:
    """Phases as tasks of one rich display, started with the first and stopped (its last
    picture left on screen) when none is running."""

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic):
        self.console = console
        self.stream = console.file
        self.clock = clock
        self._shown: RichProgress | None = None
        self._tasks: dict[int, TaskID] = {}  # id(phase) -> its task
        atexit.register(self.close)

    @classmethod
    def on(cls, stream: TextIO) -> TerminalDisplay:
        return cls(Console(file=stream))

    def counted(self, phase: Progress) -> None:
        self._update(phase, wait_until=0.0)

    def waiting(self, phase: Progress, seconds: float) -> None:
        self._update(phase, wait_until=self.clock() + seconds)

    def note(self, phase: Progress, text: str) -> None:
        # Printed above the display while it runs.
        self.console.print(f"{phase.label}: {text}", markup=False, highlight=False)

    def done(self, phase: Progress) -> None:
        if id(phase) not in self._tasks:
            return  # nothing was counted: nothing was shown
        self._update(phase, wait_until=0.0, facts=phase.summary())
        assert self._shown is not None
        self._shown.stop_task(self._tasks.pop(id(phase)))
        if not self._tasks:
            self.close()

    def close(self) -> None:
        if self._shown is not None:
            self._shown.stop()
            self._shown = None
            self._tasks.clear()

    def _update(self, phase: Progress, wait_until: float, facts: str | None = None) -> None:
        if self._shown is None:
            self._shown = RichProgress(
                TextColumn("{task.description}", markup=False),
                _Bar(bar_width=20),
                _Facts(self.clock),
                console=self.console,
                get_time=self.clock,
                # Other lines on stderr go above the display; stdout (the plan) is left alone.
                redirect_stdout=False,
                redirect_stderr=True,
            )
            self._shown.start()
        task = self._tasks.get(id(phase))
        if task is None:
            task = self._tasks[id(phase)] = self._shown.add_task(phase.label, total=phase.total)
        self._shown.update(
            task,
            completed=phase.count,
            total=phase.total,
            counted=phase.counted(),
            facts=phase.facts() if facts is None else facts,
            wait_until=wait_until,
        )

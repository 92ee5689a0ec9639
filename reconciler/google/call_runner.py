"""A runner for targets whose every change is one API call (licenses, group settings): a
batch of changes at a time, each skipped when a prerequisite did not happen, each reported
when its call is answered."""

from __future__ import annotations

from collections.abc import Callable

from reconciler.apply.context import ChangeResult, Context
from reconciler.google.client import Call, GoogleClient
from reconciler.plan.change import Change
from reconciler.target import Run


class OneCallRunner:
    """Runs `call_for(change)`, one call per change, through `client` (the target's
    sibling client)."""

    def __init__(
        self, ctx: Context, run: Run, client: GoogleClient, call_for: Callable[[Change], Call]
    ):
        self.ctx = ctx
        self.run = run
        self.client = client
        self.call_for = call_for

    def before_phase(self, rank: int) -> None:
        """Nothing to do between phases: these calls claim no addresses."""

    def finish(self) -> None:
        """Nothing is left over after the last phase."""

    def run_phase(self, changes: list[Change]) -> None:
        size = self.ctx.client.batch_size
        for start in range(0, len(changes), size):
            self._run_part(changes[start : start + size])

    def _run_part(self, changes: list[Change]) -> None:
        todo: list[tuple[Change, Call]] = []
        for change in changes:
            blocker = self.run.blocked_by(change)
            if blocker:
                self.run.finished(ChangeResult(change, "skipped", blocker))
            else:
                todo.append((change, self.call_for(change)))
        if not todo:
            return
        self.run.started([c for c, _ in todo])
        outcomes = self.client.execute_all([call for _, call in todo])
        for (change, call), outcome in zip(todo, outcomes, strict=True):
            if outcome.ok:
                notes = [f"{call.label}: {outcome.note}"] if outcome.note else []
                self.run.finished(ChangeResult(change, "applied", None, notes))
            else:
                self.run.finished(ChangeResult(change, "failed", f"{call.label}: {outcome.error}"))

"""Execute a Plan: phase by phase, each phase by the target owning its kind of change, the
dependents of failures skipped.

A change names the keys it needs (Change.needs: its org unit, its user's creation, restore
or rename, its group's creation) and whether it establishes its own (Change.establishes);
when one that establishes a key fails or is skipped, every later change needing that key is
skipped, not attempted. Each phase goes to its target's runner (reconciler/registry.py),
which sends it a batch at a time and reports each change as its batch ends. Every runner
hears of every phase before it runs (`before_phase`) and of the end (`finish`): the
Directory target releases addresses across the whole plan before they are claimed
(reconciler/google/execute.py).

Intent comes before each write: a runner hands the password of an account to `on_password`,
and the changes of a batch to `on_started`, before the batch is sent; `on_result` follows. A
run stopped in between leaves started changes without a result (reconciler.commands.apply
records both).
"""

from __future__ import annotations

from reconciler.apply.context import ChangeResult, Context
from reconciler.plan.change import Change
from reconciler.plan.plan import Plan
from reconciler.progress import Progress
from reconciler.registry import TARGETS, target_of


def execute_plan(plan: Plan, ctx: Context) -> list[ChangeResult]:
    """Apply every change of `plan` in order; return one result per change."""
    run = _Run(ctx)
    runners = {target.name: target.runner(plan, ctx, run) for target in TARGETS}
    shown = Progress("Applying changes", total=len(plan.changes))
    for phase in _phases(plan.changes):
        for runner in runners.values():
            runner.before_phase(phase[0].phase)
        runners[target_of(phase[0]).name].run_phase(phase)
        shown.add(len(phase))
    for runner in runners.values():
        runner.finish()
    shown.done()
    return run.results


def _phases(changes: list[Change]) -> list[list[Change]]:
    phases: list[list[Change]] = []
    for change in changes:
        if phases and phases[-1][0].phase == change.phase:
            phases[-1].append(change)
        else:
            phases.append([change])
    return phases


class _Run:
    """The results of one apply, and what they block (see reconciler.target.Run)."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.results: list[ChangeResult] = []
        # Keys whose creation (or rename, adoption, ...) did not happen in this run ->
        # "failed" or "skipped".
        self.failed: dict[str, str] = {}
        self._started: set[int] = set()  # ids of the changes whose writes began

    def blocked_by(self, change: Change) -> str | None:
        for need in change.needs():
            if need in self.failed:
                return f"{need} {self.failed[need]} earlier"
        return None

    def started(self, changes: list[Change]) -> None:
        fresh = list({id(c): c for c in changes if id(c) not in self._started}.values())
        if fresh:
            self._started.update(id(c) for c in fresh)
            self.ctx.on_started(fresh)

    def finished(self, result: ChangeResult) -> None:
        # Whatever later depends on a resource that did not happen cannot work now: skip it,
        # don't try it.
        if result.result != "applied" and result.change.establishes():
            # The first thing that did not happen to a key says why (a group's create
            # failed, so its settings were skipped: its members say it failed).
            self.failed.setdefault(result.change.key, result.result)
        self.results.append(result)
        self.ctx.on_result(result)


def summarize(results: list[ChangeResult]) -> dict[str, int]:
    counts = {"applied": 0, "failed": 0, "skipped": 0}
    for r in results:
        counts[r.result] += 1
    return counts

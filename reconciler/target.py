"""The seam between the plan and the APIs it is read from and applied through: a Target reads
its part of the actual state, verifies the plan against it, and executes its kinds of change
(reconciler/registry.py lists the targets)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from reconciler.apply.context import ChangeResult, Context
    from reconciler.desired import Desired
    from reconciler.google.client import GoogleClient
    from reconciler.google.fetch import Actual
    from reconciler.plan.change import Change
    from reconciler.plan.plan import Plan


class Run(Protocol):
    """What the executor keeps for every target during one apply."""

    def blocked_by(self, change: Change) -> str | None:
        """Why `change` cannot run (a prerequisite failed or was skipped earlier), or None."""
        ...

    def started(self, changes: list[Change]) -> None:
        """Say which changes are about to be written for the first time, before they are."""
        ...

    def finished(self, result: ChangeResult) -> None:
        """Record a change's result (and, when it did not happen, block its dependents)."""
        ...


class Runner(Protocol):
    """A target's side of one apply: it executes the phases of its kinds."""

    def before_phase(self, rank: int) -> None:
        """Called before each phase of the plan, whatever target owns it."""
        ...

    def run_phase(self, changes: list[Change]) -> None:
        """Execute one phase's changes (one kind, one action), reporting each to the Run."""
        ...

    def finish(self) -> None:
        """Called once after the last phase."""
        ...


class Target(Protocol):
    """One API the plan is applied through."""

    name: str
    change_types: tuple[type[Change], ...]  # the kinds of change it executes

    def scopes(self, desired: Desired) -> dict[str, bool]:
        """What it asks of the Google client's credentials (GoogleClient.connect's scope
        flags, e.g. {"licenses": True}); {} for nothing."""
        ...

    def connect(self, desired: Desired, client: GoogleClient) -> AbstractContextManager[None]:
        """Open, for the session, what it reaches beyond the Google client (another
        service's connection, hung on the client: Microsoft Graph as `client.graph`), and
        close it after; a context doing nothing when it needs none."""
        ...

    def check(self, desired: Desired, client: GoogleClient) -> None:
        """Refuse, before anything is read, what this API can never hold (InvalidInput)."""
        ...

    def read(
        self, desired: Desired, client: GoogleClient, actual: Actual | None, *, everything: bool
    ) -> Actual:
        """`actual` with this target's part of the tenant added (targets read in the
        registry's order; the first gets None). A read that is provably short raises
        instead (ShortReadError): nothing is ever planned from it. With `everything`, what
        Git does not manage is read too (import)."""
        ...

    def verify(
        self, desired: Desired, client: GoogleClient, plan: Plan, again: Callable[[], Plan]
    ) -> None:
        """Check `plan` against this API beyond its listings (a planned create that exists
        after all); when the read was behind, `again()` reads and plans anew, and the
        newest plan must pass before this returns. Raises when it never does."""
        ...

    def runner(self, plan: Plan, ctx: Context, run: Run) -> Runner:
        """Its side of applying `plan`."""
        ...

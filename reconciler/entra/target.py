"""Microsoft Entra ID as a target: the security groups Git exports (`entra: true`) and their
members, through Microsoft Graph (README, "Microsoft Entra ID").

Without an `entra:` block it reads nothing and opens no connection (the Graph client and msal
are imported only when one is there: a directory without Entra does not pay for them). With
one, it reads the Entra tenant after Google (fetch.py: its users, its groups with their
markers, the members of the groups the export may change), verifies every planned create by
a lookup of its name (Graph's listings may lag behind a recent create; a plan would
otherwise make a second group of that name), and applies the plan's Entra changes
(runner.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from reconciler.apply.context import Context
from reconciler.google.client import GoogleClient
from reconciler.google.fetch import Actual
from reconciler.plan.change import Change
from reconciler.plan.kinds import EntraGroupChange, EntraMembershipChange
from reconciler.plan.plan import Plan
from reconciler.problems import ReconcilerError
from reconciler.target import Run, Runner

if TYPE_CHECKING:
    from reconciler.desired import Desired
    from reconciler.entra.client import GraphClient


class EntraTarget:
    name = "entra"
    change_types: tuple[type[Change], ...] = (EntraGroupChange, EntraMembershipChange)

    def scopes(self, desired: Desired) -> dict[str, bool]:
        """Nothing of Google's credentials: Graph has its own (entra/session.py)."""
        return {}

    @contextmanager
    def connect(self, desired: Desired, client: GoogleClient) -> Iterator[None]:
        """With an `entra:` block, a Microsoft Graph connection as `client.graph` for the
        session (msal and the Graph client imported only then); without one, nothing."""
        entra = desired.workspace.entra
        if entra is None:
            yield
            return
        from reconciler.entra.session import graph_session

        with graph_session(entra, desired.tree.root) as graph:
            client.graph = graph
            yield

    def check(self, desired: Desired, client: GoogleClient) -> None:
        """Nothing to refuse before the read: the loader validated every display name."""

    def read(
        self, desired: Desired, client: GoogleClient, actual: Actual | None, *, everything: bool
    ) -> Actual:
        """The Entra tenant's part the export needs, after Google's; nothing without an
        `entra:` block."""
        if actual is None:
            raise AssertionError("the Directory target reads before the Entra target")
        wanted = desired.state.entra_groups
        if wanted is not None:
            from reconciler.entra.fetch import read_entra

            actual.state.entra = read_entra(
                graph_of(client), names=set(wanted), owner=desired.workspace.ownership.id
            )
        return actual

    def verify(
        self, desired: Desired, client: GoogleClient, plan: Plan, again: Callable[[], Plan]
    ) -> None:
        """Every Entra group the plan creates is looked up by its name (the listing may be
        behind a create); found, the tenant is read and planned again."""
        if desired.state.entra_groups is not None:
            from reconciler.entra.verify import verify_creates

            verify_creates(graph_of(client), plan, again)

    def runner(self, plan: Plan, ctx: Context, run: Run) -> Runner:
        """Entra changes, through Microsoft Graph's `$batch`; a plan without any gets a
        runner that has nothing to do (and the Graph client is not imported)."""
        if not any(isinstance(c, self.change_types) for c in plan.changes):
            return _NothingToRun()
        from reconciler.entra.runner import EntraRunner

        return EntraRunner(ctx, run, ctx.client.graph, ctx.actual.entra)


class _NothingToRun:
    """The runner of a plan with no Entra change: it hears of each phase and of the end,
    and is never handed one of its own."""

    def before_phase(self, rank: int) -> None:
        """Nothing to prepare."""

    def run_phase(self, changes: list[Change]) -> None:
        raise AssertionError("a plan without Entra changes has no Entra phase")

    def finish(self) -> None:
        """Nothing to finish."""


def graph_of(client: GoogleClient) -> GraphClient:
    """The Graph connection the session opened beside Google's."""
    if client.graph is None:
        raise ReconcilerError("no Microsoft Graph connection was opened for the `entra:` block")
    return client.graph

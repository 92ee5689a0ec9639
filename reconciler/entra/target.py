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

from collections.abc import Callable
from typing import TYPE_CHECKING

from reconciler.apply.context import Context
from reconciler.google.client import GoogleClient
from reconciler.google.fetch import Actual
from reconciler.plan.change import Change
from reconciler.plan.kinds import EntraGroupChange, EntraMembershipChange
from reconciler.plan.plan import Plan
from reconciler.problems import ReconcilerError
from reconciler.target import Run

if TYPE_CHECKING:
    from reconciler.desired import Desired
    from reconciler.entra.client import GraphClient
    from reconciler.entra.runner import EntraRunner


class EntraTarget:
    name = "entra"
    change_types: tuple[type[Change], ...] = (EntraGroupChange, EntraMembershipChange)

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

    def runner(self, plan: Plan, ctx: Context, run: Run) -> EntraRunner:
        """Entra changes, through Microsoft Graph's `$batch`."""
        from reconciler.entra.runner import EntraRunner

        graph = ctx.client.graph
        entra = ctx.actual.entra
        return EntraRunner(ctx, run, graph, entra)


def graph_of(client: GoogleClient) -> GraphClient:
    """The Graph connection the session opened beside Google's."""
    if client.graph is None:
        raise ReconcilerError("no Microsoft Graph connection was opened for the `entra:` block")
    return client.graph

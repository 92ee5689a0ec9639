"""The Directory API as a target: users, groups, org units and memberships.

It checks the tenant's domains before anything is read (google/domains.py), reads users,
org units, groups and the members of the groups Git manages (google/fetch.py), looks up
every planned create by key after the diff (google/verify.py), and executes its changes
(google/execute.py).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from reconciler.apply.context import Context
from reconciler.apply.pending import load_pending
from reconciler.google.client import GoogleClient
from reconciler.google.domains import check_domains, read_domains
from reconciler.google.execute import DirectoryRunner
from reconciler.google.fetch import Actual, fetch_actual
from reconciler.google.fetch_offboarding import accounts_to_read, read_offboarding
from reconciler.google.fetch_targeted import fetch_scope
from reconciler.google.verify import find_existing, settle_found
from reconciler.plan.change import Change
from reconciler.plan.kinds import GroupChange, MembershipChange, OrgUnitChange, UserChange
from reconciler.plan.offboarding import configured
from reconciler.plan.plan import Plan
from reconciler.scope import restrict
from reconciler.state import Group
from reconciler.target import Run

if TYPE_CHECKING:
    from reconciler.desired import Desired


class DirectoryTarget:
    name = "directory"
    change_types: tuple[type[Change], ...] = (
        OrgUnitChange,
        UserChange,
        GroupChange,
        MembershipChange,
    )

    def scopes(self, desired: Desired) -> dict[str, bool]:
        """With the scopes offboarding needs when a user is offboarded or secured."""
        users = list(desired.state.users.values())
        return {"offboarding": configured(desired.workspace, users)}

    def connect(self, desired: Desired, client: GoogleClient) -> AbstractContextManager[None]:
        return nullcontext()

    def check(self, desired: Desired, client: GoogleClient) -> None:
        """Refuse Git addresses on domains the tenant cannot hold: one `domains.list`, made
        before the big read so a missing domain costs nothing more."""
        tenant = read_domains(client, desired.workspace.directory.customer)
        check_domains(desired, tenant)
        # A targeted read looks addresses up only on domains the tenant holds.
        client.tenant_domains = tenant.usable()

    def read(
        self, desired: Desired, client: GoogleClient, actual: Actual | None, *, everything: bool
    ) -> Actual:
        """The tenant as Google holds it. The Directory is read first, so `actual` is None;
        members are read for the groups Git manages, or for every group with `everything`.
        For a targeted plan (`desired.scope`), only the scope (google/fetch_targeted.py),
        widened to what it reaches."""
        ws, scope = desired.workspace, desired.scope
        addresses: set[str] = set()
        for group in desired.state.groups.values():
            addresses.add(group.email)
            addresses.update(group.aliases or ())
            addresses.update(group.previous_emails)
        # A group whose rename an earlier apply began is still at its old address.
        pending = load_pending(desired.tree.root)
        addresses.update(pending.get("groups", {}).values())

        def managed(group: Group) -> bool:
            if everything:
                return True
            if group.owner not in (None, ws.ownership.id):
                return False  # another repository's: left alone, its members not needed
            return group.email in addresses or any(a in addresses for a in group.aliases or ())

        reads_groups = ws.directory.group_management or everything
        if scope is not None and not everything:
            actual = fetch_scope(
                client,
                workspace=ws,
                desired=desired.state,
                pending=pending,
                scope=scope,
                tenant_domains=client.tenant_domains,
                managed=managed if reads_groups else None,
            )
            # The Git side of the scope only, as the diff will see it.
            state = restrict(desired.state, scope)
        else:
            actual = fetch_actual(
                client,
                customer=ws.directory.customer,
                domains=ws.directory.domains,
                managed_groups=managed if reads_groups else None,
            )
            state = desired.state
        if not everything:
            # Offboarding's part: tokens and transfers of the accounts it needs them of.
            credentials, transfers = accounts_to_read(state, actual, ws)
            if credentials or transfers:
                read_offboarding(client, actual, credentials, transfers)
        return actual

    def verify(
        self, desired: Desired, client: GoogleClient, plan: Plan, again: Callable[[], Plan]
    ) -> None:
        """Look up every create of `plan` by key. Listings lag writes, so what a lookup finds
        is waited for: once the listings show it, `again()` reads, diffs and is verified
        anew; what is still found when the time is spent is refused (ShortReadError)."""
        customer = desired.workspace.directory.customer
        # A targeted read found its users and groups by a get already, no listing: only
        # the org units (a listing) are looked up.
        units_only = desired.scope is not None

        def found_now(current: Plan):
            if units_only:
                current = Plan(changes=[c for c in current.changes if c.kind == "org_unit"])
            return find_existing(client, current, desired.state, customer)[0]

        settle_found(client, customer, found_now(plan), lambda: found_now(again()))

    def runner(self, plan: Plan, ctx: Context, run: Run) -> DirectoryRunner:
        return DirectoryRunner(plan, ctx, run)

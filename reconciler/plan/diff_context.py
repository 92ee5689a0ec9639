"""What every differ reads and writes: the two sides, the workspace, the plan, and what one
kind's differ tells a later one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from reconciler.plan.offboarding import Offboard
from reconciler.plan.plan import Plan
from reconciler.settings import Workspace
from reconciler.state import Group, State, User


@dataclass
class ActualView:
    """The actual State with the lookups the diff needs."""

    state: State
    user_addresses: dict[str, str] = field(default_factory=dict)
    group_addresses: dict[str, str] = field(default_factory=dict)
    # Renames an earlier apply began (the alias removed) and did not finish: new -> old.
    pending: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, state: State) -> ActualView:
        view = cls(state)
        for user in state.users.values():
            view.user_addresses[user.email] = user.email
            for alias in user.aliases or ():
                view.user_addresses.setdefault(alias, user.email)
        for group in state.groups.values():
            view.group_addresses[group.email] = group.email
            for alias in group.aliases or ():
                view.group_addresses.setdefault(alias, group.email)
        return view


@dataclass
class DiffContext:
    """The input of every differ, the plan they add to, and what earlier differs found."""

    desired: State
    view: ActualView
    workspace: Workspace
    plan: Plan
    ours: str  # ownership.id: the marker of this repository
    domains: frozenset[str]  # directory.domains, lower-case
    # Accounts the plan renames, old primary -> new primary: group members follow them.
    renamed_users: dict[str, str] = field(default_factory=dict)
    # Accounts of staged users, and users and groups left alone at the alias cap: their
    # group memberships stay as Google has them.
    staged: set[str] = field(default_factory=set)
    # Git users whose account this repository manages after the plan: email -> (the Git
    # user, its account as read; None for one the plan creates or restores). Licenses.
    accounts: dict[str, tuple[User, User | None]] = field(default_factory=dict)
    # Git's groups this repository manages after the plan: email -> (the Git group, the
    # group as read; None for one the plan creates). Group settings.
    groups: dict[str, tuple[Group, Group | None]] = field(default_factory=dict)
    # What the users' differ found for offboarding (offboarding.py plans its steps).
    offboard: Offboard = field(default_factory=Offboard)
    # The time the plan is made at (delete_after_days, security timestamps).
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def of(
        cls,
        desired: State,
        actual: State,
        workspace: Workspace,
        pending: dict[str, dict[str, str]] | None = None,
        now: datetime | None = None,
    ) -> DiffContext:
        view = ActualView.of(actual)
        view.pending = pending or {}
        domains = frozenset(d.lower() for d in workspace.directory.domains)
        context = cls(desired, view, workspace, Plan(), workspace.ownership.id, domains)
        if now is not None:
            context.now = now
        return context

"""The Directory API as a target: users, groups, org units and memberships.

Reading is session.read_actual (google/domains.py first, then google/fetch.py) and the
creates are checked after the diff (google/verify.py); execution is google/execute.py.
"""

from __future__ import annotations

from reconciler.apply.context import Context
from reconciler.google.execute import DirectoryRunner
from reconciler.plan.change import Change
from reconciler.plan.kinds import GroupChange, MembershipChange, OrgUnitChange, UserChange
from reconciler.plan.plan import Plan
from reconciler.target import Run


class DirectoryTarget:
    name = "directory"
    change_types: tuple[type[Change], ...] = (
        OrgUnitChange,
        UserChange,
        GroupChange,
        MembershipChange,
    )

    def runner(self, plan: Plan, ctx: Context, run: Run) -> DirectoryRunner:
        return DirectoryRunner(plan, ctx, run)

"""Desired State x actual State -> Plan, following the JumpCloud integration's semantics.

One differ per kind of change, each in its own module, run in order: users
(diff_users.py), the sign-in messages of new accounts (diff_onboarding.py), org units
(diff_org_units.py), groups and their members (diff_groups.py,
after users: members follow the accounts the plan renames), group settings
(diff_group_settings.py, of the groups the groups' differ found), licenses
(diff_licenses.py, of the accounts the users' differ found), the groups exported to Entra ID
(diff_entra.py). Then the safety checks (safety.py). A new kind of change adds its differ
and one line in `make_plan`.

Every comparison is on normalized values (lower-case emails, sorted tuples, "" and absent
alike), so a plan made right after a successful apply is empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from reconciler.plan.change import Change
from reconciler.plan.diff_context import DiffContext
from reconciler.plan.diff_entra import diff_entra
from reconciler.plan.diff_group_settings import diff_group_settings
from reconciler.plan.diff_groups import diff_groups
from reconciler.plan.diff_licenses import diff_licenses
from reconciler.plan.diff_onboarding import diff_onboarding
from reconciler.plan.diff_org_units import diff_org_units
from reconciler.plan.diff_users import diff_users
from reconciler.plan.offboarding import plan_steps
from reconciler.plan.plan import Plan
from reconciler.plan.safety import check_safety
from reconciler.settings import Workspace
from reconciler.state import State


def make_plan(
    desired: State,
    actual: State,
    workspace: Workspace,
    pending: dict[str, dict[str, str]] | None = None,
    now: datetime | None = None,
) -> Plan:
    """The plan that makes `actual` match `desired`; `pending`: the unfinished renames of an
    earlier apply, {"users": {new: old}, "groups": {new: old}}; `now`: the time the plan is
    made at (default: the clock's)."""
    context = DiffContext.of(desired, actual, workspace, pending, now)
    diff_users(context)
    plan_steps(context)  # offboarding: after the users, before the groups it removes from
    diff_org_units(context)
    diff_groups(context)
    diff_group_settings(context)
    diff_licenses(context)
    diff_entra(context)  # Entra ID last: its changes follow Google's
    check_safety(context.plan, actual, workspace, desired)
    # The sign-in messages of the accounts the plan creates: after the safety checks, whose
    # refusals say more than a missing recipient.
    diff_onboarding(context)
    context.plan.sort()
    return context.plan


def changes_of(plan: Plan, kind: str, actions: Iterable[str]) -> list[Change]:
    """The plan's changes of one kind and some actions (a helper for callers and tests)."""
    wanted = set(actions)
    return [c for c in plan.changes if c.kind == kind and c.action in wanted]

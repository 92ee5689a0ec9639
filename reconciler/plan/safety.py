"""Safety in the plan itself: limits on destructive changes, and protected accounts.

Over a limit, a plan needs --allow-unsafe. A suspension, rename or deletion of a protected
account or a super admin is refused outright: no flag applies it.
"""

from __future__ import annotations

from dataclasses import replace

from reconciler.plan.changes import Change, Plan
from reconciler.settings import Workspace
from reconciler.state import State

PROTECTED_ACTIONS = {"suspend", "rename", "delete"}


def check_safety(plan: Plan, actual: State, workspace: Workspace) -> None:
    """Move refused changes out of plan.changes; record every limit the plan exceeds."""
    protected = set(workspace.protected)
    admins = {u.email for u in actual.users.values() if u.is_admin}
    kept: list[Change] = []
    for change in plan.changes:
        if change.kind == "user" and change.action in PROTECTED_ACTIONS:
            touched = {change.key, change.from_} - {None}
            why = _protection(touched, protected, admins)
            if why:
                plan.refused.append(_with_reason(change, why))
                continue
        kept.append(change)
    plan.changes = kept
    safety = workspace.safety
    managed = sum(1 for u in actual.users.values() if u.owner == workspace.ownership.id)
    members = sum(len(g.members) for g in actual.groups.values())
    counts = plan.summary()
    deletes = counts.get("delete", 0)
    limits = [
        (
            "suspensions",
            counts.get("suspend", 0),
            safety.max_suspend,
            safety.max_suspend_percent,
            managed,
        ),
        ("deletions", deletes, safety.max_delete, safety.max_delete_percent, managed),
        (
            "member removals",
            counts.get("remove_member", 0),
            safety.max_member_removals,
            safety.max_member_removals_percent,
            members,
        ),
    ]
    for what, count, most, percent, base in limits:
        if most is not None and count > most:
            plan.over_limits.append(f"{count} {what} planned; the limit is {most}")
        if percent is not None and base >= safety.percent_floor and base and count:
            share = 100.0 * count / base
            if share > percent:
                plan.over_limits.append(
                    f"{count} {what} planned, {share:.1f}% of {base}; the limit is {percent:g}%"
                )


def _protection(touched: set[str], protected: set[str], admins: set[str]) -> str | None:
    for email in sorted(touched):
        if email in protected:
            return f"{email} is protected (workspace.yaml: protected)"
        if email in admins:
            return f"{email} is a super admin"
    return None


def _with_reason(change: Change, why: str) -> Change:
    reason = f"refused: {why}" + (f"; {change.reason}" if change.reason else "")
    return replace(change, reason=reason)

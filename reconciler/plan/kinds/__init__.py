"""The kinds of change, one module each; CHANGE_TYPES lists them (a new kind: its module
and a line there). Their order is the summary table's columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.plan.change import ACTIONS, Change
from reconciler.plan.change_json import ChangeRecord
from reconciler.plan.kinds.entra import EntraGroupChange, EntraMembershipChange
from reconciler.plan.kinds.group import GroupChange
from reconciler.plan.kinds.group_settings import GroupSettingsChange
from reconciler.plan.kinds.license import LicenseChange
from reconciler.plan.kinds.membership import MembershipChange
from reconciler.plan.kinds.org_unit import OrgUnitChange
from reconciler.plan.kinds.renamable import RenamableChange
from reconciler.plan.kinds.user import UserChange

CHANGE_TYPES: tuple[type[Change], ...] = (
    UserChange,
    GroupChange,
    OrgUnitChange,
    MembershipChange,
    LicenseChange,
    GroupSettingsChange,
    EntraGroupChange,
    EntraMembershipChange,
)

BY_KIND: Mapping[str, type[Change]] = {t.kind: t for t in CHANGE_TYPES}

# Every (kind, action) a plan can hold, in the order they are applied.
PHASES: list[tuple[str, str]] = sorted(
    ((t.kind, action) for t in CHANGE_TYPES for action in t.phases),
    key=lambda p: BY_KIND[p[0]].phases[p[1]],
)
PHASE_RANK: Mapping[tuple[str, str], int] = {
    (kind, action): BY_KIND[kind].phases[action] for kind, action in PHASES
}


# What every kind must say of itself for the plan's guards (Change): the targeted plan's
# scope (reconciler/scope.py) and the safety limits and protection (plan/safety.py) ask the
# type, never its kind's name.
DECLARED: tuple[str, ...] = ("scoped_by", "limits", "protected")


def check_kinds(types: tuple[type[Change], ...]) -> None:
    """Refuse kinds that do not declare what the guards need, or whose `limits` and
    `protected` name actions they lack."""
    for change_type in types:
        missing = [name for name in DECLARED if not hasattr(change_type, name)]
        if missing:
            raise AssertionError(f"{change_type.__name__} does not declare {missing}")
        if change_type.scoped_by not in ("users", "groups", "entra", None):
            raise AssertionError(f"{change_type.__name__}.scoped_by: no Scope set of that name")
        strange = (set(change_type.limits) | change_type.protected) - set(change_type.phases)
        if strange:
            raise AssertionError(f"{change_type.__name__}: no actions {sorted(strange)}")


def _check_tables() -> None:
    # One phase is one batch of one kind: two (kind, action) pairs never share a rank.
    ranks = list(PHASE_RANK.values())
    if len(set(ranks)) != len(ranks):
        raise AssertionError("two kinds of change share a phase rank")
    unknown = {action for _, action in PHASES} - set(ACTIONS)
    if unknown:
        raise AssertionError(f"actions missing from the action table: {sorted(unknown)}")
    check_kinds(CHANGE_TYPES)


_check_tables()


def change_from_json(data: dict[str, Any]) -> Change:
    """The change a JSON plan entry describes; ValueError when it names no kind of change,
    or an action its kind does not have."""
    record = ChangeRecord.model_validate(data)
    change_type = BY_KIND.get(record.kind)
    if change_type is None:
        raise ValueError(f"no kind of change {record.kind!r}")
    return change_type.from_record(record)


__all__ = [
    "BY_KIND",
    "CHANGE_TYPES",
    "DECLARED",
    "PHASES",
    "PHASE_RANK",
    "EntraGroupChange",
    "EntraMembershipChange",
    "GroupChange",
    "GroupSettingsChange",
    "LicenseChange",
    "MembershipChange",
    "OrgUnitChange",
    "RenamableChange",
    "UserChange",
    "change_from_json",
    "check_kinds",
]

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


def _check_tables() -> None:
    # One phase is one batch of one kind: two (kind, action) pairs never share a rank.
    ranks = list(PHASE_RANK.values())
    if len(set(ranks)) != len(ranks):
        raise AssertionError("two kinds of change share a phase rank")
    unknown = {action for _, action in PHASES} - set(ACTIONS)
    if unknown:
        raise AssertionError(f"actions missing from the action table: {sorted(unknown)}")


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
]

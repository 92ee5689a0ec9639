"""A change to a group (its own attributes; its members are membership changes)."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.plan.kinds.renamable import RenamableChange


@dataclass(frozen=True)
class GroupChange(RenamableChange):
    kind = "group"
    label = "group"
    plural = "groups"
    scoped_by = "groups"
    limits = {}
    protected = frozenset()
    # Renamed right after users (every address released before one is claimed); created
    # after users, so its members exist before they are added.
    phases = {"rename": 40, "create": 100, "adopt": 110, "update": 120}

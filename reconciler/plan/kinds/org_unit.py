"""A change to an organizational unit; `key` is its path."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.plan.change import Change


@dataclass(frozen=True)
class OrgUnitChange(Change):
    kind = "org_unit"
    label = "org unit"
    plural = "org units"
    # First: users are created and moved into units that exist.
    phases = {"create": 10, "update": 20}

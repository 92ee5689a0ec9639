"""Org units: created when Google lacks them, their name and description updated."""

from __future__ import annotations

from reconciler.plan.change import FieldChange
from reconciler.plan.compare import same
from reconciler.plan.diff_context import DiffContext
from reconciler.plan.kinds import OrgUnitChange


def diff_org_units(context: DiffContext) -> None:
    """Org unit changes: a create for each unit Google lacks, an update for each it has
    otherwise."""
    # Google's org unit paths ignore case (/engineering is /Engineering): a unit Git spells
    # otherwise exists, and only its name is changed to Git's spelling (which carries the
    # units and users below it along).
    existing = {path.lower(): unit for path, unit in context.view.state.org_units.items()}
    plan = context.plan
    for path, unit in context.desired.org_units.items():
        have = existing.get(path.lower())
        if have is None:
            fields = (
                {"description": FieldChange(None, unit.description)} if unit.description else {}
            )
            plan.changes.append(OrgUnitChange("create", path, fields, origin=unit.origin))
            continue
        fields = {}
        if have.name != unit.name:
            fields["name"] = FieldChange(have.name, unit.name)
        if unit.description is not None and not same(unit.description, have.description):
            fields["description"] = FieldChange(have.description, unit.description)
        if fields:
            plan.changes.append(OrgUnitChange("update", path, fields, origin=unit.origin))

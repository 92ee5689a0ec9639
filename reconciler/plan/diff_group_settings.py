"""Group settings (README, "Group settings"): the settings Git declares for each group this
repository manages (workspace.yaml's `group_settings:`, the group's own `settings:` over
them), against the ones Google holds. Only settings Git names are compared; Google's others
stay as they are. A group the plan creates gets its declared settings in the same apply."""

from __future__ import annotations

from reconciler.plan.change import FieldChange
from reconciler.plan.diff_context import DiffContext
from reconciler.plan.kinds import GroupSettingsChange
from reconciler.problems import ReconcilerError


def diff_group_settings(context: DiffContext) -> None:
    for email, (group, existing) in context.groups.items():
        if not group.settings:
            continue
        held = existing.settings if existing is not None else None
        if existing is not None and held is None:
            # Not read (the target reads the settings of every group Git declares them for,
            # found as the groups' differ finds it): never planned from a read that did not
            # happen.
            raise ReconcilerError(
                f"the settings of group {existing.email} were not read; plan again (the "
                "listings may have been behind)"
            )
        fields = {
            key: FieldChange((held or {}).get(key), value)
            for key, value in sorted(group.settings.items())
            if (held or {}).get(key) != value
        }
        if fields:
            context.plan.changes.append(
                GroupSettingsChange("update", email, fields, origin=group.origin)
            )

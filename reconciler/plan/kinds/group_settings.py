"""A change to the settings of one Google group (Groups Settings API); `key` is the group's
email after the plan's renames, `fields` the settings Git declares that differ (YAML keys,
values as Git writes them; `old` None for a group the plan creates)."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.plan.change import Change


@dataclass(frozen=True)
class GroupSettingsChange(Change):
    kind = "group_settings"
    label = "group settings"
    plural = "group settings"
    scoped_by = "groups"
    limits = {}
    protected = frozenset()
    # After the group exists (created, renamed, adopted, updated), before its members: a
    # group never holds members under settings Git did not ask for longer than it must.
    phases = {"update": 125}

    def summary_text(self) -> str:
        return f"update the settings of group {self.key}"

    def establishes(self) -> bool:
        """For a group the plan creates (no setting held before), its settings are part of
        bringing it about: if they fail, its members are not added under Google's defaults
        (anyone may post, say). For an existing group they are not: a failed write must not
        hold back the removals of members Git took out."""
        return all(fc.old is None for fc in self.fields.values())

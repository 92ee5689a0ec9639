"""Where targets are registered: every API the plan is applied through, with the kinds of
change it executes. Every kind (reconciler/plan/kinds/) has exactly one target."""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.entra.target import EntraTarget
from reconciler.google.group_settings_target import GroupSettingsTarget
from reconciler.google.license_target import LicensingTarget
from reconciler.google.target import DirectoryTarget
from reconciler.plan.change import Change
from reconciler.plan.kinds import CHANGE_TYPES
from reconciler.target import Target

# In the order they read: the Licensing target reads after the Directory, on its accounts;
# Entra ID last, its changes after Google's.
TARGETS: tuple[Target, ...] = (
    DirectoryTarget(),
    LicensingTarget(),
    GroupSettingsTarget(),
    EntraTarget(),
)

_OWNERS: Mapping[type[Change], Target] = {
    change_type: target for target in TARGETS for change_type in target.change_types
}
if set(_OWNERS) != set(CHANGE_TYPES) or sum(len(t.change_types) for t in TARGETS) != len(
    CHANGE_TYPES
):
    raise AssertionError("every kind of change needs exactly one target")


def target_of(change: Change) -> Target:
    """The target that executes `change`."""
    return _OWNERS[type(change)]

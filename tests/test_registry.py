"""The registry: every kind of change has exactly one target, which executes all its actions."""

from __future__ import annotations

from reconciler.google.execute import _CALLS
from reconciler.google.target import DirectoryTarget
from reconciler.plan.kinds import CHANGE_TYPES, UserChange
from reconciler.registry import TARGETS, target_of


def test_every_kind_has_one_target() -> None:
    owned = [t for target in TARGETS for t in target.change_types]
    assert sorted(t.kind for t in owned) == sorted(t.kind for t in CHANGE_TYPES)
    assert isinstance(target_of(UserChange("create", "a@x.io")), DirectoryTarget)


def test_the_directory_target_executes_every_action_of_its_kinds() -> None:
    for change_type in DirectoryTarget.change_types:
        assert set(_CALLS[change_type]) == set(change_type.phases)

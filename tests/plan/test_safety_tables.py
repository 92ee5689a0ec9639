"""Every destructive action is counted by a safety limit: the action table and safety.py are
checked against each other when safety.py is imported."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from reconciler.plan import safety
from reconciler.plan.change import ACTIONS, Action, Change
from reconciler.plan.kinds import CHANGE_TYPES


def test_every_destructive_action_is_counted_by_a_limit():
    destructive = {a.name for a in ACTIONS.values() if a.destructive}
    assert {"suspend", "delete", "remove_member", "sign_out", "revoke_tokens"} <= destructive
    assert destructive <= safety.LIMITED
    safety.check_limited(ACTIONS)  # what the import runs


def test_a_destructive_action_no_limit_counts_is_refused():
    wipe = Action("wipe", "-", "to wipe", "when planned", 99, True, False)
    with pytest.raises(AssertionError, match=r"no safety limit counts: \['wipe'\]"):
        safety.check_limited({**ACTIONS, "wipe": wipe})
    harmless = Action("note", "~", "to note", "when planned", 98, False, False)
    safety.check_limited({**ACTIONS, "note": harmless})


def test_every_destructive_action_of_every_kind_is_counted_by_a_limit_safety_has():
    safety.check_kinds_limited(CHANGE_TYPES)  # what the import runs
    assert {limit for t in CHANGE_TYPES for limit in t.limits.values()} == set(safety.LIMITS)


def test_a_kind_whose_destructive_action_no_limit_counts_is_refused():
    @dataclass(frozen=True)
    class WipeChange(Change):
        kind = "wipe"
        label = "wipe"
        plural = "wipes"
        phases = {"delete": 998, "update": 999}
        scoped_by = None
        limits = {}
        protected = frozenset()

    with pytest.raises(AssertionError, match=r"no safety limit counts: \['delete'\]"):
        safety.check_kinds_limited((WipeChange,))

    @dataclass(frozen=True)
    class OddChange(WipeChange):
        limits = {"delete": "wipes"}

    with pytest.raises(AssertionError, match=r"no safety limits \['wipes'\]"):
        safety.check_kinds_limited((OddChange,))

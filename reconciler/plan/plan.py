"""The Plan: the ordered changes that renderers and the executor both consume."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from reconciler.plan.change import ACTIONS, Change

FORMAT_VERSION = 1


@dataclass
class Plan:
    """What it takes to make Google match Git, in apply order, and whether it may run."""

    changes: list[Change] = field(default_factory=list)
    # Changes to protected accounts or super admins: never applied, with or without
    # --allow-unsafe; while any is planned the plan cannot be applied.
    refused: list[Change] = field(default_factory=list)
    # Safety limits exceeded: applying needs --allow-unsafe.
    over_limits: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # A targeted plan's scope in one sentence (reconciler/scope.py), shown before the
    # changes; None for a full plan. The JSON plan says it in `meta.changed_since`.
    scope: str | None = None

    def sort(self) -> None:
        self.changes.sort(key=lambda c: c.sort_key())
        self.refused.sort(key=lambda c: (c.phase, c.key))

    @property
    def unsafe(self) -> bool:
        return bool(self.refused or self.over_limits)

    def summary(self) -> dict[str, int]:
        """Changes per action, every action listed (0 when none), in the contract's order."""
        counts: dict[str, int] = dict.fromkeys(ACTIONS, 0)
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def checksum(self) -> str:
        """sha256 over the canonical changes (sources excluded: moving YAML changes nothing)."""
        return checksum_of([c.to_json() for c in [*self.changes, *self.refused]])

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "changes": [c.to_json() for c in self.changes],
            "summary": self.summary(),
            "refused": [c.to_json() for c in self.refused],
            "over_limits": list(self.over_limits),
            "notes": list(self.notes),
            "checksum": self.checksum(),
        }


def checksum_of(records: list[dict[str, Any]]) -> str:
    """sha256 over JSON change records, their `source` left out."""
    canonical = [{k: v for k, v in r.items() if k != "source"} for r in records]
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

"""The Plan: a typed, ordered list of changes that renderers and the executor both consume."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from reconciler.state import Origin

Action = Literal[
    "create",
    "undelete",
    "update",
    "rename",
    "adopt",
    "suspend",
    "unsuspend",
    "delete",
    "add_member",
    "remove_member",
    "update_member",
]
Kind = Literal["user", "group", "org_unit", "membership"]

FORMAT_VERSION = 1
ACTIONS: tuple[str, ...] = get_args(Action)

# The order changes are applied in; the plan lists them the same way.
# Renames come before creates: an address is claimed only after every release that can free
# it (the executor removes aliases before the renames, and the old addresses Git drops
# right after them).
PHASES: list[tuple[Kind, Action]] = [
    ("org_unit", "create"),
    ("org_unit", "update"),
    ("user", "rename"),
    ("group", "rename"),
    ("user", "create"),
    ("user", "undelete"),
    ("user", "adopt"),
    ("user", "update"),
    ("user", "unsuspend"),
    ("group", "create"),
    ("group", "adopt"),
    ("group", "update"),
    ("membership", "add_member"),
    ("membership", "update_member"),
    ("membership", "remove_member"),
    ("user", "suspend"),
    ("user", "delete"),
    ("group", "delete"),
]
PHASE_RANK = {phase: i for i, phase in enumerate(PHASES)}


@dataclass(frozen=True)
class FieldChange:
    old: Any
    new: Any


@dataclass(frozen=True)
class Change:
    """One change to one resource. `key` is the lower-case email (or OU path) it acts on;
    for a rename, `key` is the new address and `from_` the old one."""

    action: Action
    kind: Kind
    key: str
    fields: dict[str, FieldChange] = field(default_factory=dict)
    from_: str | None = None
    group: str | None = None
    member: str | None = None
    role: str | None = None
    member_type: str | None = None
    reason: str | None = None
    origin: Origin | None = field(default=None, compare=False)

    @property
    def phase(self) -> int:
        return PHASE_RANK[(self.kind, self.action)]

    def to_json(self) -> dict[str, Any]:
        """The change as in the JSON plan (contract: action, kind, key, fields, from, group,
        member, role); `reason` and `source` are extras."""
        out: dict[str, Any] = {"action": self.action, "kind": self.kind, "key": self.key}
        if self.fields:
            out["fields"] = {
                name: {"old": _jsonable(fc.old), "new": _jsonable(fc.new)}
                for name, fc in self.fields.items()
            }
        if self.from_ is not None:
            out["from"] = self.from_
        for name in ("group", "member", "role", "member_type", "reason"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.origin is not None:
            out["source"] = f"{self.origin.path.as_posix()}:{self.origin.line}"
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        fields = {
            name: FieldChange(_tuple_if_list(v.get("old")), _tuple_if_list(v.get("new")))
            for name, v in (data.get("fields") or {}).items()
        }
        return cls(
            action=data["action"],
            kind=data["kind"],
            key=data["key"],
            fields=fields,
            from_=data.get("from"),
            group=data.get("group"),
            member=data.get("member"),
            role=data.get("role"),
            member_type=data.get("member_type"),
            reason=data.get("reason"),
        )


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

    def sort(self) -> None:
        self.changes.sort(key=lambda c: (c.phase, c.group or "", c.key, c.member or ""))
        self.refused.sort(key=lambda c: (c.phase, c.key))

    @property
    def unsafe(self) -> bool:
        return bool(self.refused or self.over_limits)

    def summary(self) -> dict[str, int]:
        """Changes per action, every action listed (0 when none), in apply order."""
        counts: dict[str, int] = dict.fromkeys(ACTIONS, 0)
        for change in self.changes:
            counts[change.action] = counts.get(change.action, 0) + 1
        return counts

    def checksum(self) -> str:
        """sha256 over the canonical changes (sources excluded: moving YAML changes nothing)."""
        canonical = [
            {k: v for k, v in c.to_json().items() if k != "source"}
            for c in [*self.changes, *self.refused]
        ]
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

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


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value


def _tuple_if_list(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value

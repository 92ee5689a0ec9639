"""What every change has: an action from one table of actions, a key, a reason, a source.

Each kind of change is its own type (reconciler/plan/kinds/) naming the actions it allows
and their phases; a change of an action its kind lacks cannot be made.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar, Literal, Self

from reconciler.plan.change_json import ChangeRecord, FieldRecord, from_jsonable, jsonable
from reconciler.state import Origin

Symbol = Literal["+", "~", "-"]


@dataclass(frozen=True)
class Action:
    """How one action is shown and counted, whatever the kind it acts on."""

    name: str
    symbol: Symbol
    label: str  # in the `Plan:` line: "3 to create"
    # Where the `Plan:` line counts it: always (its place kept for whoever reads the line
    # with a pattern), only when planned, or after "members:" or "licenses:".
    shown: Literal["always", "when planned", "members", "licenses"]
    line_rank: int  # its place in the `Plan:` line and the summary table
    destructive: bool  # takes something away: a safety limit must count it (plan/safety.py)
    # Brings its key about (what later changes may need): when it fails or is skipped, the
    # changes that need its key are skipped.
    establishes: bool


# In the order of the JSON plan's `summary` (a contract: keep it).
ACTIONS: Mapping[str, Action] = {
    a.name: a
    for a in (
        Action("create", "+", "to create", "always", 0, False, True),
        Action("undelete", "+", "to undelete", "when planned", 7, False, True),
        Action("update", "~", "to update", "always", 3, False, False),
        Action("rename", "~", "to rename", "always", 1, False, True),
        Action("adopt", "~", "to adopt", "always", 2, False, True),
        Action("suspend", "-", "to suspend", "always", 5, True, False),
        Action("unsuspend", "~", "to unsuspend", "always", 4, False, False),
        Action("delete", "-", "to delete", "always", 6, True, False),
        Action("add_member", "+", "to add", "members", 20, False, False),
        Action("remove_member", "-", "to remove", "members", 22, True, False),
        Action("update_member", "~", "to change", "members", 21, False, False),
        # Offboarding and security steps (README, "Offboarding"): shown when planned. Ending
        # sessions and revoking grants take access away ("-", destructive: counted with the
        # suspensions); a transfer moves data to someone else, losing nothing ("~"); so does
        # a password change, which only asks for a new one.
        Action("sign_out", "-", "to sign out", "when planned", 8, True, False),
        Action("revoke_tokens", "-", "to revoke tokens", "when planned", 9, True, False),
        Action("transfer_data", "~", "to transfer data", "when planned", 10, False, False),
        Action(
            "require_password_change",
            "~",
            "to require a password change",
            "when planned",
            11,
            False,
            False,
        ),
        # Onboarding (README, "Onboarding"): a new account's sign-in details sent to its
        # manager or recovery email; takes nothing away.
        Action("notify", "+", "to notify", "when planned", 12, False, False),
        # Licenses (README, "Licenses"): a revocation takes a person's Google services away
        # (counted by safety.max_license_revocations).
        Action("assign_license", "+", "to assign", "licenses", 30, False, False),
        Action("change_license", "~", "to change", "licenses", 31, False, False),
        Action("revoke_license", "-", "to revoke", "licenses", 32, True, False),
    )
}

ACTION_NAMES: tuple[str, ...] = tuple(ACTIONS)


@dataclass(frozen=True)
class FieldChange:
    old: Any
    new: Any


@dataclass(frozen=True)
class Change:
    """One change to one resource; `key` is what it acts on (a lower-case email, an org unit
    path). Concrete kinds subclass it and set the class attributes below."""

    kind: ClassVar[str]  # as in the JSON plan
    label: ClassVar[str]  # in sentences: "org unit"
    plural: ClassVar[str]  # a column of the summary table: "org units"
    # The actions this kind allows -> its phase: changes are applied by phase, lowest first
    # (ranks are plan-wide, so kinds interleave; reconciler/plan/kinds/ lists them all).
    phases: ClassVar[Mapping[str, int]]
    # What the plan's guards need of each kind (kinds/__init__.py refuses a kind without):
    # - `scoped_by`: the set of a targeted plan's Scope (reconciler/scope.py) that holds what
    #   a change of this kind is about, looked up by `scope_keys()`; None: every targeted
    #   plan has it (org units, read whole).
    # - `limits`: action -> the safety limit counting it (plan/safety.py `LIMITS`); every
    #   destructive action of the kind must have one.
    # - `protected`: the actions refused on a protected account or a super admin
    #   (plan/safety.py `refuse_protected`), by `key` and the old address `from_`.
    scoped_by: ClassVar[Literal["users", "groups", "entra"] | None]
    limits: ClassVar[Mapping[str, str]]
    protected: ClassVar[frozenset[str]]

    action: str
    key: str
    fields: dict[str, FieldChange] = field(default_factory=dict)
    _: KW_ONLY
    reason: str | None = None
    origin: Origin | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.action not in getattr(type(self), "phases", {}):
            kind = getattr(type(self), "kind", type(self).__name__)
            raise ValueError(f"no {self.action} of kind {kind!r}")

    @property
    def phase(self) -> int:
        return self.phases[self.action]

    @property
    def symbol(self) -> Symbol:
        return ACTIONS[self.action].symbol

    def sort_key(self) -> tuple[Any, ...]:
        """Where the change goes in the plan: by phase, then by key."""
        return (self.phase, "", self.key, "")

    def needs(self) -> list[str]:
        """The keys this change cannot do without, in the order they are checked."""
        return [self.key]

    def scope_keys(self) -> tuple[str | None, ...]:
        """The keys that put the change in a targeted plan: any of them in the Scope set
        `scoped_by` names."""
        return (self.key,)

    def establishes(self) -> bool:
        """Whether the change brings its key about: if it does not happen, whatever needs
        the key is skipped."""
        return ACTIONS[self.action].establishes

    def identity(self) -> tuple[Any, ...]:
        """What the change acts on, whatever its values: two plans' changes with one identity
        are the same change, maybe with other values."""
        return (self.action, self.kind, self.key)

    def describe(self) -> str:
        """One line saying what the change does to what."""
        text = self.summary_text()
        return f"{text} ({self.reason})" if self.reason else text

    def summary_text(self) -> str:
        """`describe()` without the reason."""
        return f"{self.action} {self.label} {self.key}"

    def field_lines(self) -> list[str]:
        """One indented line per field: its new value, after the old one where it had one."""
        width = max((len(n) for n in self.fields), default=0)
        lines = []
        for name, fc in self.fields.items():
            label = f"{name}:".ljust(width + 1)
            if self.action == "create" or fc.old == fc.new:
                lines.append(f"    {label} {_shown(fc.new)}")
            else:
                lines.append(f"    {label} {_shown(fc.old)} -> {_shown(fc.new)}")
        return lines

    def json_extras(self) -> dict[str, Any]:
        """The JSON plan's keys this kind adds after `fields`, by their names in
        ChangeRecord (None: left out)."""
        return {}

    @classmethod
    def extras_of(cls, record: ChangeRecord) -> dict[str, Any]:
        """This kind's own attributes from a JSON record: json_extras() read back."""
        return {}

    def to_json(self) -> dict[str, Any]:
        """The change as in the JSON plan (contract: action, kind, key, fields, from, group,
        member, role); `reason` and `source` are extras."""
        values: dict[str, Any] = {"action": self.action, "kind": self.kind, "key": self.key}
        if self.fields:
            values["fields"] = {
                name: FieldRecord(old=jsonable(fc.old), new=jsonable(fc.new))
                for name, fc in self.fields.items()
            }
        values.update((k, v) for k, v in self.json_extras().items() if v is not None)
        if self.reason is not None:
            values["reason"] = self.reason
        if self.origin is not None:
            values["source"] = f"{self.origin.path.as_posix()}:{self.origin.line}"
        return ChangeRecord(**values).to_json()

    @classmethod
    def from_record(cls, record: ChangeRecord) -> Self:
        """The change a JSON record describes (its source is not read back)."""
        fields = {
            name: FieldChange(from_jsonable(value.old), from_jsonable(value.new))
            for name, value in (record.fields or {}).items()
        }
        return cls(record.action, record.key, fields, reason=record.reason, **cls.extras_of(record))


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(value) + "]"
    return json.dumps(value, ensure_ascii=False)

"""A change as the JSON plan writes it: one flat record, its keys in the contract's order."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class FieldRecord(BaseModel):
    """One field of a change: `old` and `new` (a list for an address list)."""

    model_config = ConfigDict(frozen=True)

    old: Any = None
    new: Any = None


class ChangeRecord(BaseModel):
    """Every key a change of any kind may have, in the JSON plan's order; a kind fills only
    its own. Keys of no kind are ignored on reading, as they always were."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    action: str
    kind: str
    key: str
    fields: dict[str, FieldRecord] | None = None
    from_: str | None = Field(default=None, alias="from")
    group: str | None = None
    member: str | None = None
    role: str | None = None
    member_type: str | None = None
    product: str | None = None
    reason: str | None = None
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The keys that were given, by their JSON names."""
        return self.model_dump(by_alias=True, exclude_unset=True)

    def as_written(self) -> dict[str, Any]:
        """The record as a change writes it, whatever its kind: keys without a value and
        empty fields left out, every field with old and new. A saved plan's checksum is
        checked over these, so a key its kind does not have still counts as an edit."""
        out = self.model_dump(by_alias=True, exclude_none=True, exclude={"fields"})
        if self.fields:
            out["fields"] = {n: {"old": f.old, "new": f.new} for n, f in self.fields.items()}
        return out


def jsonable(value: Any) -> Any:
    """A value as JSON holds it (address lists are tuples in a change, lists in JSON)."""
    return list(value) if isinstance(value, tuple) else value


def from_jsonable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value

"""What users and groups share: an address that a rename changes (`from_`, the old one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.plan.change import Change
from reconciler.plan.change_json import ChangeRecord


@dataclass(frozen=True)
class RenamableChange(Change):
    """A change to something found by its address; for a rename, `key` is the new address
    and `from_` the old one."""

    from_: str | None = None

    def summary_text(self) -> str:
        if self.action == "rename":
            return f"rename {self.label} {self.from_} -> {self.key}"
        return super().summary_text()

    def needs(self) -> list[str]:
        return [self.key, self.from_] if self.from_ else [self.key]

    def scope_keys(self) -> tuple[str | None, ...]:
        return (self.key, self.from_)

    def identity(self) -> tuple[Any, ...]:
        return (*super().identity(), self.from_)

    def json_extras(self) -> dict[str, Any]:
        return {"from_": self.from_}

    @classmethod
    def extras_of(cls, record: ChangeRecord) -> dict[str, Any]:
        return {"from_": record.from_}

"""A change to one member of one group; `key` is `group/member`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.plan.change import Change
from reconciler.plan.change_json import ChangeRecord


@dataclass(frozen=True)
class MembershipChange(Change):
    kind = "membership"
    label = "membership"
    plural = "members"
    scoped_by = "groups"  # by its group, whoever the member is
    limits = {"remove_member": "member removals"}
    protected = frozenset()
    # After users and groups are created, renamed and restored; before suspensions.
    phases = {"add_member": 130, "update_member": 140, "remove_member": 150}

    group: str | None = None
    member: str | None = None
    role: str | None = None
    member_type: str | None = None  # USER, GROUP, CUSTOMER or EXTERNAL

    def summary_text(self) -> str:
        texts = {
            "add_member": f"add {self.member} to {self.group} as {self.role}",
            "remove_member": f"remove {self.member} from {self.group}",
            "update_member": f"change the role of {self.member} in {self.group}",
        }
        return texts[self.action]

    def needs(self) -> list[str]:
        return [self.group or "", self.member or ""]

    def scope_keys(self) -> tuple[str | None, ...]:
        return (self.group,)

    def sort_key(self) -> tuple[Any, ...]:
        return (self.phase, self.group or "", self.key, self.member or "")

    def identity(self) -> tuple[Any, ...]:
        return (*super().identity(), self.group, self.member)

    def json_extras(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "member": self.member,
            "role": self.role,
            "member_type": self.member_type,
        }

    @classmethod
    def extras_of(cls, record: ChangeRecord) -> dict[str, Any]:
        return {
            "group": record.group,
            "member": record.member,
            "role": record.role,
            "member_type": record.member_type,
        }

"""Changes to Microsoft Entra ID: the security groups Git exports there (`entra_group`, key
= the display name) and their direct members (`entra_membership`, key = `display name/member`,
the member named by its email for a user, its display name for a group).

They run after every Google change: the same Git group, one more directory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.plan.change import Change
from reconciler.plan.change_json import ChangeRecord

_GROUP_TEXTS = {
    "create": "create Entra security group {}",
    "adopt": "adopt Entra security group {}",
    "update": "update Entra security group {}",
}


@dataclass(frozen=True)
class EntraGroupChange(Change):
    kind = "entra_group"
    label = "Entra group"
    plural = "Entra groups"
    scoped_by = "entra"
    limits = {}
    protected = frozenset()
    # After every Google change: Google stays the first directory a plan brings about.
    phases = {"create": 180, "adopt": 182, "update": 184}

    def summary_text(self) -> str:
        return _GROUP_TEXTS[self.action].format(_quoted(self.key))


@dataclass(frozen=True)
class EntraMembershipChange(Change):
    kind = "entra_membership"
    label = "Entra membership"
    plural = "Entra members"
    scoped_by = "entra"  # by its group, whoever the member is
    # Counted apart from Google's: each directory against its own memberships.
    limits = {"remove_member": "Entra member removals"}
    protected = frozenset()
    # After the groups exist (created, adopted); additions before removals, as in Google.
    phases = {"add_member": 190, "remove_member": 195}

    group: str | None = None  # the group's display name
    member: str | None = None  # a user's email, a group's display name, or `type:id`
    member_type: str | None = None  # USER, GROUP or OTHER
    # A removal's `fields` hold `object_id` (old: the member's Entra object id, new: None):
    # it is removed by that id, never by a name another object may share. Shown in the JSON
    # plan; the text names the member (with its id where two members share a name).

    def field_lines(self) -> list[str]:
        return []

    def summary_text(self) -> str:
        what = _quoted(self.member or "") if self.member_type == "GROUP" else self.member
        where = _quoted(self.group or "")
        if self.action == "add_member":
            return f"add {what} to Entra group {where}"
        return f"remove {what} from Entra group {where}"

    def needs(self) -> list[str]:
        # The group, and a nested group the plan creates in Entra (its display name).
        nested = [self.member or ""] if self.member_type == "GROUP" else []
        return [self.group or "", *nested]

    def scope_keys(self) -> tuple[str | None, ...]:
        return (self.group,)

    def sort_key(self) -> tuple[Any, ...]:
        return (self.phase, self.group or "", self.key, self.member or "")

    def identity(self) -> tuple[Any, ...]:
        return (*super().identity(), self.group, self.member)

    def json_extras(self) -> dict[str, Any]:
        return {"group": self.group, "member": self.member, "member_type": self.member_type}

    @classmethod
    def extras_of(cls, record: ChangeRecord) -> dict[str, Any]:
        return {"group": record.group, "member": record.member, "member_type": record.member_type}


def membership_key(group: str, member: str) -> str:
    return f"{group}/{member}"


def _quoted(name: str) -> str:
    """A display name in a sentence (it may hold spaces)."""
    return f'"{name}"'

"""A change to a user account."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.plan.kinds.org_unit import ancestors
from reconciler.plan.kinds.renamable import RenamableChange

# How the offboarding and security steps read in a plan.
_STEPS = {
    "sign_out": "sign out user {}",
    "revoke_tokens": "revoke the tokens of user {}",
    "transfer_data": "transfer the data of user {}",
    "require_password_change": "require a password change of user {}",
}


@dataclass(frozen=True)
class UserChange(RenamableChange):
    kind = "user"
    label = "user"
    plural = "users"
    scoped_by = "users"
    # What the suspensions' limit counts (by account): suspensions and offboarding steps.
    limits = {
        "suspend": "suspensions",
        "sign_out": "suspensions",
        "revoke_tokens": "suspensions",
        "transfer_data": "suspensions",
        "delete": "deletions",
    }
    # Signing out is not among them: it takes nothing away for good, and an incident
    # responder may need it on any account (sign_out_after).
    protected = frozenset({"suspend", "rename", "delete", "revoke_tokens", "transfer_data"})
    # Renames before creates, so an address is claimed only after every release that can
    # free it; suspensions, offboarding steps and deletions last, after memberships have moved.
    phases = {
        "rename": 30,
        "create": 50,
        "undelete": 60,
        "adopt": 70,
        "update": 80,
        "unsuspend": 90,
        # A new account's sign-in details: once the account exists (and its memberships).
        "notify": 155,
        "suspend": 160,
        # Offboarding and security steps: after the suspension, before any deletion.
        "sign_out": 162,
        "revoke_tokens": 164,
        "transfer_data": 166,
        "require_password_change": 168,
        "delete": 170,
    }

    def summary_text(self) -> str:
        if self.action == "notify":
            via, to = self.fields.get("via"), self.fields.get("recipient")
            way = "recovery email" if via and via.new == "recovery_email" else "manager"
            text = f"notify {way} {to.new if to else '?'} of {self.key}'s sign-in details"
            return (
                f"reset the password of {self.key} and {text}" if "reset" in self.fields else text
            )
        step = _STEPS.get(self.action)
        return step.format(self.key) if step else super().summary_text()

    def field_lines(self) -> list[str]:
        # A notification says all in its line; its fields are for the JSON plan.
        return [] if self.action == "notify" else super().field_lines()

    def needs(self) -> list[str]:
        unit = self.fields.get("org_unit")
        if unit is not None and unit.new:
            return [*super().needs(), unit.new, *ancestors(unit.new)]
        return super().needs()

"""Models of the entries in desired-state files: users, groups, org units, bindings."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Discriminator, Field, Tag, field_validator, model_validator

from reconciler.fields import STRICT, Day, Email, MemberRef
from reconciler.settings import (
    TIMESTAMP_PATTERN,
    GroupSettings,
    Offboarding,
    UserOnboarding,
    settings_said,
)

UserStateName = Literal["active", "staged", "suspended", "deleted"]


class UserEntry(BaseModel):
    """A person. Optional attributes left out are not managed: Google keeps its value."""

    model_config = STRICT

    email: Email = Field(description="Primary email: the key.")
    given_name: str
    family_name: str
    org_unit: str | None = Field(None, description="Org unit path, e.g. /Engineering.")
    title: str | None = None
    department: str | None = None
    cost_center: str | None = None
    manager: Email | None = Field(None, description="The manager's email; a user in Git.")
    phone: str | None = Field(None, description="Work phone, quoted.")
    employee_id: str | None = Field(None, description="Employee id, quoted.")
    recovery_email: Email | None = Field(None, description="Personal address for recovery.")
    recovery_phone: str | None = Field(
        None, description='Recovery phone in E.164 form, quoted, e.g. "+15550100100".'
    )
    aliases: list[Email] | None = Field(
        None, description="Absent: aliases are not managed. A list: exactly these."
    )
    previous_emails: list[Email] = Field(
        default_factory=list,
        description="Addresses this account had before: an account found by one is renamed.",
    )
    state: UserStateName = Field(
        "active",
        description="active: provisioned when bound; staged: not provisioned, an existing "
        "account is left alone; suspended; deleted.",
    )
    offboarding: Offboarding | None = Field(
        None,
        description="This user's own offboarding settings: each key given overrides "
        "workspace.yaml's `offboarding:`.",
    )
    onboarding: UserOnboarding | None = Field(
        None,
        description="This user's own onboarding: `notify` over workspace.yaml's "
        "`onboarding.notify` (`none`: no sign-in message, e.g. for SSO).",
    )
    license: str | None = Field(
        None,
        description="This user's license, over workspace.yaml's `licenses:` rules and "
        "default: a SKU of `licenses.product` (friendly name or id), or `none`: no license. "
        "Needs a `licenses:` block.",
    )
    sign_out_after: str | None = Field(
        None,
        description='A timestamp, e.g. "2026-05-01T09:30:00Z": the account is signed out once, '
        "the first time a plan sees a timestamp newer than the last sign-out.",
    )
    require_password_change_after: str | None = Field(
        None,
        description="A timestamp: the account must change its password at its next login, "
        "once, the first time a plan sees a timestamp newer than the last one done.",
    )

    @field_validator("license")
    @classmethod
    def _license(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must name a SKU, or `none` for no license")
        return value

    @field_validator("sign_out_after", "require_password_change_after")
    @classmethod
    def _timestamp(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(TIMESTAMP_PATTERN, value):
            raise ValueError(
                f'{value!r} is not a timestamp with a time zone, e.g. "2026-05-01T09:30:00Z" '
                "(quoted)"
            )
        return value


class Grant(BaseModel):
    """A member, owner or manager whose access ends by itself: after the day `until` (UTC),
    the plan removes it."""

    model_config = STRICT

    email: MemberRef = Field(description="Who: as a plain member entry names it.")
    until: Day = Field(description="The last day of the access (UTC), e.g. 2027-01-31.")


def _member_kind(value: Any) -> str:
    return "grant" if isinstance(value, dict | Grant) else "ref"


MemberItem = Annotated[
    Annotated[MemberRef, Tag("ref")] | Annotated[Grant, Tag("grant")],
    Discriminator(_member_kind),
]
"""A member entry: a plain reference, or a map `{email: ..., until: ...}` that expires."""

ROLE_HELP = (
    "Users (by email), groups (by Git name or email) and external addresses; an entry "
    "`{email: ..., until: YYYY-MM-DD}` ends by itself after that day (UTC)."
)

ITEM_TAGS: dict[str, type[BaseModel] | None] = {"ref": None, "grant": Grant}
"""The tags pydantic puts in an error's location after a member item: the model each means."""


class GroupEntry(BaseModel):
    """A user group; with an email it is exported as a Google group."""

    model_config = STRICT

    name: str = Field(description="The key within Git; members refer to groups by it.")
    email: Email | None = Field(None, description="Present: exported as a Google group.")
    display_name: str | None = Field(None, description="Google group name; default: name.")
    description: str | None = None
    aliases: list[Email] | None = None
    previous_emails: list[Email] = Field(default_factory=list)
    owners: list[MemberItem] = Field(default_factory=list, description=ROLE_HELP)
    managers: list[MemberItem] = Field(default_factory=list, description=ROLE_HELP)
    members: list[MemberItem] = Field(default_factory=list, description=ROLE_HELP)
    membership: Literal["authoritative", "additive"] = Field(
        "authoritative",
        description="authoritative: members Git does not list are removed; additive: kept.",
    )
    settings: GroupSettings | None = Field(  # type: ignore[valid-type]
        None,
        description="This group's Google group settings: each key given overrides "
        "workspace.yaml's `group_settings:`. Exported groups only.",
    )
    entra: bool = Field(
        False,
        description="true: also exported to Microsoft Entra ID as a security group, matched "
        "by display name. Needs workspace.yaml's `entra:` block.",
    )

    @field_validator("settings", mode="before")
    @classmethod
    def _settings_said(cls, value: Any) -> Any:
        return settings_said(value)


class OrgUnitEntry(BaseModel):
    """An organizational unit declared in Git (units users name are created anyway)."""

    model_config = STRICT

    path: str = Field(description="Full path, e.g. /Engineering/Platform.")
    description: str | None = None


class BindingEntry(BaseModel):
    """Who gets a Google account: one user, or every transitive member of a group."""

    model_config = STRICT

    group: str | None = None
    user: Email | None = None
    until: Day | None = Field(
        None,
        description="The last day (UTC) of this binding: after it the user is unbound (and "
        "suspended, with the usual offboarding), e.g. 2027-01-31.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> BindingEntry:
        if (self.group is None) == (self.user is None):
            raise ValueError("a binding names exactly one of 'group' or 'user'")
        return self


ENTRY_MODELS: dict[str, type[BaseModel]] = {
    "org_units": OrgUnitEntry,
    "users": UserEntry,
    "groups": GroupEntry,
    "bindings": BindingEntry,
}
"""Top-level keys of a desired-state file, in canonical order, and the model of their items."""

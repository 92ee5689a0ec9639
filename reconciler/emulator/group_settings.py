"""The Groups Settings API's resource: a group's settings, with Google's defaults for a group
made through the API, rendered as a `Groups` resource (`groupsSettings#groups`); and the
checks a write goes through, shared with seeds.

Which settings exist, and their allowed values, is `reconciler.group_settings_fields` (the one
table, from the discovery document). A tenant keeps per group id only the settings that
differ from the defaults (`Tenant.group_settings`): a renamed group keeps them, a deleted
group's go with it. A seed's group entry may carry them, by the API's names:

    groups:
      - email: eng@example.com
        settings: {whoCanJoin: INVITED_CAN_JOIN, allowExternalMembers: "true"}

Defaults: the admin help's "Default settings for API groups" (answer 10427204, Directory API
column) where it names one; the rest are the emulator's choices (docs/emulator.md).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from reconciler.emulator.errors import ApiError, invalid
from reconciler.group_settings_fields import BY_API

KIND = "groupsSettings#groups"

# Admin help 10427204, "Default settings for API groups", Directory API column.
DOCUMENTED_DEFAULTS: dict[str, str] = {
    "whoCanDiscoverGroup": "ALL_IN_DOMAIN_CAN_DISCOVER",  # show group in the directory: yes
    "whoCanViewGroup": "ALL_IN_DOMAIN_CAN_VIEW",  # who can see group: anyone in the org
    "whoCanViewMembership": "ALL_MEMBERS_CAN_VIEW",  # owners, managers and members
    "whoCanJoin": "CAN_REQUEST_TO_JOIN",  # anyone in the organization can ask
    "allowExternalMembers": "false",
    "whoCanPostMessage": "ANYONE_CAN_POST",  # anyone on the web
    "allowWebPosting": "true",
    "whoCanModerateMembers": "OWNERS_AND_MANAGERS",  # add, invite, approve: owners, managers
    "whoCanContactOwner": "ANYONE_CAN_CONTACT",  # anyone on the web
    "messageModerationLevel": "MODERATE_NONE",  # message moderation: off
    "isArchived": "false",  # conversation history: off
}
# The emulator's choices (the document names MODERATE as spamModerationLevel's default, and
# DEFAULT_SELF as default_sender's).
CHOSEN_DEFAULTS: dict[str, str] = {
    "spamModerationLevel": "MODERATE",
    "default_sender": "DEFAULT_SELF",
    "replyTo": "REPLY_TO_IGNORE",
    "whoCanLeaveGroup": "ALL_MEMBERS_CAN_LEAVE",
    "whoCanModerateContent": "OWNERS_AND_MANAGERS",
    "whoCanAssistContent": "OWNERS_AND_MANAGERS",
    "archiveOnly": "false",
    "membersCanPostAsTheGroup": "false",
    "includeInGlobalAddressList": "true",
    "enableCollaborativeInbox": "false",
    "favoriteRepliesOnTop": "true",
    "includeCustomFooter": "false",
    "sendMessageDenyNotification": "false",
    "customFooterText": "",
    "customReplyTo": "",
    "primaryLanguage": "en_US",
}
# defaultMessageDenyNotificationText: "By default, this property is empty and has no value in
# the API's response body" (the document): absent until set.
DEFAULTS: dict[str, str] = {**DOCUMENTED_DEFAULTS, **CHOSEN_DEFAULTS}
# Fields Google fixes (the document: deprecated, always this value) or that are read-only.
FIXED: dict[str, Any] = {
    "allowGoogleCommunication": "false",
    "customRolesEnabledForSettingsToBeMerged": "false",
    "maxMessageBytes": 26214400,  # 25 MB
    "messageDisplayFont": "DEFAULT_FONT",
    "whoCanAddReferences": "NONE",
}
# The Groups resource's other fields: written ones are ignored (read-only, or merged by Google
# into a field above: the document's deprecated ones), as are kind, name and description
# (the Directory API's).
IGNORED = frozenset(
    {
        "kind",
        "name",
        "description",
        "showInGroupDirectory",
        "whoCanAdd",
        "whoCanApproveMembers",
        "whoCanApproveMessages",
        "whoCanAssignTopics",
        "whoCanBanUsers",
        "whoCanDeleteAnyPost",
        "whoCanDeleteTopics",
        "whoCanEnterFreeFormTags",
        "whoCanHideAbuse",
        "whoCanInvite",
        "whoCanLockTopics",
        "whoCanMakeTopicsSticky",
        "whoCanMarkDuplicate",
        "whoCanMarkFavoriteReplyOnAnyTopic",
        "whoCanMarkFavoriteReplyOnOwnTopic",
        "whoCanMarkNoResponseNeeded",
        "whoCanModifyMembers",
        "whoCanModifyTagsAndCategories",
        "whoCanMoveTopicsIn",
        "whoCanMoveTopicsOut",
        "whoCanPostAnnouncements",
        "whoCanTakeTopics",
        "whoCanUnassignTopic",
        "whoCanUnmarkFavoriteReplyOnAnyTopic",
        *FIXED,
    }
)
# Who can post when non-members of the group can.
NON_MEMBERS_POST = frozenset({"ANYONE_CAN_POST", "ALL_IN_DOMAIN_CAN_POST"})

INVALID_VALUE = "Invalid Value"  # unverified: Google's message for a bad value is unknown
NONE_CAN_POST = "Invalid attribute value: whoCanPostMessages=NONE_CAN_POST"
ARCHIVE_ONLY = (
    "Inconsistent Input: If archiveOnly is true then PostPermission can only be NONE_CAN_POST"
)
NON_MEMBERS = (
    "Can't set messageModerationLevel as MODERATE_NON_MEMBERS when non-members can't post."
)
EMAIL_FIXED = "Invalid Input: email (a group's address is changed with the Directory API)"


def check_value(name: str, value: Any) -> str:
    """The value of setting `name` as stored; 400 invalid "Invalid Value" when it is none of
    the allowed values (an enum's, "true"/"false" for a boolean: strings only), or text that
    is too long."""
    field = BY_API[name]
    if not isinstance(value, str):
        raise invalid(INVALID_VALUE, location=name)
    if field.boolean:
        if value not in ("true", "false"):
            raise invalid(INVALID_VALUE, location=name)
    elif field.values:
        if value not in field.values:
            raise invalid(INVALID_VALUE, location=name)
    elif field.max_length is not None and len(value) > field.max_length:
        raise invalid(INVALID_VALUE, location=name)
    return value


def check_consistent(values: Mapping[str, str]) -> None:
    """The refusals that depend on several settings, with Google's messages (GAM-team/GAM#83,
    #1601); `values` is every setting after the write."""
    post = values.get("whoCanPostMessage")
    archive_only = values.get("archiveOnly") == "true"
    if post == "NONE_CAN_POST" and not archive_only:
        raise invalid(NONE_CAN_POST)
    if archive_only and post != "NONE_CAN_POST":
        raise invalid(ARCHIVE_ONLY)
    if values.get("messageModerationLevel") == "MODERATE_NON_MEMBERS" and (
        post not in NON_MEMBERS_POST
    ):
        raise invalid(NON_MEMBERS)


def written(body: Mapping[str, Any], email: str) -> dict[str, str]:
    """The settings a request body sets (checked one by one); read-only and merged fields
    ignored. 400 for a name the resource does not have, and for another `email`."""
    out: dict[str, str] = {}
    for name, value in body.items():
        if name == "email":
            if not isinstance(value, str) or value.strip().lower() != email:
                raise invalid(EMAIL_FIXED)
        elif name in BY_API:
            out[name] = check_value(name, value)
        elif name not in IGNORED:
            raise invalid(f"Invalid Input: unknown field {name}")
    return out


def current(stored: Mapping[str, str] | None) -> dict[str, str]:
    """Every setting of a group: the defaults, overridden by what it stores."""
    return {**DEFAULTS, **(stored or {})}


def to_store(values: Mapping[str, str]) -> dict[str, str]:
    """What a tenant keeps of `values`: the settings that differ from the defaults."""
    return {k: v for k, v in values.items() if DEFAULTS.get(k) != v}


def render(group: Mapping[str, Any], stored: Mapping[str, str] | None) -> dict[str, Any]:
    """A group's `Groups` resource: its address, name and description (the Directory's), every
    setting, and the fixed fields."""
    out: dict[str, Any] = {
        "kind": KIND,
        "email": group["email"],
        "name": group.get("name", ""),
        "description": group.get("description", ""),
    }
    out.update(sorted(current(stored).items()))
    out.update(FIXED)
    return out


class SettingsProblems(ValueError):
    """Everything wrong with a seed group's `settings`: (key or None, message) pairs."""

    def __init__(self, problems: list[tuple[str | None, str]]):
        super().__init__("; ".join(m for _, m in problems))
        self.problems = problems


def from_seed(value: Any) -> dict[str, str]:
    """The settings to store from a seed group's `settings` (API names, API values);
    SettingsProblems naming each bad key, value, or inconsistency."""
    if not isinstance(value, Mapping):
        raise SettingsProblems([(None, "settings: expected a mapping of API names to values")])
    problems: list[tuple[str | None, str]] = []
    values: dict[str, str] = {}
    for name, given in value.items():
        field = BY_API.get(str(name))
        if field is None:
            close = difflib.get_close_matches(str(name), list(BY_API), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append((str(name), f"settings: '{name}' is no group setting{hint}"))
            continue
        try:
            values[field.api] = check_value(field.api, given)
        except ApiError:
            if field.boolean:
                allowed = 'the string "true" or "false"'
            elif field.values:
                allowed = "one of " + ", ".join(field.values)
            else:
                allowed = f"text of at most {field.max_length} characters"
            problems.append((str(name), f"settings.{name}: {given!r} is not {allowed}"))
    if not problems:
        try:
            check_consistent(current(values))
        except ApiError as exc:
            problems.append((None, f"settings: {exc.message}"))
    if problems:
        raise SettingsProblems(problems)
    return to_store(values)

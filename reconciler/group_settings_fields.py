"""The settings of a Google group that Git may set (Groups Settings API v1): the one table of
their YAML keys (the API's field names in snake_case), API names and allowed values.

Source: the bundled discovery document, groupssettings v1, schema `Groups`: its properties
are all typed `string` (booleans are the strings "true" and "false"), and each enum's values
are listed only in the field's description (a test checks every value here against those
descriptions). Left out: read-only fields (`customRolesEnabledForSettingsToBeMerged`, `kind`,
`email`), the name and description (the Directory API's, managed with the group), and the
fields the document marks deprecated (merged into `whoCanModerateMembers`,
`whoCanModerateContent`, `whoCanAssistContent`, `whoCanDiscoverGroup`, or fixed by Google).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

_MODERATORS = ("ALL_MEMBERS", "OWNERS_AND_MANAGERS", "OWNERS_ONLY", "NONE")


@dataclass(frozen=True, slots=True)
class SettingField:
    key: str  # in YAML: the API's name in snake_case
    api: str  # the API's name
    values: tuple[str, ...] = ()  # an enum's values; empty: a boolean or text
    boolean: bool = False
    max_length: int | None = None  # text: the most characters Google takes

    def check(self, value: Any) -> str:
        """The API's string for a YAML value; ValueError saying what is allowed."""
        if self.boolean:
            if not isinstance(value, bool):
                raise ValueError(f"{self.key} is true or false, not {value!r}")
            return "true" if value else "false"
        if not isinstance(value, str):
            raise ValueError(f"{self.key} is text, not {value!r}")
        if self.values:
            if value not in self.values:
                close = difflib.get_close_matches(value.upper(), self.values, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ValueError(
                    f"{self.key}: '{value}' is not one of {', '.join(self.values)}{hint}"
                )
            return value
        if self.max_length is not None and len(value) > self.max_length:
            raise ValueError(f"{self.key}: at most {self.max_length} characters")
        return value

    def from_api(self, text: str) -> Any:
        """A value as Google answers it, as Git writes it (a boolean from "true"/"false")."""
        return text == "true" if self.boolean else text


def _enum(api: str, *values: str) -> SettingField:
    return SettingField(_snake(api), api, values)


def _flag(api: str) -> SettingField:
    return SettingField(_snake(api), api, boolean=True)


def _text(api: str, max_length: int | None = None) -> SettingField:
    return SettingField(_snake(api), api, max_length=max_length)


def _snake(api: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", api).lower()


FIELDS: tuple[SettingField, ...] = (
    _enum(
        "whoCanJoin",
        "ANYONE_CAN_JOIN",
        "ALL_IN_DOMAIN_CAN_JOIN",
        "INVITED_CAN_JOIN",
        "CAN_REQUEST_TO_JOIN",
    ),
    _enum(
        "whoCanViewMembership",
        "ALL_IN_DOMAIN_CAN_VIEW",
        "ALL_MEMBERS_CAN_VIEW",
        "ALL_MANAGERS_CAN_VIEW",
    ),
    _enum(
        "whoCanViewGroup",
        "ANYONE_CAN_VIEW",
        "ALL_IN_DOMAIN_CAN_VIEW",
        "ALL_MEMBERS_CAN_VIEW",
        "ALL_MANAGERS_CAN_VIEW",
    ),
    _enum(
        "whoCanPostMessage",
        "NONE_CAN_POST",
        "ALL_MANAGERS_CAN_POST",
        "ALL_MEMBERS_CAN_POST",
        "ALL_OWNERS_CAN_POST",
        "ALL_IN_DOMAIN_CAN_POST",
        "ANYONE_CAN_POST",
    ),
    _enum(
        "messageModerationLevel",
        "MODERATE_ALL_MESSAGES",
        "MODERATE_NON_MEMBERS",
        "MODERATE_NEW_MEMBERS",
        "MODERATE_NONE",
    ),
    _enum("spamModerationLevel", "ALLOW", "MODERATE", "SILENTLY_MODERATE", "REJECT"),
    _enum(
        "replyTo",
        "REPLY_TO_CUSTOM",
        "REPLY_TO_SENDER",
        "REPLY_TO_LIST",
        "REPLY_TO_OWNER",
        "REPLY_TO_IGNORE",
        "REPLY_TO_MANAGERS",
    ),
    _enum(
        "whoCanContactOwner",
        "ALL_IN_DOMAIN_CAN_CONTACT",
        "ALL_MANAGERS_CAN_CONTACT",
        "ALL_MEMBERS_CAN_CONTACT",
        "ANYONE_CAN_CONTACT",
        "ALL_OWNERS_CAN_CONTACT",
    ),
    _enum("whoCanLeaveGroup", "ALL_MANAGERS_CAN_LEAVE", "ALL_MEMBERS_CAN_LEAVE", "NONE_CAN_LEAVE"),
    _enum(
        "whoCanDiscoverGroup",
        "ANYONE_CAN_DISCOVER",
        "ALL_IN_DOMAIN_CAN_DISCOVER",
        "ALL_MEMBERS_CAN_DISCOVER",
    ),
    _enum("whoCanModerateMembers", *_MODERATORS),
    _enum("whoCanModerateContent", *_MODERATORS),
    _enum("whoCanAssistContent", *_MODERATORS, "MANAGERS_ONLY"),
    SettingField("default_sender", "default_sender", ("DEFAULT_SELF", "GROUP")),
    _flag("allowExternalMembers"),
    _flag("allowWebPosting"),
    _flag("archiveOnly"),
    _flag("isArchived"),
    _flag("membersCanPostAsTheGroup"),
    _flag("includeInGlobalAddressList"),
    _flag("enableCollaborativeInbox"),
    _flag("favoriteRepliesOnTop"),
    _flag("includeCustomFooter"),
    _flag("sendMessageDenyNotification"),
    _text("customFooterText", 1_000),
    _text("customReplyTo"),
    _text("defaultMessageDenyNotificationText", 10_000),
    _text("primaryLanguage"),
)

BY_KEY: dict[str, SettingField] = {f.key: f for f in FIELDS}
BY_API: dict[str, SettingField] = {f.api: f for f in FIELDS}


def field_named(key: str) -> SettingField:
    """The field of a YAML key; ValueError saying the nearest key."""
    found = BY_KEY.get(key)
    if found is None:
        close = difflib.get_close_matches(key, list(BY_KEY), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ValueError(f"'{key}' is not a group setting{hint}")
    return found

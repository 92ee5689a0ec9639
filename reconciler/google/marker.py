"""The ownership marker: a custom-schema field holding the `ownership.id` of the repository
that manages an account. Accounts without it, or with another id, are not ours."""

from __future__ import annotations

from typing import Any

SCHEMA = "Reconciler"
FIELD = "ownershipId"
# What offboarding records next to the marker, each a UTC timestamp as text
# ("2026-05-01T09:30:00Z"): when this tool suspended the account (delete_after_days counts
# from it), signed it out, and required a password change. Google shows none of these.
SUSPENDED_AT = "suspendedAt"
SIGNED_OUT_AT = "signedOutAt"
PASSWORD_CHANGE_AT = "passwordChangeAt"
DATE_FIELDS = {
    SUSPENDED_AT: "Suspended by reconciler at",
    SIGNED_OUT_AT: "Signed out by reconciler at",
    PASSWORD_CHANGE_AT: "Password change required by reconciler at",
}
# A new account's sign-in message not sent yet (onboarding): the way it goes (`manager`,
# `recovery_email`), set when the account is created with one planned and cleared once it is
# sent, so a later apply (on any machine) resets the password and sends it again.
ONBOARDING_PENDING = "onboardingPending"
OTHER_FIELDS = {ONBOARDING_PENDING: "Sign-in details to send (reconciler)"}
FIELDS = (FIELD, *DATE_FIELDS, *OTHER_FIELDS)


def _field(name: str, display: str) -> dict[str, Any]:
    return {
        "fieldName": name,
        "fieldType": "STRING",
        "displayName": display,
        "readAccessType": "ADMINS_AND_SELF",
        "multiValued": False,
    }


def schema_body() -> dict[str, Any]:
    """The custom schema, as schemas.insert takes it."""
    return {
        "schemaName": SCHEMA,
        "displayName": "Reconciler",
        "fields": [
            _field(FIELD, "Managed by (ownership id)"),
            *(_field(name, display) for name, display in DATE_FIELDS.items()),
            *(_field(name, display) for name, display in OTHER_FIELDS.items()),
        ],
    }


def schema_fields(schema: dict[str, Any]) -> frozenset[str]:
    """The names of the fields a schema resource holds."""
    return frozenset(str(f.get("fieldName")) for f in schema.get("fields", []))


def has_marker_field(schema: dict[str, Any]) -> bool:
    return FIELD in schema_fields(schema)


def marker_of(resource: dict[str, Any]) -> str | None:
    """The ownership id an account carries, if any."""
    return _text_field(resource, FIELD)


def recorded(resource: dict[str, Any], name: str) -> str | None:
    """A timestamp offboarding recorded on the account (one of DATE_FIELDS), if any."""
    return _text_field(resource, name)


def _text_field(resource: dict[str, Any], name: str) -> str | None:
    custom = resource.get("customSchemas") or {}
    ours = custom.get(SCHEMA) if isinstance(custom, dict) else None
    value = ours.get(name) if isinstance(ours, dict) else None
    return value if isinstance(value, str) and value else None


def marker_patch(ownership_id: str) -> dict[str, Any]:
    """The part of a user body that marks the account as ours."""
    return {"customSchemas": {SCHEMA: {FIELD: ownership_id}}}


def pending_patch(way: str) -> dict[str, Any]:
    """The part of a user body that says a sign-in message waits (`way`), or, with "",
    that none does."""
    return {"customSchemas": {SCHEMA: {ONBOARDING_PENDING: way}}}


def record_patch(name: str, when: str) -> dict[str, Any]:
    """The part of a user body that records a timestamp (one of DATE_FIELDS)."""
    return {"customSchemas": {SCHEMA: {name: when}}}


# -- groups ----------------------------------------------------------------------------------
# A Group resource has no custom schemas, and groups.list returns only id, email, name,
# description, aliases and counts; the Groups Settings API has no free field either (its text
# fields are shown to members or sent with mail). The description is the one place that is
# free, read at no extra call, and kept by Google as written: the marker is its last line,
# after a blank line, and the rest is the description Git compares and writes.

GROUP_MARKER_PREFIX = "Managed in Git by reconciler, ownership id: "
_SEPARATOR = "\n\n"


def group_marker_line(ownership_id: str) -> str:
    return GROUP_MARKER_PREFIX + ownership_id


def split_group_description(text: str | None) -> tuple[str | None, str | None]:
    """A group's description as Google holds it -> (the description, the ownership id)."""
    if not text:
        return None, None
    head, _, last = text.rpartition("\n")
    if not last.startswith(GROUP_MARKER_PREFIX):
        return text, None
    owner = last[len(GROUP_MARKER_PREFIX) :].strip()
    if not owner:
        return text, None
    if head.endswith("\n"):
        head = head[:-1]  # the blank line this module puts before the marker
    return head or None, owner


def marked_group_description(description: str | None, ownership_id: str) -> str:
    """The description to write: `description`, then the marker of `ownership_id`."""
    line = group_marker_line(ownership_id)
    return f"{description}{_SEPARATOR}{line}" if description else line


def group_marker_length(ownership_id: str) -> int:
    """Characters the marker adds to a non-empty description (Google allows 4,096 in all)."""
    return len(_SEPARATOR) + len(group_marker_line(ownership_id))

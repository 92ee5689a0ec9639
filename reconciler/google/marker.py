"""The ownership marker: a custom-schema field holding the `ownership.id` of the repository
that manages an account. Accounts without it, or with another id, are not ours."""

from __future__ import annotations

from typing import Any

SCHEMA = "Reconciler"
FIELD = "ownershipId"


def schema_body() -> dict[str, Any]:
    """The custom schema, as schemas.insert takes it."""
    return {
        "schemaName": SCHEMA,
        "displayName": "Reconciler",
        "fields": [
            {
                "fieldName": FIELD,
                "fieldType": "STRING",
                "displayName": "Managed by (ownership id)",
                "readAccessType": "ADMINS_AND_SELF",
                "multiValued": False,
            }
        ],
    }


def has_marker_field(schema: dict[str, Any]) -> bool:
    return any(f.get("fieldName") == FIELD for f in schema.get("fields", []))


def marker_of(resource: dict[str, Any]) -> str | None:
    """The ownership id an account carries, if any."""
    value = (resource.get("customSchemas") or {}).get(SCHEMA, {}).get(FIELD)
    return value if isinstance(value, str) and value else None


def marker_patch(ownership_id: str) -> dict[str, Any]:
    """The part of a user body that marks the account as ours."""
    return {"customSchemas": {SCHEMA: {FIELD: ownership_id}}}


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

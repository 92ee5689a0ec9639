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

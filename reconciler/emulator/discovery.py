"""The discovery documents bundled with googleapiclient, and what the emulator reads in them.

Five APIs are served: the Directory API (`admin.directory_v1`), the Data Transfer API
(`admin.datatransfer_v1`), the Licensing API (`licensing.v1`, named `licensing_v1` here),
the Groups Settings API (`groupssettings.v1`, named `groupssettings_v1` here) and, of the
Gmail API (`gmail.v1`, named `gmail_v1` here), `users.messages.send`.
The server serves their documents (root URL rewritten); the API
checks `fields` selections against the response schema of each method, as Google does: a
name the schema does not have is `400 invalidParameter` "Invalid field selection <name>".
Below a free-form object (an `additionalProperties` map such as `customSchemas`, or a value
of type `any`) every name is accepted.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from reconciler.emulator.errors import ApiError
from reconciler.emulator.fields import Selection

Schema = dict[str, Any]

DIRECTORY = "directory_v1"
DATATRANSFER = "datatransfer_v1"
LICENSING = "licensing_v1"
GROUPSSETTINGS = "groupssettings_v1"
GMAIL = "gmail_v1"
# The documents served, by the name used here -> the bundled file.
DOCUMENT_FILES = {
    DIRECTORY: "admin.directory_v1.json",
    DATATRANSFER: "admin.datatransfer_v1.json",
    LICENSING: "licensing.v1.json",
    GROUPSSETTINGS: "groupssettings.v1.json",
    GMAIL: "gmail.v1.json",
}
API_VERSIONS = tuple(DOCUMENT_FILES)


@functools.cache
def bundled_discovery_document(version: str = DIRECTORY) -> dict[str, Any]:
    """The document of `version` (directory_v1, datatransfer_v1, licensing_v1,
    groupssettings_v1, gmail_v1) as bundled
    with googleapiclient (read once)."""
    import googleapiclient

    if version not in API_VERSIONS:
        raise ValueError(f"no bundled discovery document for {version}")
    path = (
        Path(googleapiclient.__file__).parent
        / "discovery_cache"
        / "documents"
        / DOCUMENT_FILES[version]
    )
    return json.loads(path.read_text(encoding="utf-8"))


def document_methods(version: str) -> dict[str, dict[str, Any]]:
    """Method id -> its description in the bundled document of `version`."""
    found: dict[str, dict[str, Any]] = {}

    def walk(resources: dict[str, Any]) -> None:
        for resource in resources.values():
            for method in resource.get("methods", {}).values():
                found[method["id"]] = method
            walk(resource.get("resources", {}))

    walk(bundled_discovery_document(version)["resources"])
    return found


@functools.cache
def _responses() -> dict[str, tuple[Schema | None, str]]:
    """Method id -> its response schema (None: the method answers no body) and the
    version of the document whose schemas it refers to."""
    return {
        method_id: (method.get("response"), version)
        for version in API_VERSIONS
        for method_id, method in document_methods(version).items()
    }


def check_selection(method_id: str, selection: Selection) -> None:
    """Raise `400 invalidParameter` if `selection` names a field the response of
    `method_id` cannot have. Methods without a response body accept any selection."""
    schema, version = _responses().get(method_id, (None, DIRECTORY))
    if schema is not None:
        _check(selection, schema, bundled_discovery_document(version)["schemas"])


def _check(selection: Selection, schema: Schema, schemas: dict[str, Schema]) -> None:
    schema = _resolve(schema, schemas)
    if _free_form(schema):
        return
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for name, sub in selection.items():
        if name == "*":
            continue
        if name in props:
            child: Schema | None = props[name]
        elif extra is not None:
            child = extra
        else:
            raise invalid_selection(name)
        if sub is not None:
            assert child is not None
            resolved = _resolve(child, schemas)
            if not _free_form(resolved) and not (
                resolved.get("properties") or resolved.get("additionalProperties") is not None
            ):
                raise invalid_selection(next(iter(sub)))  # a sub-field of a plain value
            _check(sub, resolved, schemas)


def _resolve(schema: Schema, schemas: dict[str, Schema]) -> Schema:
    """Follow `$ref`s and array items down to the schema of one value."""
    for _ in range(32):
        if "$ref" in schema:
            schema = schemas[schema["$ref"]]
        elif schema.get("type") == "array":
            schema = schema.get("items") or {"type": "any"}
        else:
            return schema
    return {"type": "any"}


def _free_form(schema: Schema) -> bool:
    """A value whose names the document does not list: anything may be selected in it."""
    kind = schema.get("type")
    if kind == "any":
        return True
    return (
        kind in (None, "object")
        and "properties" not in schema
        and "additionalProperties" not in schema
    )


def invalid_selection(name: str) -> ApiError:
    return ApiError(
        400,
        "invalidParameter",
        f"Invalid field selection {name}",
        location="fields",
        location_type="parameter",
    )

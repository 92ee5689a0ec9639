"""The discovery document bundled with googleapiclient, and what the emulator reads in it.

The server serves it (root URL rewritten); the API checks `fields` selections against the
response schema of each method, as Google does: a name the schema does not have is
`400 invalidParameter` "Invalid field selection <name>". Below a free-form object (an
`additionalProperties` map such as `customSchemas`, or a value of type `any`) every name
is accepted.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from reconciler.emulator.errors import ApiError
from reconciler.emulator.fields import Selection

Schema = dict[str, Any]


@functools.cache
def bundled_discovery_document() -> dict[str, Any]:
    """admin directory_v1 as bundled with googleapiclient (read once)."""
    import googleapiclient

    path = (
        Path(googleapiclient.__file__).parent
        / "discovery_cache"
        / "documents"
        / "admin.directory_v1.json"
    )
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def _responses() -> dict[str, Schema | None]:
    """Method id -> its response schema (None: the method answers no body)."""
    found: dict[str, Schema | None] = {}

    def walk(resources: dict[str, Any]) -> None:
        for resource in resources.values():
            for method in resource.get("methods", {}).values():
                found[method["id"]] = method.get("response")
            walk(resource.get("resources", {}))

    walk(bundled_discovery_document()["resources"])
    return found


def check_selection(method_id: str, selection: Selection) -> None:
    """Raise `400 invalidParameter` if `selection` names a field the response of
    `method_id` cannot have. Methods without a response body accept any selection."""
    schema = _responses().get(method_id)
    if schema is not None:
        _check(selection, schema)


def _check(selection: Selection, schema: Schema) -> None:
    schema = _resolve(schema)
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
            resolved = _resolve(child)
            if not _free_form(resolved) and not (
                resolved.get("properties") or resolved.get("additionalProperties") is not None
            ):
                raise invalid_selection(next(iter(sub)))  # a sub-field of a plain value
            _check(sub, resolved)


def _resolve(schema: Schema) -> Schema:
    """Follow `$ref`s and array items down to the schema of one value."""
    schemas = bundled_discovery_document()["schemas"]
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

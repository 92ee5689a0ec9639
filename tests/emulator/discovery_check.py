"""Check emulator responses against the discovery documents bundled with googleapiclient
(the Directory API's, the Data Transfer API's and the Licensing API's).

Every property a body holds must exist in the schema of its resource (following `$ref`s,
arrays and additionalProperties), with the right JSON type; `kind` must equal the
schema's default; int64 values are strings; date-times look like RFC 3339. A method
without a response schema must answer with no body. So the emulator cannot drift from
the real API's shapes.

    from .discovery_check import assert_valid_response
    assert_valid_response("directory.users.get", 200, body)
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import googleapiclient

DOCUMENTS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
VERSIONS = ("directory_v1", "datatransfer_v1", "licensing_v1", "groupssettings_v1", "gmail_v1")
FILES = {
    "licensing_v1": "licensing.v1.json",
    "groupssettings_v1": "groupssettings.v1.json",
    "gmail_v1": "gmail.v1.json",
}
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
_INT64 = re.compile(r"-?\d+")


@functools.cache
def discovery(version: str = "directory_v1") -> dict[str, Any]:
    """The bundled discovery document of `version` (directory_v1, datatransfer_v1,
    licensing_v1)."""
    name = FILES.get(version, f"admin.{version}.json")
    return json.loads((DOCUMENTS / name).read_text(encoding="utf-8"))


@functools.cache
def methods() -> dict[str, dict[str, Any]]:
    """Every method of both documents by id (`directory.users.list`,
    `datatransfer.transfers.insert` …)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(resources: dict[str, Any]) -> None:
        for resource in resources.values():
            for method in resource.get("methods", {}).values():
                found[method["id"]] = method
            walk(resource.get("resources", {}))

    for version in VERSIONS:
        walk(discovery(version)["resources"])
    return found


def schema_properties(name: str, version: str = "directory_v1") -> set[str]:
    """The property names of a schema (e.g. "User")."""
    return set(discovery(version)["schemas"][name].get("properties", {}))


def problems(
    value: Any, schema: dict[str, Any] | str, where: str = "$", version: str = "directory_v1"
) -> list[str]:
    """Everything in `value` that the schema (of the document of `version`) does not allow
    (empty when valid)."""
    if isinstance(schema, str):
        schema = {"$ref": schema}
    if "$ref" in schema:
        name = schema["$ref"]
        return problems(value, discovery(version)["schemas"][name], f"{where}<{name}>", version)
    kind = schema.get("type")
    if kind == "any" or kind is None:
        return []
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        found = []
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                found += problems(item, props[key], f"{where}.{key}", version)
                default = props[key].get("default")
                if key == "kind" and default is not None and item != default:
                    found.append(f"{where}.kind: {item!r}, the schema says {default!r}")
            elif extra is not None:
                found += problems(item, extra, f"{where}[{key!r}]", version)
            else:
                found.append(f"{where}: property {key!r} is not in the schema")
        return found
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where}: expected an array, got {type(value).__name__}"]
        found = []
        for i, item in enumerate(value):
            items = schema.get("items", {"type": "any"})
            found += problems(item, items, f"{where}[{i}]", version)
        return found
    return _scalar_problems(value, kind, schema.get("format"), where)


def _scalar_problems(value: Any, kind: str, fmt: str | None, where: str) -> list[str]:
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string, got {value!r}"]
        if fmt == "int64" and not _INT64.fullmatch(value):
            return [f"{where}: int64 string expected, got {value!r}"]
        if fmt == "date-time" and not _DATE_TIME.fullmatch(value):
            return [f"{where}: RFC 3339 date-time expected, got {value!r}"]
        return []
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: expected a boolean, got {value!r}"]
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected an integer, got {value!r}"]
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected a number, got {value!r}"]
    return [f"{where}: unknown schema type {kind!r}"]


def response_problems(method_id: str, status: int, body: Any) -> list[str]:
    """Problems of a success answer of `method_id` (2xx) against its response schema."""
    method = methods().get(method_id)
    if method is None:
        return [f"{method_id}: no such method in the discovery document"]
    if not 200 <= status < 300:
        return [f"{method_id}: status {status} is not a success"]
    response = method.get("response")
    if response is None:
        return [] if body is None else [f"{method_id}: has no response schema but got a body"]
    if body is None:
        return [f"{method_id}: expected a {response['$ref']} body, got none"]
    version = {
        "datatransfer": "datatransfer_v1",
        "licensing": "licensing_v1",
        "groupsSettings": "groupssettings_v1",
        "gmail": "gmail_v1",
    }.get(method_id.partition(".")[0], "directory_v1")
    return problems(body, response, version=version)


# Where Google's detail has a message of its own, shorter than the error's.
_DETAIL_MESSAGES = {
    "authError": "Invalid Credentials",
    "insufficientPermissions": "Insufficient Permission",
}


def error_problems(status: int, body: Any) -> list[str]:
    """Problems of an error answer against Google's error shape."""
    if not isinstance(body, dict) or set(body) != {"error"}:
        return [f"error body must be {{'error': ...}}, got {body!r}"]
    error = body["error"]
    found = []
    if error.get("code") != status:
        found.append(f"error.code {error.get('code')!r} differs from status {status}")
    if not isinstance(error.get("message"), str) or not error["message"]:
        found.append("error.message must be a non-empty string")
    details = error.get("errors")
    if not isinstance(details, list) or not details:
        return [*found, "error.errors must be a non-empty list"]
    for detail in details:
        # Google puts quota and rate errors in usageLimits, everything else in global.
        if detail.get("domain") not in ("global", "usageLimits"):
            found.append(f"error.errors[].domain must be global or usageLimits: {detail!r}")
        if not isinstance(detail.get("reason"), str) or not detail["reason"]:
            found.append(f"error.errors[].reason missing: {detail!r}")
        if detail.get("message") != _DETAIL_MESSAGES.get(
            detail.get("reason"), error.get("message")
        ):
            found.append(f"error.errors[].message differs from error.message: {detail!r}")
    return found


def assert_valid_response(method_id: str, status: int, body: Any) -> None:
    """Fail with every problem if a response does not match the discovery document."""
    found = response_problems(method_id, status, body) if status < 300 else []
    if status >= 400:
        found = error_problems(status, body)
    assert not found, "\n".join(found)

"""Custom user schemas (schemas.*) and the validation of users' customSchemas values."""

from __future__ import annotations

import re
from typing import Any

from reconciler.emulator.errors import duplicate, invalid, not_found, required
from reconciler.emulator.ids import new_schema_id, next_etag
from reconciler.emulator.request import Call
from reconciler.emulator.rules import check_customer
from reconciler.emulator.tenant import Record, Tenant

FIELD_TYPES = frozenset({"STRING", "INT64", "BOOL", "DOUBLE", "EMAIL", "PHONE", "DATE"})
READ_ACCESS = frozenset({"ALL_DOMAIN_USERS", "ADMINS_AND_SELF"})
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INT = re.compile(r"-?\d+")

Answer = tuple[int, dict[str, Any] | None]


# ---- rendering ------------------------------------------------------------------------


def render_schema(rec: Record) -> dict[str, Any]:
    """A Schema resource as Google returns it."""
    fields = []
    for spec in rec["fields"]:
        field = {"kind": "admin#directory#schema#fieldspec", **spec}
        field["etag"] = next_etag(rec["etag"] + spec["fieldId"])
        fields.append(field)
    return {
        "kind": "admin#directory#schema",
        "schemaId": rec["schemaId"],
        "etag": rec["etag"],
        "schemaName": rec["schemaName"],
        "displayName": rec.get("displayName", rec["schemaName"]),
        "fields": fields,
    }


# ---- building -------------------------------------------------------------------------


def build_schema(
    tenant: Tenant, body: dict[str, Any], old: Record | None, *, replace: bool, rng: Any
) -> Record:
    """A new or changed Schema record from a request body (or a seed entry)."""
    if old is None:
        name = body.get("schemaName")
        if not name:
            raise required("schemaName")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise invalid("Invalid Input: schemaName")
        if tenant.schema(name) is not None:
            raise duplicate()
        rec: Record = {"schemaId": body.get("schemaId") or new_schema_id(rng), "schemaName": name}
    else:
        if "schemaName" in body and str(body["schemaName"]).lower() != old["schemaName"].lower():
            raise invalid("Invalid Input: schemaName cannot be changed")
        rec = dict(old)
    if "displayName" in body and body["displayName"] is not None:
        if not isinstance(body["displayName"], str):
            raise invalid("Invalid Input: displayName")
        rec["displayName"] = body["displayName"]
    rec.setdefault("displayName", rec["schemaName"])
    if old is None or replace or "fields" in body:
        rec["fields"] = _fields(body.get("fields"), old, rng)
    return rec


def _fields(value: Any, old: Record | None, rng: Any) -> list[Record]:
    if not value:
        raise required("fields")
    if not isinstance(value, list):
        raise invalid("Invalid Input: fields")
    old_ids = {f["fieldName"].lower(): f["fieldId"] for f in (old or {}).get("fields", ())}
    out: list[Record] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, dict):
            raise invalid("Invalid Input: fields")
        name = item.get("fieldName")
        if not name:
            raise required("fields.fieldName")
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name.lower() in seen:
            raise invalid(f"Invalid Input: fieldName {name}")
        seen.add(name.lower())
        field_type = item.get("fieldType")
        if not field_type:
            raise required("fields.fieldType")
        if field_type not in FIELD_TYPES:
            raise invalid(f"Invalid Input: fieldType {field_type}")
        spec: Record = {
            "fieldId": item.get("fieldId") or old_ids.get(name.lower()) or new_schema_id(rng),
            "fieldName": name,
            "fieldType": field_type,
            "displayName": item.get("displayName") or name,
            "readAccessType": item.get("readAccessType", "ALL_DOMAIN_USERS"),
        }
        if spec["readAccessType"] not in READ_ACCESS:
            raise invalid(f"Invalid Input: readAccessType {spec['readAccessType']}")
        for flag in ("multiValued", "indexed"):
            if flag in item:
                if not isinstance(item[flag], bool):
                    raise invalid(f"Invalid Input: {flag}")
                spec[flag] = item[flag]
        if isinstance(item.get("numericIndexingSpec"), dict):
            spec["numericIndexingSpec"] = item["numericIndexingSpec"]
        out.append(spec)
    return out


# ---- users' values --------------------------------------------------------------------


def merge_custom_values(tenant: Tenant, current: Record | None, value: Any) -> Record | None:
    """Users' customSchemas after a write: schemas and fields named in `value` are set,
    those set to null removed, the rest kept. Every name and value is checked against
    the defined schemas (400 naming the schema or field)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid("Invalid Input: custom_schema")
    merged = {k: dict(v) for k, v in (current or {}).items()}
    for schema_name, fields in value.items():
        schema = tenant.schema(schema_name)
        if schema is None:
            raise invalid(f"Invalid Input: custom_schema {schema_name} is not defined")
        key = schema["schemaName"]
        if fields is None:
            merged.pop(key, None)
            continue
        if not isinstance(fields, dict):
            raise invalid(f"Invalid Input: custom_schema {key}")
        specs = {f["fieldName"].lower(): f for f in schema["fields"]}
        target = merged.setdefault(key, {})
        for field_name, field_value in fields.items():
            spec = specs.get(field_name.lower())
            if spec is None:
                raise invalid(f"Invalid Input: custom_schema {key}.{field_name} is not defined")
            if field_value is None:
                target.pop(spec["fieldName"], None)
            else:
                target[spec["fieldName"]] = _checked(spec, field_value, f"{key}.{field_name}")
        if not target:
            del merged[key]
    return merged or None


def _checked(spec: Record, value: Any, where: str) -> Any:
    if spec.get("multiValued"):
        if not isinstance(value, list):
            raise invalid(f"Invalid Input: custom_schema {where} takes a list of values")
        for item in value:
            if not isinstance(item, dict) or "value" not in item:
                raise invalid(f"Invalid Input: custom_schema {where} items need a value")
            _scalar(spec["fieldType"], item["value"], where)
        return value
    _scalar(spec["fieldType"], value, where)
    return value


def _scalar(field_type: str, value: Any, where: str) -> None:
    ok = {
        "BOOL": lambda v: isinstance(v, bool),
        "INT64": lambda v: (
            (isinstance(v, int) and not isinstance(v, bool))
            or (isinstance(v, str) and _INT.fullmatch(v) is not None)
        ),
        "DOUBLE": lambda v: (
            (isinstance(v, int | float) and not isinstance(v, bool))
            or (isinstance(v, str) and _is_float(v))
        ),
        "DATE": lambda v: isinstance(v, str) and _DATE.fullmatch(v) is not None,
        "EMAIL": lambda v: isinstance(v, str) and "@" in v,
    }.get(field_type, lambda v: isinstance(v, str))
    if not ok(value):
        raise invalid(f"Invalid Input: custom_schema {where} must be a {field_type} value")


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def public_fields(tenant: Tenant, values: Record) -> Record:
    """The custom values any user of the domain may read (readAccessType ALL_DOMAIN_USERS)."""
    out: Record = {}
    for schema_name, fields in values.items():
        schema = tenant.schema(schema_name)
        if schema is None:
            continue
        public = {
            f["fieldName"] for f in schema["fields"] if f["readAccessType"] != "ADMINS_AND_SELF"
        }
        kept = {k: v for k, v in fields.items() if k in public}
        if kept:
            out[schema_name] = kept
    return out


# ---- handlers -------------------------------------------------------------------------


def _schema(call: Call) -> Record:
    check_customer(call.tenant, call.params["customerId"])
    rec = call.tenant.schema(call.params["schemaKey"])
    if rec is None:
        raise not_found("schemaKey")
    return rec


def list_schemas(call: Call) -> Answer:
    check_customer(call.tenant, call.params["customerId"])
    schemas = call.tenant.schemas
    out: dict[str, Any] = {
        "kind": "admin#directory#schemas",
        "etag": next_etag(f"schemas/{call.tenant.generation}"),
    }
    if schemas:
        out["schemas"] = [render_schema(schemas[k]) for k in sorted(schemas)]
    return 200, out


def get_schema(call: Call) -> Answer:
    return 200, render_schema(_schema(call))


def insert_schema(call: Call) -> Answer:
    check_customer(call.tenant, call.params["customerId"])
    body = call.body()
    body.pop("schemaId", None)  # read-only: Google assigns it
    rec = build_schema(call.tenant, body, None, replace=True, rng=call.rng)
    return 200, render_schema(call.tenant.put_schema(rec))


def update_schema(call: Call) -> Answer:
    old = _schema(call)
    rec = build_schema(call.tenant, call.body(), old, replace=True, rng=call.rng)
    return 200, render_schema(call.tenant.put_schema(rec))


def patch_schema(call: Call) -> Answer:
    old = _schema(call)
    rec = build_schema(call.tenant, call.body(), old, replace=False, rng=call.rng)
    return 200, render_schema(call.tenant.put_schema(rec))


def delete_schema(call: Call) -> Answer:
    rec = _schema(call)
    call.tenant.delete_schema(rec["schemaName"])
    return 204, None

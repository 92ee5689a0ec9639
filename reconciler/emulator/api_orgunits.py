"""orgunits.*: the org unit tree; paths in URLs have no leading slash (or are `id:…`)."""

from __future__ import annotations

from typing import Any

from reconciler.emulator.errors import ApiError, condition_not_met, duplicate, invalid, required
from reconciler.emulator.ids import new_orgunit_id, next_etag
from reconciler.emulator.request import Call
from reconciler.emulator.rules import check_customer
from reconciler.emulator.tenant import ROOT_PATH, Record, Tenant

Answer = tuple[int, dict[str, Any] | None]
TYPES = ("all", "children", "allIncludingParent")


def orgunit_not_found() -> ApiError:
    return ApiError(404, "notFound", "Org unit not found")


def orgunit_exists() -> ApiError:
    """orgunits.insert of a path that exists. Google answers 400 (GAM's doCreateOrg files it,
    as invalidOrgunit, or a 503 backendError, as "duplicate"), not 409; see
    docs/emulator.md, "Error shapes on idempotent paths"."""
    return ApiError(400, "invalidOrgunit", "Invalid Ou Id")


def render_orgunit(rec: Record) -> dict[str, Any]:
    """An OrgUnit resource as Google returns it."""
    out: dict[str, Any] = {
        "kind": "admin#directory#orgUnit",
        "etag": rec["etag"],
        "name": rec["name"],
        "orgUnitPath": rec["orgUnitPath"],
        "orgUnitId": rec["orgUnitId"],
    }
    if rec.get("description"):
        out["description"] = rec["description"]
    if rec["orgUnitPath"] != ROOT_PATH:
        out["parentOrgUnitPath"] = rec["parentOrgUnitPath"]
        out["parentOrgUnitId"] = rec["parentOrgUnitId"]
    out["blockInheritance"] = rec.get("blockInheritance", False)
    return out


def _parent(tenant: Tenant, path: Any, unit_id: Any) -> tuple[str, str]:
    """(path, id) of a parent named by path or id; the root is `/`."""
    if isinstance(unit_id, str) and unit_id:
        if unit_id == tenant.root_orgunit_id:
            return ROOT_PATH, unit_id
        found = tenant.orgunit(unit_id if unit_id.startswith("id:") else "id:" + unit_id)
    elif isinstance(path, str) and path.strip():
        if path.strip().rstrip("/") == "":
            return ROOT_PATH, tenant.root_orgunit_id
        found = tenant.orgunit(path.strip())
    else:
        raise required("parentOrgUnitPath")
    if found is None:
        raise invalid("Invalid Parent Orgunit Id")
    return found["orgUnitPath"], found["orgUnitId"]


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or "/" in value or len(value) > 100:
        raise invalid("Invalid Input: name")
    return value.strip()


def build_orgunit(
    tenant: Tenant, body: dict[str, Any], *, old: Record | None, rng: Any, seed: bool = False
) -> Record:
    """The record an insert or change produces (update keeps omitted fields, like patch)."""
    rec: Record = dict(old) if old is not None else {}
    if old is None:
        if not body.get("name"):
            raise required("name")
        given = body.get("orgUnitId") if seed else None
        rec["orgUnitId"] = str(given) if given else new_orgunit_id(rng)
    if "name" in body:
        rec["name"] = _name(body["name"])
    if old is None or "parentOrgUnitPath" in body or "parentOrgUnitId" in body:
        parent_path, parent_id = _parent(
            tenant, body.get("parentOrgUnitPath"), body.get("parentOrgUnitId")
        )
        rec["parentOrgUnitPath"], rec["parentOrgUnitId"] = parent_path, parent_id
    if "description" in body:
        if body["description"] is None:
            rec.pop("description", None)
        elif isinstance(body["description"], str):
            rec["description"] = body["description"]
        else:
            raise invalid("Invalid Input: description")
    if isinstance(body.get("blockInheritance"), bool):
        rec["blockInheritance"] = body["blockInheritance"]
    path = rec["parentOrgUnitPath"].rstrip("/") + "/" + rec["name"]
    if old is not None:
        old_low = old["orgUnitPath"].lower()
        parent_low = rec["parentOrgUnitPath"].lower()
        if parent_low == old_low or parent_low.startswith(old_low + "/"):
            raise invalid("Invalid Parent Orgunit Id")  # under itself
    existing = tenant.orgunit(path)
    if existing is not None and old is None:
        raise orgunit_exists()
    if existing is not None and existing["orgUnitId"] != old["orgUnitId"]:
        raise duplicate()
    rec["orgUnitPath"] = path
    return rec


def _unit(call: Call) -> Record:
    check_customer(call.tenant, call.params["customerId"])
    rec = call.tenant.orgunit(call.params["orgUnitPath"])
    if rec is None:
        raise orgunit_not_found()
    return rec


# ---- handlers ---------------------------------------------------------------------------


def list_orgunits(call: Call) -> Answer:
    t = call.tenant
    check_customer(t, call.params["customerId"])
    kind = call.choice("type", TYPES, "children")
    base_arg = (call.arg("orgUnitPath") or "").strip()
    if base_arg.rstrip("/") in ("", t.root_orgunit_id):
        base: Record = t.root_orgunit()
    else:
        found = t.orgunit(base_arg)
        if found is None:
            raise orgunit_not_found()
        base = found
    base_low = base["orgUnitPath"].lower()
    below = base_low.rstrip("/") + "/"
    units = []
    lagged = call.lagged("orgunits")  # units written moments ago are listed as they were
    listed = (
        {k: rec for k, rec in t.orgunits.items() if rec["orgUnitId"] not in lagged}
        if lagged
        else t.orgunits
    )
    if lagged:
        listed.update((rec["orgUnitPath"].lower(), rec) for rec in lagged.values() if rec)
    for key in sorted(listed):
        rec = listed[key]
        if kind == "children":
            if rec["parentOrgUnitPath"].lower() == base_low:
                units.append(rec)
        elif key.startswith(below):
            units.append(rec)
    if kind == "allIncludingParent":
        units.insert(0, base)
    drop = call.short_listing.get("orgunits", 0)
    if drop:
        units = units[: max(len(units) - drop, 0)]
    out: dict[str, Any] = {
        "kind": "admin#directory#orgUnits",
        "etag": next_etag(f"orgunits/{t.generation}"),
    }
    if units:
        out["organizationUnits"] = [render_orgunit(u) for u in units]
    return 200, out


def get_orgunit(call: Call) -> Answer:
    return 200, render_orgunit(_unit(call))


def insert_orgunit(call: Call) -> Answer:
    check_customer(call.tenant, call.params["customerId"])
    rec = build_orgunit(call.tenant, call.body(), old=None, rng=call.rng)
    return 200, render_orgunit(call.tenant.put_orgunit(rec))


def update_orgunit(call: Call) -> Answer:
    return _change(call)


def patch_orgunit(call: Call) -> Answer:
    return _change(call)


def _change(call: Call) -> Answer:
    old = _unit(call)
    rec = build_orgunit(call.tenant, call.body(), old=old, rng=call.rng)
    call.tenant.put_orgunit(rec, old_path=old["orgUnitPath"])
    return 200, render_orgunit(rec)


def delete_orgunit(call: Call) -> Answer:
    t = call.tenant
    rec = _unit(call)
    low = rec["orgUnitPath"].lower()
    below = low + "/"
    has_units = any(key.startswith(below) for key in t.orgunits)
    # An O(users) scan, but deleting an org unit is rare.
    has_users = any(
        u["orgUnitPath"].lower() == low or u["orgUnitPath"].lower().startswith(below)
        for u in t.users.values()
    )
    if has_units or has_users:
        # 412, as GAM's _doDeleteOrgs expects ("Has child org units"), not 400.
        raise condition_not_met(
            f"Org unit {rec['orgUnitPath']} is not empty: it still holds users or org units"
        )
    t.delete_orgunit(rec["orgUnitPath"])
    return 204, None

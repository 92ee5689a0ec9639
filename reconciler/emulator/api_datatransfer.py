"""The Data Transfer API: applications.list/get and transfers.insert/get/list (transfers.py
holds the resources and their rules).

Paths are relative to `admin/datatransfer/v1/`; the server sends calls under
`/admin/datatransfer/v1/` here, through the same DirectoryApi machinery (one tenant, one
lock, one journal) as the Directory API.
"""

from __future__ import annotations

from typing import Any

from reconciler.emulator.errors import ApiError, invalid, not_found
from reconciler.emulator.ids import next_etag
from reconciler.emulator.paging import listing_digest
from reconciler.emulator.request import Call
from reconciler.emulator.rules import check_customer
from reconciler.emulator.transfers import (
    APPLICATIONS,
    STATUSES,
    new_transfer,
    render_application,
    render_transfer,
    status_of,
)

Answer = tuple[int, dict[str, Any] | None]


def _customer(call: Call) -> None:
    # Optional in the discovery document; when given, `my_customer` or the tenant's id.
    customer = call.arg("customerId")
    if customer:
        check_customer(call.tenant, customer)


def list_applications(call: Call) -> Answer:
    _customer(call)
    limit = call.integer("maxResults", 100, 1, 500)
    order = list(range(len(APPLICATIONS)))
    ids = list(APPLICATIONS)
    found, token = call.page("applications", listing_digest("applications"), order, limit)
    out: dict[str, Any] = {
        "kind": "admin#datatransfer#applicationsList",
        "etag": next_etag("applications/" + "/".join(ids)),
    }
    if found:
        out["applications"] = [render_application(ids[i]) for i in found]
    if token:
        out["nextPageToken"] = token
    return 200, out


def get_application(call: Call) -> Answer:
    app_id = call.params["applicationId"]
    if not app_id.lstrip("-").isdigit():
        # An int64 path parameter that is no number never reaches the service.
        raise ApiError(
            400,
            "invalidParameter",
            f"Invalid value '{app_id}'. Values must match the following regular "
            "expression: '-?\\d+'",
            location="applicationId",
            location_type="parameter",
        )
    if app_id not in APPLICATIONS:
        raise not_found("applicationId")
    return 200, render_application(app_id)


def insert_transfer(call: Call) -> Answer:
    body = call.body()
    for field in ("oldOwnerUserId", "newOwnerUserId"):
        value = body.get(field)
        # A user created moments ago is not known here yet, as to the Directory's reads.
        if isinstance(value, str) and call.settling(value):
            raise invalid(f"Invalid Input: {field}")
    rec = new_transfer(call.tenant, body, now=call.now, delay_s=call.transfer_delay_s, rng=call.rng)
    call.tenant.put_transfer(rec)
    return 200, render_transfer(rec, call.now)


def get_transfer(call: Call) -> Answer:
    rec = call.tenant.transfers.get(call.params["dataTransferId"])
    if rec is None:
        raise not_found("dataTransferId")
    return 200, render_transfer(rec, call.now)


def list_transfers(call: Call) -> Answer:
    _customer(call)
    limit = call.integer("maxResults", 100, 1, 500)
    filters = {}
    for field in ("oldOwnerUserId", "newOwnerUserId"):
        value = call.arg(field)
        if value:
            if not value.isdigit():  # an address where an immutable id belongs
                raise invalid(f"Invalid Input: {field}")
            filters[field] = value
    status = call.arg("status") or None
    if status is not None and status not in STATUSES:
        raise invalid("Invalid Input: status")
    transfers = call.tenant.transfers
    keys = sorted((rec["requestTime"], rec["id"]) for rec in transfers.values())

    def match(key: Any) -> bool:
        rec = transfers[key[1]]
        if any(rec[field] != value for field, value in filters.items()):
            return False
        return status is None or status_of(rec, call.now) == status

    digest = listing_digest("transfers", call.arg("customerId"), filters, status)
    found, token = call.page("transfers", digest, keys, limit, match)
    shown = [render_transfer(transfers[k[1]], call.now) for k in found]
    out: dict[str, Any] = {
        "kind": "admin#datatransfer#dataTransfersList",
        "etag": next_etag("transfers/" + "/".join(t["etag"] for t in shown)),
    }
    if shown:
        out["dataTransfers"] = shown
    if token:
        out["nextPageToken"] = token
    return 200, out


ROUTES: list[tuple[str, str, str, Any]] = [
    ("GET", "applications", "datatransfer.applications.list", list_applications),
    (
        "GET",
        "applications/{applicationId}",
        "datatransfer.applications.get",
        get_application,
    ),
    ("POST", "transfers", "datatransfer.transfers.insert", insert_transfer),
    ("GET", "transfers", "datatransfer.transfers.list", list_transfers),
    ("GET", "transfers/{dataTransferId}", "datatransfer.transfers.get", get_transfer),
]

"""The Data Transfer API's resources: the applications whose data can move to another owner,
and transfers of a user's data, built from a request or a seed entry and rendered.

Applications (ids and parameters as Google lists them, per GAM's data transfer code and
Google's transfer parameters reference): Drive and Docs (PRIVACY_LEVEL: PRIVATE, SHARED),
Calendar (RELEASE_RESOURCES: TRUE) and Looker Studio (no parameters).

A stored transfer:

    {"id", "oldOwnerUserId", "newOwnerUserId", "requestTime", "etag",
     "applicationDataTransfers": [{"applicationId", "applicationTransferParams"?}],
     "overallTransferStatusCode": "inProgress" | "completed" | "failed",
     "emulatorCompletesAt"?: RFC 3339 time}

A transfer inserted through the API is stored `inProgress` with `emulatorCompletesAt` (its
request time plus the option `transfer_delay_ms`) and is shown `completed` from then on; the
status of every application follows the overall one. A seed may give any of the three
statuses; one `inProgress` without `emulatorCompletesAt` never completes (a transfer stuck at
Google), one `failed` stays failed.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Mapping
from typing import Any

from reconciler.emulator.errors import ApiError, invalid, required
from reconciler.emulator.ids import next_etag
from reconciler.emulator.request import format_time, parse_time
from reconciler.emulator.tenant import Record, Tenant

TRANSFER_KIND = "admin#datatransfer#DataTransfer"
APPLICATION_KIND = "admin#datatransfer#ApplicationResource"
IN_PROGRESS = "inProgress"
COMPLETED = "completed"
FAILED = "failed"
STATUSES = (IN_PROGRESS, COMPLETED, FAILED)
COMPLETES_AT = "emulatorCompletesAt"  # the emulator's own key: when inProgress turns completed
# How long a new transfer stays inProgress by default (the option `transfer_delay_ms`): never
# done at once, as at Google, yet short enough for tests to wait out.
DEFAULT_TRANSFER_DELAY_MS = 200.0

DRIVE = "55656082996"
CALENDAR = "435070579839"
LOOKER_STUDIO = "810260081642"
# id -> (name, {parameter key: the values it allows}), in the order applications.list shows.
APPLICATIONS: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    DRIVE: ("Drive and Docs", {"PRIVACY_LEVEL": ("PRIVATE", "SHARED")}),
    CALENDAR: ("Calendar", {"RELEASE_RESOURCES": ("TRUE",)}),
    LOOKER_STUDIO: ("Looker Studio", {}),
}
_SEED_KEYS = frozenset(
    {
        "id",
        "kind",
        "etag",
        "oldOwnerUserId",
        "newOwnerUserId",
        "applicationDataTransfers",
        "requestTime",
        "overallTransferStatusCode",
        COMPLETES_AT,
    }
)


def render_application(app_id: str) -> dict[str, Any]:
    """An Application resource as Google returns it."""
    name, params = APPLICATIONS[app_id]
    out: dict[str, Any] = {
        "kind": APPLICATION_KIND,
        "etag": next_etag(f"application/{app_id}"),
        "id": app_id,
        "name": name,
    }
    if params:
        out["transferParams"] = [{"key": k, "value": list(v)} for k, v in params.items()]
    return out


def status_of(rec: Record, now: float) -> str:
    """The transfer's overall status at `now` (epoch seconds)."""
    status = rec["overallTransferStatusCode"]
    due = rec.get(COMPLETES_AT)
    if status == IN_PROGRESS and due is not None and now >= parse_time(due):
        return COMPLETED
    return status


def render_transfer(rec: Record, now: float) -> dict[str, Any]:
    """A DataTransfer resource as Google returns it at `now`."""
    status = status_of(rec, now)
    etag = rec["etag"] if status == rec["overallTransferStatusCode"] else next_etag(rec["etag"])
    apps = []
    for app in rec["applicationDataTransfers"]:
        shown = {"applicationId": app["applicationId"]}
        if app.get("applicationTransferParams"):
            shown["applicationTransferParams"] = [
                {"key": p["key"], "value": list(p["value"])}
                for p in app["applicationTransferParams"]
            ]
        shown["applicationTransferStatus"] = status
        apps.append(shown)
    return {
        "kind": TRANSFER_KIND,
        "etag": etag,
        "id": rec["id"],
        "oldOwnerUserId": rec["oldOwnerUserId"],
        "newOwnerUserId": rec["newOwnerUserId"],
        "applicationDataTransfers": apps,
        "overallTransferStatusCode": status,
        "requestTime": rec["requestTime"],
    }


def new_transfer(
    tenant: Tenant, body: Mapping[str, Any], *, now: float, delay_s: float, rng: random.Random
) -> Record:
    """The record transfers.insert stores, or ApiError as Google refuses the request.

    Owners are immutable user ids, never addresses. The old owner must be a user of the
    tenant (suspended or not: not a deleted one); the new owner an active user, another one.
    Read-only fields in the body (id, requestTime, statuses, etag, kind) are ignored."""
    old_id = _user_id(body, "oldOwnerUserId")
    new_id = _user_id(body, "newOwnerUserId")
    if old_id not in tenant.users:
        raise invalid("Invalid Input: oldOwnerUserId")
    new_owner = tenant.users.get(new_id)
    if new_owner is None or new_owner.get("suspended") or new_id == old_id:
        raise invalid("Invalid Input: newOwnerUserId")
    transfer_id = _new_id(rng, tenant)
    return {
        "id": transfer_id,
        "oldOwnerUserId": old_id,
        "newOwnerUserId": new_id,
        "applicationDataTransfers": _applications(body.get("applicationDataTransfers")),
        "requestTime": format_time(now),
        "etag": next_etag(f"transfer/{transfer_id}"),
        "overallTransferStatusCode": IN_PROGRESS,
        COMPLETES_AT: format_time(now + delay_s),
    }


def seeded_transfer(tenant: Tenant, entry: Any, *, now: str, rng: random.Random) -> Record:
    """The stored transfer of a seed or state entry; ValueError naming what is wrong.

    Checked like an insert, except that the owners need only be user ids (a transfer
    outlives the accounts it names: the old owner is often deleted next). `id`, `requestTime`
    and `etag` may be given; `overallTransferStatusCode` defaults to completed."""
    if not isinstance(entry, Mapping):
        raise ValueError("expected a DataTransfer mapping")
    unknown = sorted(str(k) for k in entry if k not in _SEED_KEYS)
    if unknown:
        raise ValueError(f"unknown field '{unknown[0]}'")
    try:
        old_id = _user_id(entry, "oldOwnerUserId")
        new_id = _user_id(entry, "newOwnerUserId")
        apps = _applications(entry.get("applicationDataTransfers"))
    except ApiError as exc:
        raise ValueError(exc.message) from None
    if old_id == new_id:
        raise ValueError("oldOwnerUserId and newOwnerUserId are the same user")
    if entry.get("kind", TRANSFER_KIND) != TRANSFER_KIND:
        raise ValueError(f"kind must be {TRANSFER_KIND}")
    transfer_id = entry.get("id") or _new_id(rng, tenant)
    if not isinstance(transfer_id, str):
        raise ValueError("id must be a string")
    if transfer_id in tenant.transfers:
        raise ValueError(f"id {transfer_id} is used twice")
    status = entry.get("overallTransferStatusCode", COMPLETED)
    if status not in STATUSES:
        raise ValueError(f"overallTransferStatusCode must be one of {', '.join(STATUSES)}")
    rec: Record = {
        "id": transfer_id,
        "oldOwnerUserId": old_id,
        "newOwnerUserId": new_id,
        "applicationDataTransfers": apps,
        "requestTime": _time(entry.get("requestTime", now), "requestTime"),
        "etag": entry.get("etag") or next_etag(f"transfer/{transfer_id}"),
        "overallTransferStatusCode": status,
    }
    if entry.get(COMPLETES_AT) is not None:
        if status != IN_PROGRESS:
            raise ValueError(f"{COMPLETES_AT} is for a transfer still {IN_PROGRESS}")
        rec[COMPLETES_AT] = _time(entry[COMPLETES_AT], COMPLETES_AT)
    return rec


# ---- checks -----------------------------------------------------------------------------


def _user_id(body: Mapping[str, Any], field: str) -> str:
    """A user id as the API takes it: digits (an address, or anything else, is refused)."""
    value = body.get(field)
    if value is None or value == "":
        raise required(field)
    if not isinstance(value, str) or not value.isdigit():
        raise invalid(f"Invalid Input: {field}")
    return value


def _applications(value: Any) -> list[Record]:
    """The applicationDataTransfers of a request: each a known application, once, with
    parameters its application declares and values it allows."""
    if value is None or value == []:
        raise required("applicationDataTransfers")
    if not isinstance(value, list):
        raise invalid("Invalid Input: applicationDataTransfers")
    apps: list[Record] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, Mapping):
            raise invalid("Invalid Input: applicationDataTransfers")
        app_id = item.get("applicationId")
        if isinstance(app_id, int) and not isinstance(app_id, bool):
            app_id = str(app_id)  # an int64 may travel as a JSON number
        if app_id is None:
            raise required("applicationDataTransfers.applicationId")
        if app_id not in APPLICATIONS or app_id in seen:
            raise invalid("Invalid Input: applicationId")
        seen.add(app_id)
        app: Record = {"applicationId": app_id}
        params = _params(app_id, item.get("applicationTransferParams"))
        if params:
            app["applicationTransferParams"] = params
        apps.append(app)
    return apps


def _params(app_id: str, value: Any) -> list[Record]:
    if value is None:
        return []
    allowed = APPLICATIONS[app_id][1]
    if not isinstance(value, list):
        raise invalid("Invalid Input: applicationTransferParams")
    params: list[Record] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, Mapping):
            raise invalid("Invalid Input: applicationTransferParams")
        key, values = item.get("key"), item.get("value")
        if key not in allowed or key in seen:
            raise invalid(f"Invalid Input: applicationTransferParams key {key}")
        if (
            not isinstance(values, list)
            or not values
            or any(v not in allowed[key] for v in values)
            or len(set(values)) != len(values)
        ):
            raise invalid(f"Invalid Input: applicationTransferParams value of {key}")
        seen.add(key)
        params.append({"key": key, "value": list(values)})
    return params


def _new_id(rng: random.Random, tenant: Tenant) -> str:
    """An opaque transfer id (Google documents none of its form)."""
    while True:
        transfer_id = base64.urlsafe_b64encode(rng.randbytes(18)).decode()
        if transfer_id not in tenant.transfers:
            return transfer_id


def _time(value: Any, field: str) -> str:
    if isinstance(value, str):
        try:
            parse_time(value)
        except ValueError:
            pass
        else:
            return value
    raise ValueError(f"{field} must be an RFC 3339 time")

"""The Groups Settings API (groupssettings v1): groups.get, groups.update (PUT) and
groups.patch, on `{groupUniqueId}` relative to `groups/v1/groups/` (group_settings.py holds
the resource and its checks). The server sends calls under `/groups/v1/groups/` here,
through the same DirectoryApi machinery (one tenant, one lock, one journal).

Checks come in this order: `alt` (the document's default is Atom; only `alt=json` is
answered), the group (its primary address only; 404 within the consistency delay after its
insert or rename), then each written value, the address, and the settings taken together.
Every call answers the whole resource.
"""

from __future__ import annotations

from typing import Any

from reconciler.emulator.errors import ApiError, not_found
from reconciler.emulator.group_settings import (
    check_consistent,
    current,
    render,
    to_store,
    written,
)
from reconciler.emulator.request import Call
from reconciler.emulator.tenant import GROUP, Record

Answer = tuple[int, dict[str, Any] | None]

NO_ATOM = (
    "Only alt=json is answered here: without it Google answers Atom XML (the document's "
    "default for alt), which the emulator does not produce"
)


def _group(call: Call) -> Record:
    alt = call.arg("alt")
    if alt != "json":
        raise ApiError(400, "invalidParameter", NO_ATOM, location="alt")
    key = call.params["groupUniqueId"]
    address = key.strip().lower()
    hit = call.tenant.addresses.get(address)
    if hit is None or hit[0] != GROUP or call.settling(hit[1]) or call.settling(address):
        raise not_found(key)
    group = call.tenant.groups[hit[1]]
    if group["email"] != address:
        raise not_found(key)  # an alias names no group here, nor does an id
    return group


def get_settings(call: Call) -> Answer:
    group = _group(call)
    return 200, render(group, call.tenant.group_settings.get(group["id"]))


def _write(call: Call, *, replace: bool) -> Answer:
    group = _group(call)
    given = written(call.body(), group["email"])
    stored = call.tenant.group_settings.get(group["id"])
    # update (PUT) replaces the resource: what its body leaves out goes back to the default.
    values = current(None if replace else stored)
    values.update(given)
    if given.get("archiveOnly") == "true" and "whoCanPostMessage" not in given:
        # The document: "If true, the whoCanPostMessage property is set to NONE_CAN_POST";
        # only a post permission given with it, other than that, is refused.
        values["whoCanPostMessage"] = "NONE_CAN_POST"
    check_consistent(values)
    keep = to_store(values)
    if keep != (stored or {}):
        call.tenant.put_group_settings(group["id"], keep)
    return 200, render(group, keep)


def patch_settings(call: Call) -> Answer:
    return _write(call, replace=False)


def update_settings(call: Call) -> Answer:
    return _write(call, replace=True)


_PREFIX = "groupsSettings.groups."
ROUTES: list[tuple[str, str, str, Any]] = [
    ("GET", "{groupUniqueId}", _PREFIX + "get", get_settings),
    ("PUT", "{groupUniqueId}", _PREFIX + "update", update_settings),
    ("PATCH", "{groupUniqueId}", _PREFIX + "patch", patch_settings),
]

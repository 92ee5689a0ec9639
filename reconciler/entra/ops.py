"""The writes of the Entra export, as calls for `GraphClient.batch` (`{"method", "url",
"body"?}`, relative to v1.0) or for `GraphClient.request`, and what their answers mean.

- create_group: `POST /groups`, an assigned security group
  (https://learn.microsoft.com/en-us/graph/api/group-post-groups?view=graph-rest-1.0).
- mark: `POST /groups/{id}/extensions`, the ownership marker (marker.py); never in the
  create call, which open extensions do not allow.
- update_group: `PATCH /groups/{id}`, the description.
- add_member: `POST /groups/{id}/members/$ref`
  (https://learn.microsoft.com/en-us/graph/api/group-post-members?view=graph-rest-1.0).
- remove_member: `DELETE /groups/{id}/members/{member}/$ref`
  (https://learn.microsoft.com/en-us/graph/api/group-delete-members?view=graph-rest-1.0).
  Always with `/$ref`: without it, an app allowed to manage users deletes the user itself.

`outcome` reads an answer: "done" (including what was already so: a member already there,
one already gone), "retry" (a group created moments ago that Graph does not know yet:
https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/),
or the error to report.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import quote

from reconciler.entra.client import GRAPH_V1, error_of
from reconciler.entra.marker import MARKER_EXTENSION, MARKER_PROPERTY, marker_body, text_of
from reconciler.problems import excerpt

CallKind = Literal["create", "mark", "read", "update", "add", "remove"]

# Graph's words for a reference that is already there, or already gone (hamilton treats
# both as success; https://github.com/microsoftgraph/microsoft-graph-docs/issues/8637).
ALREADY_MEMBER = "already exist"
ALREADY_GONE = "do not exist"
# Graph's words when an object it has just created is not visible yet to the call.
NOT_YET = (
    "does not exist or one of its queried reference-property objects are not present",
    "the source resource object or one of the objects being referenced don't exist",
)
PERMISSIONS: dict[str, str] = {
    "create": "Group.ReadWrite.All",
    "mark": "Group.ReadWrite.All",
    "read": "Group.Read.All (or Group.ReadWrite.All)",
    "update": "Group.ReadWrite.All",
    "add": "GroupMember.ReadWrite.All (or Group.ReadWrite.All)",
    "remove": "GroupMember.ReadWrite.All (or Group.ReadWrite.All)",
}


def directory_object(object_id: str) -> str:
    """The URL that references a user, group or other directory object in a bind."""
    return f"{GRAPH_V1}/directoryObjects/{_segment(object_id)}"


def mail_nickname() -> str:
    """A random `xxxxxxxx-x` hex nickname, as the Entra admin center and Terraform's azuread
    provider (groupDefaultMailNickname, https://github.com/hashicorp/terraform-provider-azuread)
    give a security group: required by Graph, unique only for Microsoft 365 groups, and never
    used by a security group without mail."""
    digits = uuid.uuid4().hex
    return f"{digits[:8]}-{digits[8]}"


def create_group(
    display_name: str, description: str | None, *, nickname: str | None = None
) -> dict[str, Any]:
    """`POST /groups` for an assigned security group, without members: they are added by
    reference once it exists (each its own change, applied, audited and reported)."""
    body: dict[str, Any] = {"displayName": display_name}
    if description:
        body["description"] = description
    body.update(
        {
            "mailEnabled": False,
            "mailNickname": nickname or mail_nickname(),
            "securityEnabled": True,
            "groupTypes": [],
        }
    )
    return {"method": "POST", "url": "/groups", "body": body}


def mark(group_id: str, owner: str, git_name: str | None = None) -> dict[str, Any]:
    """`POST /groups/{id}/extensions`: the ownership marker."""
    return {
        "method": "POST",
        "url": f"/groups/{_segment(group_id)}/extensions",
        "body": marker_body(owner, git_name),
    }


def remark(group_id: str, owner: str, git_name: str | None = None) -> dict[str, Any]:
    """`PATCH /groups/{id}/extensions/{name}`: the marker's values written again (an
    extension of that name was there already: one left empty, or ours sent twice)."""
    body = marker_body(owner, git_name)
    return {
        "method": "PATCH",
        "url": f"/groups/{_segment(group_id)}/extensions/{MARKER_EXTENSION}",
        "body": {k: v for k, v in body.items() if k != "extensionName"},
    }


def read_marker(group_id: str) -> dict[str, Any]:
    """`GET /groups/{id}/extensions/{name}`: the marker a group holds."""
    return {
        "method": "GET",
        "url": f"/groups/{_segment(group_id)}/extensions/{MARKER_EXTENSION}",
    }


def marker_owner(response: Mapping[str, Any]) -> str | None:
    """The ownership id in a read_marker answer (None: none, or empty)."""
    return text_of(response.get("body"), MARKER_PROPERTY)


def update_group(group_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """`PATCH /groups/{id}`: Graph's properties (`displayName`, `description`; None or
    empty clears a description)."""
    body = {k: (v or None) if k == "description" else v for k, v in values.items()}
    return {"method": "PATCH", "url": f"/groups/{_segment(group_id)}", "body": body}


def add_member(group_id: str, object_id: str) -> dict[str, Any]:
    """`POST /groups/{id}/members/$ref`: a user or group made a direct member."""
    return {
        "method": "POST",
        "url": f"/groups/{_segment(group_id)}/members/$ref",
        "body": {"@odata.id": directory_object(object_id)},
    }


def remove_member(group_id: str, object_id: str) -> dict[str, Any]:
    """`DELETE /groups/{id}/members/{member}/$ref`: the membership only, never the member."""
    # Never without `/$ref`: that DELETE removes the user object itself.
    return {
        "method": "DELETE",
        "url": f"/groups/{_segment(group_id)}/members/{_segment(object_id)}/$ref",
    }


def outcome(kind: CallKind, response: Mapping[str, Any]) -> str:
    """ "done", "retry" (the caller waits and sends it again, up to a bound of its own), or
    an error message (status, Graph's code and words, and for a 403 the permission)."""
    status = int(response.get("status") or 0)
    if 200 <= status < 300:
        return "done"
    code, message = error_of(response.get("body"))
    words = message.lower()
    if kind == "add" and status == 400 and ALREADY_MEMBER in words:
        return "done"
    if kind == "remove" and (status == 404 or (status == 400 and ALREADY_GONE in words)):
        return "done"
    if kind == "mark" and status == 409:
        return "remark"  # the extension is there already: its values are written again
    if status in (400, 404) and any(phrase in words for phrase in NOT_YET):
        return "retry"
    text = f"{status} {code}: {excerpt(message, 300)}" if code or message else f"HTTP {status}"
    if kind == "create" and status == 504:
        # Not sent again (client.MAY_HAVE_RUN): it may have been created all the same.
        text += (
            " (the group may have been created all the same: the next plan finds it by its "
            "name and adopts it)"
        )
    if status == 403 and code == "Authorization_RequestDenied":
        text += (
            f" (the app needs the application permission {PERMISSIONS[kind]} of Microsoft "
            "Graph, with admin consent granted)"
        )
    return text


def _segment(value: str) -> str:
    """An id as one path segment (object ids are GUIDs; anything else is escaped)."""
    if not value:
        raise ValueError("an empty object id")
    return quote(value, safe="")

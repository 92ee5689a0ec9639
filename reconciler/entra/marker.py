"""The ownership marker on an Entra group: an open extension named MARKER_EXTENSION whose
`ownershipId` is the repository's ownership id. A group carrying ours is the export's to
change and delete; any other group is only ever matched by name.

Why an open extension (https://learn.microsoft.com/en-us/graph/extensibility-overview):
- It needs only Group.ReadWrite.All, which the export needs anyway to create and update
  groups. Nothing is registered first: a schema extension is a definition the app owns (at
  most 5 per app, with a lifecycle InDevelopment -> Available -> Deprecated that cannot go
  back), and a directory extension needs an application object and
  Application.ReadWrite.OwnedBy to define it, and its values become undiscoverable when that
  application is deleted.
- It survives the deletion of the app that wrote it: a new app registration (a rotated
  setup) still sees which groups the repository owns.
- It is not shown or edited in the Entra admin center, unlike the description, which an
  administrator may rewrite without knowing it carries anything.
- It is read in the same listing as the groups, with `$expand=extensions`: no call per group.
- An app may put at most 2 open extensions on one object (2 KB each); this uses 1.

What it costs: an open extension cannot be set in the call that creates the group (Graph
known issues, https://learn.microsoft.com/en-us/graph/known-issues), so a created group is
marked by a second call (`POST /groups/{id}/extensions`). A crash between the two leaves a
group without the marker; the next plan finds it by its display name and adopts it, marking
it then. Besides the ownership id the marker records the Git group's `name` (`gitName`): a
marked group is found by it first, so a new `display_name` renames the group in Entra (an
`update`) instead of making a second one and leaving the first with its members. Open
extensions cannot be filtered on, which the export never needs: it lists every group anyway.
"""

from __future__ import annotations

from typing import Any

MARKER_EXTENSION = "reconciler.ownership"
MARKER_PROPERTY = "ownershipId"
# The Git group's `name` the marked group exports: a group whose display name changes (in Git
# or by hand) is still found, and renamed, rather than left behind with its members.
GIT_NAME_PROPERTY = "gitName"
OPEN_TYPE = "#microsoft.graph.openTypeExtension"


def marker_body(owner: str, git_name: str | None = None) -> dict[str, Any]:
    """The body of `POST /groups/{id}/extensions` that marks a group as `owner`'s, exporting
    the Git group `git_name`."""
    body = {"@odata.type": OPEN_TYPE, "extensionName": MARKER_EXTENSION, MARKER_PROPERTY: owner}
    if git_name:
        body[GIT_NAME_PROPERTY] = git_name
    return body


def git_name_of(group: dict[str, Any]) -> str | None:
    """The Git group name our marker on `group` records (None: none recorded)."""
    return text_of(marker_of(group), GIT_NAME_PROPERTY)


def owner_of(group: dict[str, Any]) -> str | None:
    """The ownership id a group carries, from a group listed with `$expand=extensions`
    (None: no marker of ours, or one without a text ownership id)."""
    return text_of(marker_of(group), MARKER_PROPERTY)


def marker_of(group: dict[str, Any]) -> dict[str, Any] | None:
    """Our marker among a group's expanded extensions, if it has one. An open extension's
    name is its `extensionName` and also its `id`; either is taken."""
    extensions = group.get("extensions")
    if not isinstance(extensions, list):
        return None
    for extension in extensions:
        if isinstance(extension, dict) and (
            extension.get("extensionName", extension.get("id")) == MARKER_EXTENSION
        ):
            return extension
    return None


def text_of(marker: Any, name: str) -> str | None:
    """A marker property that is non-empty text, else None."""
    value = marker.get(name) if isinstance(marker, dict) else None
    return value if isinstance(value, str) and value else None

"""Read the Entra tenant (EntraActual) through Microsoft Graph, and refuse to return anything
built from a short read: a plan made from a partial listing would remove members, or
create groups, that exist.

Calls: users ceil(U/999) pages; groups ceil(G/999) pages, each with its open extensions
(`$expand=extensions`, where the ownership marker is); and the direct members of every group
the export may change (its name is one Git exports, or it carries our marker), first pages
through JSON batches of 20 groups, then every group's further pages (`@odata.nextLink`),
batched too, until none is left.

A listing is all or nothing: a member read that still fails after the client's retries
raises, naming the group; so does an answer without the shape of Graph's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from reconciler.entra.client import (
    GraphClient,
    GraphError,
    describe,
    page_of,
    relative,
)
from reconciler.entra.marker import git_name_of, owner_of
from reconciler.entra.state import EntraActual, EntraGroupRecord, EntraMember
from reconciler.problems import excerpt
from reconciler.progress import Progress

USER_SELECT = "id,userPrincipalName,mail"
GROUP_SELECT = (
    "id,displayName,description,securityEnabled,mailEnabled,groupTypes,"
    "onPremisesSyncEnabled,isAssignableToRole"
)
MEMBER_SELECT = "id,userPrincipalName,mail,displayName"
ODATA_PREFIX = "#microsoft.graph."


class EntraShortReadError(GraphError):
    """A listing of the tenant came back incomplete: planning from it could remove or
    duplicate what was not read."""


class MalformedEntraAnswer(GraphError):
    """An answer without the shape of Graph's (a wrong endpoint, a broken proxy)."""


def read_entra(
    client: GraphClient,
    *,
    names: set[str],
    owner: str,
    progress: Callable[[str], Progress] = Progress,
) -> EntraActual:
    """Users, every group, and the direct members of the groups named in `names` (display
    names, exact) or marked as `owner`'s."""
    before = client.stats.calls
    actual = EntraActual()
    _read_users(client, actual, progress("Reading Entra users"))
    _read_groups(client, actual, progress("Reading Entra groups"))
    wanted = [g for g in actual.groups if g.display_name in names or g.owner == owner]
    actual.members = read_members(client, wanted, progress("Reading Entra group members"))
    _cross_check(actual)
    actual.calls = client.stats.calls - before
    return actual


def _cross_check(actual: EntraActual) -> None:
    """Refuse listings that miss a user or group the member lists show: planned from, a
    user Git wants would look like one without an Entra account, and be removed."""
    users = set(actual.users_by_upn.values()) | set(actual.users_by_mail.values())
    groups = {g.id for g in actual.groups}
    names = {g.id: g.display_name for g in actual.groups}
    for group_id, members in actual.members.items():
        for member in members:
            listed = users if member.kind == "user" else groups if member.kind == "group" else None
            if listed is not None and member.id not in listed:
                raise EntraShortReadError(
                    f"Graph lists {member.kind} {member.name} ({member.id}) as a member of "
                    f'"{names.get(group_id, group_id)}" but not among the tenant\'s '
                    f"{member.kind}s: the listing looks incomplete (or behind a recent "
                    "change), so nothing was planned. Run again."
                )


def _read_users(client: GraphClient, actual: EntraActual, shown: Progress) -> None:
    users = client.get_all("/users", {"$select": USER_SELECT})
    if not users:
        # Every tenant has at least the administrator who registered the app.
        raise EntraShortReadError(
            "GET /users listed no user at all: every Entra tenant has at least one, so the "
            "read is short (a wrong endpoint, or a permission missing); nothing is planned "
            "from it"
        )
    for user in users:
        object_id = _text(user, "id", "GET /users")
        upn = user.get("userPrincipalName")
        mail = user.get("mail")
        if isinstance(upn, str) and upn:
            actual.users_by_upn[upn.lower()] = object_id
        if isinstance(mail, str) and mail:
            actual.users_by_mail[mail.lower()] = object_id
    shown.add(len(users))
    shown.done()


def _read_groups(client: GraphClient, actual: EntraActual, shown: Progress) -> None:
    listed = client.get_all("/groups", {"$select": GROUP_SELECT, "$expand": "extensions"})
    actual.groups = [group_record(item) for item in listed]
    shown.add(len(listed))
    shown.done()


def group_record(item: dict[str, Any]) -> EntraGroupRecord:
    """A group as listed with GROUP_SELECT and `$expand=extensions`."""
    label = "GET /groups"
    description = item.get("description")
    types = item.get("groupTypes") or []
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise MalformedEntraAnswer(f"{label}: groupTypes is not a list of text{_HINT}")
    return EntraGroupRecord(
        id=_text(item, "id", label),
        display_name=_text(item, "displayName", label),
        description=description if isinstance(description, str) else None,
        security_enabled=item.get("securityEnabled") is True,
        mail_enabled=item.get("mailEnabled") is True,
        group_types=tuple(types),
        owner=owner_of(item),
        git_name=git_name_of(item),
        on_premises=item.get("onPremisesSyncEnabled") is True,
        role_assignable=item.get("isAssignableToRole") is True,
    )


def members_url(group_id: str) -> str:
    """The first page of a group's direct members, relative to v1.0 (for a batch item)."""
    return f"/groups/{group_id}/members?$select={MEMBER_SELECT}&$top=999"


def read_members(
    client: GraphClient, groups: Iterable[EntraGroupRecord], shown: Progress | None = None
) -> dict[str, tuple[EntraMember, ...]]:
    """The direct members of `groups`, by group id: every page of every group, first pages
    and next pages alike through batches; EntraShortReadError when any page fails."""
    found: dict[str, list[EntraMember]] = {}
    pending: list[tuple[EntraGroupRecord, str]] = []
    for group in groups:
        found[group.id] = []
        pending.append((group, members_url(group.id)))
    if shown is not None:
        shown.of(len(pending), "groups")  # counted as each group's last page is read
    while pending:
        answers = client.batch([{"method": "GET", "url": url} for _, url in pending])
        following: list[tuple[EntraGroupRecord, str]] = []
        for (group, url), answer in zip(pending, answers, strict=True):
            label = f"the members of the Entra group {group.display_name!r} ({group.id})"
            if answer["status"] != 200:
                raise EntraShortReadError(
                    f"{label} could not be read: "
                    f"{describe('GET', url, answer['status'], answer['body'])}; nothing is "
                    "planned from a partial read"
                )
            page, link = page_of(answer["body"], label)
            found[group.id].extend(member_of(item, label) for item in page)
            if link is not None:
                following.append((group, relative(link)))
            elif shown is not None:
                shown.add()
        pending = following
    if shown is not None:
        shown.done()
    return {group_id: tuple(members) for group_id, members in found.items()}


def member_of(item: dict[str, Any], label: str = "a member") -> EntraMember:
    """A listed member: a user by lower-case UPN, a group by display name, anything else
    (a device, a service principal, a contact) as `<type>:<id>`."""
    object_id = _text(item, "id", label)
    kind = item.get("@odata.type")
    kind = kind.removeprefix(ODATA_PREFIX) if isinstance(kind, str) else "directoryObject"
    if kind == "user":
        upn = item.get("userPrincipalName")
        if isinstance(upn, str) and upn:
            return EntraMember(object_id, "user", upn.lower())
        return EntraMember(object_id, "other", f"user:{object_id}")
    if kind == "group":
        name = item.get("displayName")
        if isinstance(name, str):
            return EntraMember(object_id, "group", name)
        return EntraMember(object_id, "other", f"group:{object_id}")
    return EntraMember(object_id, "other", f"{kind}:{object_id}")


_HINT = " (is the endpoint Microsoft Graph?)"


def _text(item: dict[str, Any], name: str, label: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        shown = excerpt(value) if value is not None else "missing"
        raise MalformedEntraAnswer(f"{label}: an item's {name} is {shown}, not text{_HINT}")
    return value

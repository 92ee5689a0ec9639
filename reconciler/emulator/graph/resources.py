"""Users, groups, members and open extensions rendered as Graph v1.0 answers them.

Default properties (https://learn.microsoft.com/en-us/graph/api/user-list?view=graph-rest-1.0 ;
https://learn.microsoft.com/en-us/graph/api/group-list?view=graph-rest-1.0); properties the
emulator does not model are answered null (or `[]`), as Graph does for an unset one.
Members carry `@odata.type` (https://learn.microsoft.com/en-us/graph/api/group-list-members
?view=graph-rest-1.0); open extensions carry `@odata.type`, `extensionName`, `id` (the name,
on v1.0) and their custom properties
(https://learn.microsoft.com/en-us/graph/extensibility-overview).
"""

from __future__ import annotations

from typing import Any

from reconciler.emulator.graph.tenant import Extension, Group, User

USER_TYPE = "#microsoft.graph.user"
GROUP_TYPE = "#microsoft.graph.group"
OPEN_EXTENSION_TYPE = "#microsoft.graph.openTypeExtension"

USER_PROPERTIES = frozenset(
    {
        "id",
        "businessPhones",
        "displayName",
        "givenName",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
    }
)
GROUP_PROPERTIES = frozenset(
    {
        "id",
        "createdDateTime",
        "description",
        "displayName",
        "groupTypes",
        "mail",
        "mailEnabled",
        "mailNickname",
        "securityEnabled",
        "visibility",
        "extensions",
        "onPremisesSyncEnabled",
        "isAssignableToRole",
    }
)


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "businessPhones": [],
        "displayName": user.displayName,
        "givenName": None,
        "jobTitle": None,
        "mail": user.mail,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": None,
        "surname": None,
        "userPrincipalName": user.userPrincipalName,
    }


def group_json(group: Group, *, extensions: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": group.id,
        "createdDateTime": group.createdDateTime,
        "description": group.description,
        "displayName": group.displayName,
        "groupTypes": list(group.groupTypes),
        "mail": None,
        "mailEnabled": group.mailEnabled,
        "mailNickname": group.mailNickname,
        "securityEnabled": group.securityEnabled,
        "visibility": None,
        "onPremisesSyncEnabled": group.onPremisesSyncEnabled,
        "isAssignableToRole": group.isAssignableToRole,
    }
    if extensions:
        out["extensions"] = [extension_json(e) for e in group.extensions.values()]
    return out


def member_json(obj: User | Group) -> dict[str, Any]:
    if isinstance(obj, User):
        return {"@odata.type": USER_TYPE, **user_json(obj)}
    return {"@odata.type": GROUP_TYPE, **group_json(obj)}


def extension_json(ext: Extension) -> dict[str, Any]:
    return {
        "@odata.type": OPEN_EXTENSION_TYPE,
        "extensionName": ext.extensionName,
        "id": ext.extensionName,
        **ext.properties,
    }

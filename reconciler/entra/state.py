"""The Entra side of the state: what Git asks Entra ID to hold (`EntraGroup`, desired) and
what Microsoft Graph shows (`EntraActual`), compared by the Entra differ.

Groups are keyed by display name (the match the export makes, exact and case-sensitive);
users by lower-case userPrincipalName or mail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from reconciler.state import Origin

# Graph: displayName is required and at most 256 characters (group-post-groups).
MAX_DISPLAY_NAME = 256


@dataclass(frozen=True, slots=True)
class EntraGroup:
    """A Git group exported to Entra ID (desired side).

    `users`: the lower-case emails of the Git users who are members (owners and managers
    included; through nested groups that are not exported to Entra, flattened), only users
    Git gives an active account. `groups`: the display names of nested groups that are
    themselves exported to Entra (group members). `external`: member addresses outside the
    directory's domains, which the export skips with a note."""

    display_name: str
    description: str | None = None
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    external: tuple[str, ...] = ()
    # `membership: additive` in Git: members Git does not list are left in the group, but
    # for `ended`: the users whose dated entry in it has ended (desired/expiry.py).
    additive: bool = False
    ended: tuple[str, ...] = ()
    git_name: str | None = None
    origin: Origin | None = None


MemberKind = Literal["user", "group", "other"]


@dataclass(frozen=True, slots=True)
class EntraMember:
    """A direct member of a group, as Graph lists it. `name`: for a user its lower-case
    userPrincipalName, for a group its display name, otherwise `<odata type>:<id>`."""

    id: str
    kind: MemberKind
    name: str


@dataclass(frozen=True, slots=True)
class EntraGroupRecord:
    """A group as Graph lists it. `owner`: the ownership id our open extension carries
    (None: not ours, or not marked yet); `git_name`: the Git group it records."""

    id: str
    display_name: str
    description: str | None = None
    security_enabled: bool = True
    mail_enabled: bool = False
    group_types: tuple[str, ...] = ()
    owner: str | None = None
    git_name: str | None = None  # the Git group our marker says it exports
    on_premises: bool = False  # synced from Active Directory: its members are changed there
    role_assignable: bool = False  # its members change only with role-management rights

    @property
    def is_security_group(self) -> bool:
        """An assigned security group, the only kind this export manages."""
        return self.security_enabled and not self.mail_enabled and not self.group_types


@dataclass
class EntraActual:
    """The Entra tenant as read: its users (lower-case UPN and mail to object id), every
    group, and the direct members of the groups the export may change (matched by name or
    marked ours), by group id."""

    users_by_upn: dict[str, str] = field(default_factory=dict)
    users_by_mail: dict[str, str] = field(default_factory=dict)
    groups: list[EntraGroupRecord] = field(default_factory=list)
    members: dict[str, tuple[EntraMember, ...]] = field(default_factory=dict)
    calls: int = 0

    def user_id(self, email: str) -> str | None:
        """The object id of the Entra user an email names (UPN first, then mail)."""
        email = email.lower()
        return self.users_by_upn.get(email) or self.users_by_mail.get(email)

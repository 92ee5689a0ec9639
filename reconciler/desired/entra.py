"""The groups Git exports to Microsoft Entra ID (`entra: true`), as the desired side's
`State.entra_groups`: each group's people, its nested exported groups, and the addresses
outside Git it lists."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.desired.entra_checks import entra_name
from reconciler.desired.index import Index
from reconciler.desired.models import GroupEntry
from reconciler.entra.state import EntraGroup
from reconciler.settings import Workspace
from reconciler.state import Origin, State

# The user states whose accounts Entra gives access to: a user Git suspends or deletes (or
# unbinds) loses its Entra memberships too.
_ENTRA_STATES = ("active", "staged")


@dataclass
class _Members:
    users: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    external: set[str] = field(default_factory=set)

    def add(self, other: _Members) -> None:
        self.users |= other.users
        self.groups |= other.groups
        self.external |= other.external


def entra_groups(index: Index, state: State, workspace: Workspace) -> dict[str, EntraGroup] | None:
    """The groups marked `entra: true`, by display name, from a tree that passed the checks
    (one group per name) and the users `state` resolved; None without an `entra:` block.

    Owners, managers and members alike are members in Entra. A nested group marked
    `entra: true` is a group member, by its display name; any other nested group is
    flattened into its people (and its own nested exported groups), however deep, each group
    once. Only users Git binds to an account that is active or staged are members."""
    if workspace.entra is None:
        return None
    tree = index.tree
    flattened: dict[str, _Members] = {}

    def members_of(entry: GroupEntry, seen: frozenset[str]) -> _Members:
        found = _Members()
        for ref in (*entry.owners, *entry.managers, *entry.members):
            user = state.users.get(ref)
            if ref in index.users:
                if user is not None and user.bound and user.state in _ENTRA_STATES:
                    found.users.add(ref.lower())
                continue
            group = index.group_ref(ref)
            if group is None:
                if "@" in ref:
                    found.external.add(ref.lower())
                continue
            inner = group.entry
            if inner.entra:
                found.groups.add(entra_name(inner))
            elif inner.name not in seen:  # a cycle (refused by group-cycles) ends here
                if inner.name not in flattened:
                    flattened[inner.name] = members_of(inner, seen | {inner.name})
                found.add(flattened[inner.name])
        return found

    ended: dict[str, set[str]] = {}
    for d in tree.dated:
        if d.expired and d.kind != "binding" and d.ref in index.users:
            ended.setdefault(d.holder, set()).add(d.ref.lower())
    result: dict[str, EntraGroup] = {}
    for name, located in index.groups.items():
        e = located.entry
        if not e.entra:
            continue
        display = entra_name(e)
        members = members_of(e, frozenset({name}))
        members.groups.discard(display)  # itself, through a cycle of user groups
        result[display] = EntraGroup(
            display_name=display,
            description=e.description,
            users=tuple(sorted(members.users)),
            groups=tuple(sorted(members.groups)),
            external=tuple(sorted(members.external)),
            additive=e.membership == "additive",
            ended=tuple(sorted(ended.get(name, set()) - members.users)),
            git_name=e.name,
            origin=Origin(located.source.path.relative_to(tree.root), located.source.line),
        )
    return dict(sorted(result.items()))

"""Lookups over a loaded desired tree: entries by key, and who is bound. Built once per load,
then shared by the checks and by resolution."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

from reconciler.desired.load import DesiredTree, Located
from reconciler.desired.models import GroupEntry, UserEntry


@dataclass
class Index:
    """Lookups shared by the rules and by resolution, built once per tree."""

    tree: DesiredTree
    domains: set[str]
    # False when directory.domains is invalid: `domains` is then empty, so every address
    # counts as outside them (syntax and member checks are lenient) and the domains rule skips.
    domains_known: bool = True
    users: dict[str, Located[UserEntry]] = field(default_factory=dict)
    groups: dict[str, Located[GroupEntry]] = field(default_factory=dict)
    group_emails: dict[str, Located[GroupEntry]] = field(default_factory=dict)

    @classmethod
    def build(cls, tree: DesiredTree) -> Index:
        domains = {d.lower() for d in tree.workspace.directory.domains}
        index = cls(tree, domains, tree.has_setting("directory.domains"))
        for u in tree.users:
            index.users.setdefault(u.entry.email, u)
        for g in tree.groups:
            index.groups.setdefault(g.entry.name, g)
            if g.entry.email:
                index.group_emails.setdefault(g.entry.email, g)
        return index

    def in_domains(self, address: str) -> bool:
        return address.rpartition("@")[2] in self.domains

    def group_ref(self, ref: str) -> Located[GroupEntry] | None:
        """The group a member reference names: by Git name, or by exported email."""
        return self.group_emails.get(ref) if "@" in ref else self.groups.get(ref)

    @cached_property
    def bound(self) -> set[str]:
        """Users bound directly, or as transitive members of a bound group. Computed on first
        use: a check and resolution both ask."""
        bound = {b.entry.user for b in self.tree.bindings if b.entry.user in self.users}
        groups = [b.entry.group for b in self.tree.bindings if b.entry.group in self.groups]
        return bound | self.users_in(groups)

    def users_in(self, names: Iterable[str | None]) -> set[str]:
        """The users in Git that are members, in any role, of the groups `names` (by Git
        name), or of a group nested in one of them, exported or not."""
        found: set[str] = set()
        seen: set[str] = set()
        pending = [n for n in names if n is not None]
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            entry = self.groups[name].entry
            for ref in (*entry.owners, *entry.managers, *entry.members):
                if ref in self.users:
                    found.add(ref)
            pending.extend(g.entry.name for g in self._group_children(entry))
        return found

    def _group_children(self, entry: GroupEntry) -> Iterator[Located[GroupEntry]]:
        for ref in (*entry.owners, *entry.managers, *entry.members):
            child = self.group_ref(ref)
            if child is not None:
                yield child


def bound_emails(tree: DesiredTree) -> set[str]:
    """Users bound directly, or as transitive members of a bound group, in a tree without an
    index (one the importer is changing)."""
    return Index.build(tree).bound

"""Lookups over a loaded desired tree: entries by key, and who is bound. Built once per load,
then shared by the checks and by resolution."""

from __future__ import annotations

from collections.abc import Iterator
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
        bound: set[str] = set()
        seen_groups: set[str] = set()
        pending: list[str] = []
        for b in self.tree.bindings:
            if b.entry.user and b.entry.user in self.users:
                bound.add(b.entry.user)
            if b.entry.group and b.entry.group in self.groups:
                pending.append(b.entry.group)
        while pending:
            name = pending.pop()
            if name in seen_groups:
                continue
            seen_groups.add(name)
            entry = self.groups[name].entry
            for ref in (*entry.owners, *entry.managers, *entry.members):
                if ref in self.users:
                    bound.add(ref)
            pending.extend(g.entry.name for g in self._group_children(entry))
        return bound

    def _group_children(self, entry: GroupEntry) -> Iterator[Located[GroupEntry]]:
        for ref in (*entry.owners, *entry.managers, *entry.members):
            child = self.group_ref(ref)
            if child is not None:
                yield child


def bound_emails(tree: DesiredTree) -> set[str]:
    """Users bound directly, or as transitive members of a bound group, in a tree without an
    index (one the importer is changing)."""
    return Index.build(tree).bound

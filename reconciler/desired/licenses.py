"""Each user's license, as Git decides it: the user's own `license:`, else the first rule of
workspace.yaml's `licenses:` that matches, else its `default`, else nothing (None: the
license is left as Google has it).

Rules match what Git says of the user (the entry's department, title, cost center and org
unit, whether or not `sync.attributes` manages them) and transitive membership of groups in
Git. The members of each group a rule names are worked out once, so 100k users cost one
pass over the rules each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reconciler.desired.index import Index
from reconciler.desired.models import UserEntry
from reconciler.settings import LicenseRule, Licenses, sku_id

LicenseOf = Callable[[UserEntry], str | None]


def _plain(value: str | None) -> str | None:
    """A department, title or cost center as rules compare it: no case, no outer spaces."""
    return value.strip().casefold() if value is not None else None


def below(path: str | None, unit: str) -> bool:
    """Whether org unit `path` is `unit` or lies below it (`unit` lower-case); every user,
    whatever Git says of its unit, lies below the root."""
    if unit == "/":
        return True
    if path is None:
        return False
    path = path.lower()
    return path == unit or path.startswith(unit + "/")


@dataclass(frozen=True, slots=True)
class _Rule:
    """A rule ready to match: its values normalized, its group as the set of its users."""

    sku: str
    department: str | None
    title: str | None
    cost_center: str | None
    org_unit: str | None
    members: frozenset[str] | None

    def matches(self, e: UserEntry) -> bool:
        return (
            (self.department is None or _plain(e.department) == self.department)
            and (self.title is None or _plain(e.title) == self.title)
            and (self.cost_center is None or _plain(e.cost_center) == self.cost_center)
            and (self.org_unit is None or below(e.org_unit, self.org_unit))
            and (self.members is None or e.email in self.members)
        )


def group_users(index: Index, ref: str) -> frozenset[str]:
    """The users in Git that are transitive members of the group `ref` names (by name, or by
    an exported group's email), in any role, through nested groups exported or not."""
    start = index.group_ref(ref)
    return frozenset(index.users_in([start.entry.name])) if start is not None else frozenset()


def _compile(rule: LicenseRule, members: dict[str, frozenset[str]], index: Index) -> _Rule:
    when = rule.when
    group = None
    if when.group is not None:
        if when.group not in members:
            members[when.group] = group_users(index, when.group)
        group = members[when.group]
    return _Rule(
        sku=rule.sku,
        department=_plain(when.department),
        title=_plain(when.title),
        cost_center=_plain(when.cost_center),
        org_unit=when.org_unit.lower() if when.org_unit is not None else None,
        members=group,
    )


def license_rules(index: Index) -> LicenseOf | None:
    """The function that gives a user's license (a SKU id of `licenses.product`, "none", or
    None: Git decides nothing), for the index of a tree that passed the checks; None when
    workspace.yaml has no `licenses:` block (Git decides no one's license)."""
    policy: Licenses | None = index.tree.workspace.licenses
    if policy is None:
        return None
    members: dict[str, frozenset[str]] = {}
    rules = [_compile(rule, members, index) for rule in policy.rules]
    product, default = policy.product, policy.default
    own: dict[str, str] = {}  # a user's `license:` text -> SKU id: few distinct texts

    def license_of(e: UserEntry) -> str | None:
        if e.license is not None:
            found = own.get(e.license)
            if found is None:
                found = own[e.license] = sku_id(e.license, product)
            return found
        for rule in rules:
            if rule.matches(e):
                return rule.sku
        return default

    return license_of


def unmatched_rules(index: Index) -> list[int]:
    """The rules of `licenses:` (by index) that match no user in Git: a typo in a rule sends
    its users on to the rules below it, or to the default."""
    policy: Licenses | None = index.tree.workspace.licenses
    if policy is None:
        return []
    members: dict[str, frozenset[str]] = {}
    rules = [_compile(rule, members, index) for rule in policy.rules]
    unmatched = set(range(len(rules)))
    for located in index.tree.users:
        unmatched -= {i for i in unmatched if rules[i].matches(located.entry)}
        if not unmatched:
            break
    return sorted(unmatched)

"""What a targeted plan covers: the users, groups and Entra groups a Git change touches,
widened by the read to whatever it had to read whole (README, "Targeted plans").

A targeted plan reads only these from Google and plans exactly the changes a full plan
would make to them: `restrict` gives the desired State the diff sees, `touches` says which
of a full plan's changes are about them (the property the tests prove)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.plan.change import Change
from reconciler.state import State


@dataclass
class Scope:
    """The entities a targeted plan covers, by key (lower-case emails, Entra display names).

    `since` is the Git revision as the user wrote it, `commit` the commit it named. The
    read adds to `users` and `groups` what it read whole beyond the Git change (an account
    that holds an address a touched user wants, a member a rename concerns, a protected
    account): everything read whole is planned whole."""

    since: str
    commit: str
    users: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    entra: set[str] = field(default_factory=set)
    # What the Git change touched itself, before the read widened the scope.
    changed_users: frozenset[str] = frozenset()
    changed_groups: frozenset[str] = frozenset()
    # Git's counts at `since` (git_bases): the safety limits' percentages are taken of
    # these, so a change cannot move its own base (safety_bases).
    bases_then: dict[str, int] = field(default_factory=dict)
    # What the read cost: groups whose members were listed, Directory API calls.
    members_listed: int = 0
    calls: int = 0  # Directory API calls of the read

    @property
    def empty(self) -> bool:
        return not (self.users or self.groups or self.entra)

    def to_json(self) -> dict[str, Any]:
        """The scope in the plan's `meta.changed_since` (contract)."""
        return {
            "since": self.since,
            "commit": self.commit,
            "users": sorted(self.users),
            "groups": sorted(self.groups),
            "entra_groups": sorted(self.entra),
            "changed_users": sorted(self.changed_users),
            "changed_groups": sorted(self.changed_groups),
        }

    def summary(self) -> str:
        """What the plan covers, what it read, and what it leaves out."""
        changed = [
            _count(len(self.changed_users), "user"),
            _count(len(self.changed_groups), "group"),
        ]
        read = [_count(len(self.users), "user"), _count(len(self.groups), "group")]
        if self.members_listed:
            read[-1] += f" (the members of {self.members_listed:,})"
        if self.entra:
            read.append(_count(len(self.entra), "Entra group"))
        calls = f", in {_count(self.calls, 'Directory API call')}" if self.calls else ""
        return (
            f"Targeted plan: the change since {self.since} ({self.commit[:12]}) touches "
            f"{' and '.join(changed)}; read from Google: {', '.join(read)} and the org units"
            f"{calls}. Drift elsewhere is not shown: a full plan (the drift workflow, or "
            "plan without --changed-since) shows it."
        )


def git_bases(desired: State) -> dict[str, int]:
    """What the safety limits' percentages are of in a targeted plan, which does not read the
    tenant whole: Git's own counts (the accounts it binds, the memberships it lists, the
    accounts it gives a license)."""
    return {
        "accounts": sum(1 for u in desired.users.values() if u.bound),
        "members": sum(len(g.members) for g in desired.groups.values()),
        "licensed": sum(1 for u in desired.users.values() if u.bound and u.license),
    }


def safety_bases(now: dict[str, int], then: dict[str, int]) -> dict[str, int]:
    """The bases of a targeted plan's percentages: Git's counts at the revision compared
    with (what Google holds once that was applied), so a change that unbinds many, or binds
    many while unbinding some, is measured against what is there; today's where the
    revision gave none."""
    return {key: then.get(key, value) for key, value in now.items()}


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def restrict(state: State, scope: Scope) -> State:
    """The desired State of the scope only: its users, groups and Entra groups (org units
    are read whole, so all of Git's are kept)."""
    entra = state.entra_groups
    return replace(
        state,
        users={k: v for k, v in state.users.items() if k in scope.users},
        groups={k: v for k, v in state.groups.items() if k in scope.groups},
        entra_groups=None
        if entra is None
        else {k: v for k, v in entra.items() if k in scope.entra},
    )


def touches(change: Change, scope: Scope) -> bool:
    """Whether a change is about the scope: a user (or its license) of it, a group of it (its
    settings and members too), an Entra group of it (its members too), or any org unit. Each
    kind says which of the scope's sets it is looked up in (`scoped_by`, None: always about
    it) and by which keys (`scope_keys()`)."""
    if change.scoped_by is None:
        return True
    covered: set[str] = getattr(scope, change.scoped_by)
    return any(key in covered for key in change.scope_keys())

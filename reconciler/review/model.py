"""The access review's data: a row per access (a member, owner or manager of an exported
group, or a privileged account), grouped per group. The JSON format (contract) is these
dataclasses as `asdict` gives them."""

from __future__ import annotations

from dataclasses import dataclass, field

# Flags a reviewer looks at first (contract: the names).
EXTERNAL = "external"  # an address outside the directory's domains
EXPIRING = "expiring"  # a dated entry (`until:`): the access ends after `until`
SUSPENDED = "suspended"  # the account is suspended, and still a member
OWNER_NOT_MEMBER = "owner-not-member"  # listed as owner (or manager), not as a member
NOT_IN_GIT = "not-in-git"  # Google has it and Git does not grant it (drift)
NOT_IN_GOOGLE = "not-in-google"  # Git grants it and Google does not have it (drift)
ROLE_DIFFERS = "role-differs"  # Google has it with another role (drift)
FLAGS = (EXTERNAL, EXPIRING, SUSPENDED, OWNER_NOT_MEMBER, NOT_IN_GIT, NOT_IN_GOOGLE, ROLE_DIFFERS)


@dataclass
class Grant:
    """One entry of Git that a row's access goes through: `group` lists `ref` as `role`."""

    group: str  # the group's Git name
    role: str  # OWNER, MANAGER, MEMBER
    ref: str  # the entry as written (a user, a group, an address)
    source: str | None  # file:line in the state directory (None: not in today's tree)


@dataclass
class Change:
    """The commit that made a row's access whole: the last of its grants to be added."""

    commit: str
    date: str  # the commit's date (ISO 8601), the access's "since"
    author: str
    subject: str
    pull_request: int | None  # from GitHub's merge or squash subject line
    # Who approved: the commit's Reviewed-by/Approved-by trailers; else the apply records'
    # actor; else none, and `approval` says it is unknown.
    approvers: list[str] = field(default_factory=list)
    approval: str = "unknown"  # trailers | apply actor | unknown
    # The commit is a shallow clone's oldest: the grant may be older than it says.
    exact: bool = True


@dataclass
class Row:
    group: str  # the group's email (privileged accounts: "(privileged)")
    member: str
    role: str  # OWNER, MANAGER, MEMBER; for privileged accounts: super admin, delegated admin
    type: str  # USER, GROUP, EXTERNAL (Google's member types)
    via: list[Grant] = field(default_factory=list)
    since: Change | None = None  # None: not in Git's history (drift rows, privileged access)
    until: str | None = None  # the last day of a dated entry
    applied: str | None = None  # when an apply record says Google got it
    applied_by: str | None = None
    google: str = "not read"  # agrees | missing | role MANAGER | extra | not read
    flags: list[str] = field(default_factory=list)
    why_unknown: list[str] = field(default_factory=list)  # what the review could not say


@dataclass
class GroupReview:
    email: str
    name: str  # the display name
    git_name: str | None  # None: a group Git does not name (privileged access)
    source: str | None
    membership: str  # authoritative | additive
    rows: list[Row] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        found = {"rows": len(self.rows)}
        for flag in FLAGS:
            found[flag] = sum(flag in r.flags for r in self.rows)
        return found


@dataclass
class Review:
    as_of: str  # the day reviewed (YYYY-MM-DD)
    generated: str  # when the review was made (ISO 8601)
    directory: str
    git_commit: str | None  # the commit the review's Git side is read from
    google: str  # read | offline | as-of (Google not consulted for a past day)
    shallow: bool  # the history is a shallow clone's: older grants may be dated too late
    groups: list[GroupReview] = field(default_factory=list)
    privileged: list[Row] | None = None  # None: Google not read
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        total = {"groups": len(self.groups), "rows": 0}
        for group in self.groups:
            for key, value in group.counts().items():
                total[key] = total.get(key, 0) + value
        total["privileged"] = len(self.privileged or [])
        return total

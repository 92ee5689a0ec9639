"""The access review's rows: for each exported group, each member, owner and manager Git
gives it (as resolved: a group Git does not export joins its people to the parent), with the
grants its access goes through, since when and by which commit (history.py), when Google got
it (the apply records) and, when Google is read, whether Google agrees; then what Google has
and Git does not grant, and the tenant's super and delegated admins."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.desired import Desired
from reconciler.desired.expiry import Dated
from reconciler.desired.index import Index
from reconciler.desired.resolve import has_account
from reconciler.review import model
from reconciler.review.applied import Applied, first_after, parse_time
from reconciler.review.history import Commit, GrantKey, History, canonical, key_of
from reconciler.state import ROLE_RANK, Group, State

PRIVILEGED = "(privileged)"
ROLE_FIELDS = (("OWNER", "owners"), ("MANAGER", "managers"), ("MEMBER", "members"))


@dataclass(frozen=True)
class Way:
    """One way a member reaches a group: its role there and the grants on the way."""

    email: str
    role: str
    type: str
    grants: tuple[model.Grant, ...]
    keys: tuple[GrantKey, ...]  # the grants' history keys


@dataclass
class Inputs:
    desired: Desired
    history: History
    applied: dict[tuple[str, str], list[Applied]]
    day: dt.date
    actual: State | None  # None: Google not read
    group_addresses: dict[str, str]  # Google's addresses -> primary (when read)
    user_addresses: dict[str, str] = field(default_factory=dict)  # the same, for accounts


def review_rows(inputs: Inputs) -> tuple[list[model.GroupReview], list[model.Row] | None]:
    """The groups' reviews, by email, and the privileged accounts (None: Google not read)."""
    desired = inputs.desired
    index = Index.build(desired.tree)
    today = {email: located.entry.name for email, located in index.group_emails.items()}

    def canon(key: GrantKey) -> GrantKey:
        # A group named by its email is the same grant as by its name, in the tree and in
        # the history (whose emails are those last seen in it).
        return canonical(canonical(key, today), inputs.history.names)

    dated = _dated(desired.tree.dated, canon)
    ways = _Ways(index, desired.state, canon)
    changes: dict = {}  # the rows' Change objects, one per commit and apply actor
    end_of_day = dt.datetime.combine(inputs.day, dt.time.max, dt.UTC)
    reviews = []
    for email, group in sorted(desired.state.groups.items()):
        located = index.groups.get(group.git_name or "")
        source = _where(located, desired.tree.root) if located else None
        review = model.GroupReview(
            email,
            group.name,
            group.git_name,
            source,
            "additive" if group.additive else "authoritative",
        )
        paths = ways.of(group.git_name or "")
        for member_email, resolved in group.members.items():
            chosen = [p for p in paths.get(member_email, []) if p.role == resolved.role]
            row, commit = _row(inputs, group, resolved.email, resolved.role, resolved.type, chosen)
            row.until = _until(chosen, dated)
            _flag(inputs, index, row, paths.get(member_email, []))
            _applied(inputs, row, commit, end_of_day, changes)
            review.rows.append(row)
        if inputs.actual is not None:
            _drift(inputs, group, review)
        review.rows.sort(key=lambda r: (-ROLE_RANK.get(r.role, 0), r.member))
        reviews.append(review)
    return reviews, _privileged(inputs)


class _Ways:
    """Every way each member reaches a group, through the groups Git does not export
    (memoized per group: at 10,000 groups each is walked once)."""

    def __init__(self, index: Index, state: State, canon):
        self.index, self.state, self.canon = index, state, canon
        self._done: dict[str, dict[str, list[Way]]] = {}

    def of(self, name: str) -> dict[str, list[Way]]:
        if name in self._done:
            return self._done[name]
        found: dict[str, list[Way]] = {}
        located = self.index.groups.get(name)
        if located is not None:
            self._done[name] = found  # a cycle (refused by the checks) ends here
            for path in self._walk(name, located):
                found.setdefault(path.email, []).append(path)
        return found

    def _walk(self, name: str, located) -> Iterator[Way]:
        source = _where(located, self.index.tree.root)
        for role, attr in ROLE_FIELDS:
            for ref in getattr(located.entry, attr):
                grant = model.Grant(name, role, ref, source)
                key = self.canon(key_of(name, role, ref))
                user = self.state.users.get(ref)
                if user is not None:
                    if has_account(user):
                        yield Way(ref, role, "USER", (grant,), (key,))
                    continue
                group = self.index.group_ref(ref)
                if group is None:
                    yield Way(ref, role, "EXTERNAL", (grant,), (key,))
                elif group.entry.email:
                    yield Way(group.entry.email, role, "GROUP", (grant,), (key,))
                else:
                    for inner in self.of(group.entry.name).values():
                        for way in inner:
                            grants, keys = (grant, *way.grants), (key, *way.keys)
                            yield Way(way.email, role, way.type, grants, keys)


def _row(
    inputs: Inputs, group: Group, member: str, role: str, type_: str, ways: list[Way]
) -> tuple[model.Row, Commit | None]:
    """The row of a member Git grants, by the way to it that was whole earliest, and the
    commit that made that way whole."""
    best: tuple[Way, Commit | None, list[str]] | None = None
    for way in ways:
        commit, unknown = _completed(inputs.history, way)
        earlier = (
            best is None
            or (best[1] is None and commit is not None)
            or (commit is not None and best[1] is not None and commit_order(commit, best[1]))
        )
        if earlier:
            best = (way, commit, unknown)
    row = model.Row(group.email, member, role, type_)
    if best is None:
        row.why_unknown.append("no entry of Git grants it as resolved (please report this)")
        return row, None
    way, commit, unknown = best
    row.via = list(way.grants)
    row.why_unknown += unknown
    return row, commit


def commit_order(a: Commit, b: Commit) -> bool:
    """Whether `a` reached the branch before `b`."""
    return a.order < b.order


def _completed(history: History, way: Way) -> tuple[Commit | None, list[str]]:
    """The commit that added the last of a way's grants, or why it is not known."""
    latest: Commit | None = None
    for grant, key in zip(way.grants, way.keys, strict=True):
        commit = history.since.get(key)
        if commit is None:
            where = f"{grant.group} {grant.role.lower()} {grant.ref}"
            return None, [f"{where} is not committed yet (the working tree only)"]
        if latest is None or commit_order(latest, commit):
            latest = commit
    return latest, []


def _change(commit: Commit, actor: str | None = None, known: dict | None = None) -> model.Change:
    """The row's change: one object per commit (and apply actor) shared by its rows, which
    only read it."""
    key = (commit.sha, None if commit.approvers else actor)
    if known is not None and key in known:
        return known[key]
    approvers, approval = list(commit.approvers), "trailers" if commit.approvers else "unknown"
    if not approvers and actor:
        approvers, approval = [actor], "apply actor"
    change = model.Change(
        commit.sha,
        commit.date,
        commit.author,
        commit.subject,
        commit.pull_request,
        approvers,
        approval,
        exact=not commit.boundary,
    )
    if known is not None:
        known[key] = change
    return change


def _dated(dated: list[Dated], canon) -> dict[GrantKey, str]:
    """(group, role, entry) -> its `until`, for the dated entries still running."""
    return {
        canon(key_of(d.holder, d.kind, d.ref)): d.until
        for d in dated
        if d.kind != "binding" and not d.expired and not d.lasting
    }


def _until(paths: list[Way], dated: dict[tuple[str, str, str], str]) -> str | None:
    """The last day of the access: the latest end among its ways (None: one has none)."""
    if not dated:
        return None
    ends = []
    for path in paths:
        days = [dated.get(key) for key in path.keys]
        known = [d for d in days if d]
        if not known:
            return None
        ends.append(min(known))
    return max(ends) if ends else None


def _flag(inputs: Inputs, index: Index, row: model.Row, paths: list[Way]) -> None:
    if "@" in row.member and row.type != "GROUP" and not index.in_domains(row.member.lower()):
        row.flags.append(model.EXTERNAL)
    if row.until:
        row.flags.append(model.EXPIRING)
    user = inputs.desired.state.users.get(row.member)
    if user is not None and (user.state == "suspended" or user.suspended):
        row.flags.append(model.SUSPENDED)
    if row.role == "OWNER" and not any(p.role == "MEMBER" for p in paths):
        row.flags.append(model.OWNER_NOT_MEMBER)


def _applied(
    inputs: Inputs, row: model.Row, commit: Commit | None, end_of_day: dt.datetime, known: dict
) -> None:
    """When Google got the access (the first apply record after its commit, by the day
    reviewed), and the row's change, whose approver is the apply's actor when the commit
    names none."""
    records = inputs.applied.get((row.group.lower(), row.member.lower()))
    found = None
    if records:
        since = parse_time(commit.date) if commit is not None else None
        found = first_after(records, since, end_of_day)
    if found is not None:
        row.applied = found.time.isoformat(timespec="seconds")
        row.applied_by = found.actor
    elif commit is not None:
        row.why_unknown.append("no apply record shows when Google got it")
    if commit is not None:
        row.since = _change(commit, found.actor if found else None, known)


def _drift(inputs: Inputs, group: Group, review: model.GroupReview) -> None:
    """Google's view of each row, and a row for each member Google has that Git does not."""
    assert inputs.actual is not None
    there = None
    for address in (group.email, *group.previous_emails):  # a rename not applied yet
        there = inputs.actual.groups.get(inputs.group_addresses.get(address, address))
        if there is not None:
            break
    if there is None:
        for row in review.rows:
            row.google = "missing (the group is not in Google)"
            row.flags.append(model.NOT_IN_GOOGLE)
        return
    matched: set[str] = set()
    for row in review.rows:
        found = next((a for a in _spellings(inputs, row.member) if a in there.members), None)
        member = there.members.get(found) if found is not None else None
        if found is not None:
            matched.add(found)
        if member is None:
            row.google = "missing"
            row.flags.append(model.NOT_IN_GOOGLE)
        elif member.role != row.role:
            row.google = f"role {member.role}"
            row.flags.append(model.ROLE_DIFFERS)
        else:
            row.google = "agrees" if found == row.member else f"agrees (listed as {found})"
            if member.status == "SUSPENDED" and model.SUSPENDED not in row.flags:
                row.flags.append(model.SUSPENDED)
    for email, member in sorted(there.members.items()):
        if email in matched:
            continue
        row = model.Row(group.email, email, member.role, member.type, google="extra")
        row.flags.append(model.NOT_IN_GIT)
        if member.status == "SUSPENDED":
            row.flags.append(model.SUSPENDED)
        if email in group.expired:
            why = f"its access ended: {group.expired[email]}"
        else:
            why = "not granted by Git"
        keep = (
            "an additive group keeps it"
            if group.additive and email not in group.expired
            else ("the next apply removes it")
        )
        row.why_unknown.append(f"in Google, {why} ({keep})")
        review.rows.append(row)


def _spellings(inputs: Inputs, email: str) -> list[str]:
    """The addresses Google may list a member Git names under, as the plan matches them:
    Git's, the account's or group's primary in Google when Git's is an alias there, and the
    previous emails of a rename the plan has not made yet."""
    state = inputs.desired.state
    known = state.users.get(email) or state.groups.get(email)
    names = [email, *(known.previous_emails if known is not None else ())]
    found = []
    for name in names:
        for address in (name, inputs.user_addresses.get(name), inputs.group_addresses.get(name)):
            if address and address not in found:
                found.append(address)
    return found


def _privileged(inputs: Inputs) -> list[model.Row] | None:
    if inputs.actual is None:
        return None
    rows = []
    for email, user in sorted(inputs.actual.users.items()):
        if not (user.is_admin or user.is_delegated_admin):
            continue
        role = "super admin" if user.is_admin else "delegated admin"
        row = model.Row(PRIVILEGED, email, role, "USER", google="agrees")
        row.why_unknown.append("admin roles are given in Google, not in Git")
        if email not in inputs.desired.state.users:
            row.flags.append(model.NOT_IN_GIT)
        if user.suspended:
            row.flags.append(model.SUSPENDED)
        rows.append(row)
    return rows


def _where(located, root: Path) -> str:
    """`file:line` of an entry, the file relative to the state directory."""
    path = located.source.path
    shown = path.relative_to(root) if path.is_relative_to(root) else path
    return f"{shown.as_posix()}:{located.source.line}"

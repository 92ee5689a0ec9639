"""Desired State x actual State -> Plan, following the JumpCloud integration's semantics.

Users: a desired user matches an account by primary email, then alias, then a previous email
(the last two plan a rename), then a rename an earlier apply began and did not finish (see
reconciler.apply.pending). A matched account without our ownership marker is adopted when
Git binds it (or asks for it suspended or deleted); one marked by another repository is never
touched. Marked accounts that Git no longer binds are suspended, never deleted. Accounts
neither marked nor named are never touched. A bound active or suspended user without a live
account whose address a recently deleted account had is restored (undeleted), not created,
while Google can still restore it and none of its addresses is taken.

Renames: Google refuses a rename to one of the account's own aliases, so such a rename
carries the aliases before and after and the executor removes that alias first. A rename
that would leave more than 30 aliases (Google keeps the old address as one) is not planned;
a note says why. Groups alike.

Groups: exported groups match by email, alias, then previous email; membership is
authoritative unless the group is additive. Groups Git does not name are never touched.

Every comparison is on normalized values (lower-case emails, sorted tuples, "" and absent
alike), so a plan made right after a successful apply is empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from reconciler.plan.change import Change, FieldChange
from reconciler.plan.kinds import GroupChange, MembershipChange, OrgUnitChange, UserChange
from reconciler.plan.plan import Plan
from reconciler.plan.safety import check_safety
from reconciler.settings import Workspace
from reconciler.state import (
    MAX_ALIASES,
    ROLE_RANK,
    USER_ATTRIBUTES,
    Group,
    Member,
    State,
    User,
    canonical_address,
)


@dataclass
class ActualView:
    """The actual State with the lookups the diff needs."""

    state: State
    user_addresses: dict[str, str] = field(default_factory=dict)
    group_addresses: dict[str, str] = field(default_factory=dict)
    # Renames an earlier apply began (the alias removed) and did not finish: new -> old.
    pending: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, state: State) -> ActualView:
        view = cls(state)
        for user in state.users.values():
            view.user_addresses[user.email] = user.email
            for alias in user.aliases or ():
                view.user_addresses.setdefault(alias, user.email)
        for group in state.groups.values():
            view.group_addresses[group.email] = group.email
            for alias in group.aliases or ():
                view.group_addresses.setdefault(alias, group.email)
        return view


def make_plan(
    desired: State,
    actual: State,
    workspace: Workspace,
    pending: dict[str, dict[str, str]] | None = None,
) -> Plan:
    """The plan that makes `actual` match `desired`; `pending`: the unfinished renames of an
    earlier apply, {"users": {new: old}, "groups": {new: old}}."""
    view = ActualView.of(actual)
    view.pending = pending or {}
    plan = Plan()
    renamed_users, staged = _diff_users(desired, view, workspace, plan)
    _diff_org_units(desired, actual, plan)
    if workspace.directory.group_management:
        domains = frozenset(d.lower() for d in workspace.directory.domains)
        _diff_groups(desired, view, renamed_users, staged, workspace.ownership.id, plan, domains)
    check_safety(plan, actual, workspace, desired)
    plan.sort()
    return plan


# -- users -----------------------------------------------------------------------------------


def _match_user(user: User, view: ActualView) -> tuple[User | None, str]:
    """The account a desired user is, and how it was found (primary, alias, previous)."""
    primary = view.user_addresses.get(user.email)
    if primary is not None:
        how = "primary" if primary == user.email else "alias"
        return view.state.users[primary], how
    for old in user.previous_emails:
        primary = view.user_addresses.get(old)
        if primary is not None:
            return view.state.users[primary], "previous"
    old = view.pending.get("users", {}).get(user.email)
    if old is not None and old in view.state.users:
        return view.state.users[old], "pending"
    return None, ""


def _diff_users(
    desired: State, view: ActualView, ws: Workspace, plan: Plan
) -> tuple[dict[str, str], set[str]]:
    """User changes; returns old primary -> new primary for accounts renamed by the plan,
    and the accounts of staged users and of users left alone at the alias cap (their group
    memberships stay as Google has them)."""
    ours = ws.ownership.id
    renamed: dict[str, str] = {}
    staged: set[str] = set()
    named: set[str] = set()
    matches = [(user, *_match_user(user, view)) for user in desired.users.values()]
    # Two Git users can find one account (one by its primary email, one by an alias Git
    # doesn't know of): the best match wins (primary, then alias, then previous email, then
    # the smaller address, so moving YAML around never changes the plan); the other is
    # left alone with a note.
    claimed: dict[str, str] = {}
    for user, account, _how in sorted(
        (m for m in matches if m[1] is not None), key=lambda m: (_MATCH_RANK[m[2]], m[0].email)
    ):
        claimed.setdefault(account.email, user.email)
    for user, account, how in matches:
        if account is None:
            gone = view.state.deleted_users.get(user.email)
            if gone is not None and _wants_account(user) and _restore(user, gone, view, ours, plan):
                continue
            if user.bound and user.state == "active":
                plan.changes.append(_create_user(user))
            continue
        owner = claimed[account.email]
        if owner != user.email:
            plan.notes.append(
                f"user {user.email}: found the account {account.email}, which is also "
                f"{owner}'s in Git; left alone (remove the alias or the previous email)"
            )
            continue
        named.add(account.email)
        if account.owner is not None and account.owner != ours:
            plan.notes.append(
                f"user {user.email}: the account is managed by '{account.owner}', "
                "not by this repository; left alone"
            )
            continue
        if user.state == "staged":
            # Not provisioned yet: an existing account is left as it is, with its access
            # (JumpCloud: existing staged users keep their access in the directory).
            staged.add(account.email)
            continue
        gone = view.state.deleted_users.get(user.email)
        if gone is not None and _wants_account(user):
            plan.notes.append(_unrestorable(user, gone))
        adopting = account.owner is None
        if adopting and not (user.bound or user.state in ("suspended", "deleted")):
            continue  # Git names it but does not bind it: not ours to take over
        if user.state == "deleted":
            if adopting:
                # The account may still have its old address: mark the one deleted.
                plan.changes.append(
                    _user_change("adopt", user, key=account.email, reason="to delete it")
                )
            plan.changes.append(_user_change("delete", user, key=account.email))
            continue
        if how != "primary":
            held = _aliases_after_rename(
                user.aliases, user.previous_emails, account.aliases, user.email, account.email
            )
            if len(held) > MAX_ALIASES:
                plan.notes.append(_too_many_aliases("user", user.email, account.email, held))
                staged.add(account.email)  # left alone: its memberships too
                continue
            renamed[account.email] = user.email
            plan.changes.append(
                _user_change(
                    "rename",
                    user,
                    from_=account.email,
                    reason=_FOUND_BY[how],
                    fields=_rename_fields(how, account.aliases, user.email, account.email),
                )
            )
        if adopting:
            plan.changes.append(
                _user_change("adopt", user, reason="takeover of an existing account")
            )
        fields = _user_fields(
            user, account, renamed_from=account.email if how != "primary" else None
        )
        if fields:
            plan.changes.append(_user_change("update", user, fields=fields))
        _suspension(user, account, plan)
    domains = {d.lower() for d in ws.directory.domains}
    for account in view.state.users.values():
        if account.email in named or account.owner != ours:
            continue
        if account.email.rpartition("@")[2] not in domains:
            # Git cannot name accounts outside its domains, so it cannot mean to unbind them.
            plan.notes.append(
                f"user {account.email}: marked as ours but outside directory.domains; left alone"
            )
            continue
        if not account.suspended:
            plan.changes.append(
                UserChange("suspend", account.email, reason="marked as ours but not in Git")
            )
    return renamed, staged


def _wants_account(user: User) -> bool:
    """Git wants an account for this user: bound, and active or suspended."""
    return user.bound and user.state in ("active", "suspended")


# Google lets admins restore a deleted user for 20 days ("Restore a recently deleted user").
RESTORE_DAYS = 20


def _deleted_when(gone: User) -> str:
    """`deleted <date>; restorable until <date>` (UTC dates) of a deleted account."""
    try:
        moment = datetime.fromisoformat((gone.deletion_time or "").replace("Z", "+00:00"))
    except ValueError:
        return f"deleted recently; restorable for {RESTORE_DAYS} days after that"
    until = moment + timedelta(days=RESTORE_DAYS)
    return f"deleted {moment.date().isoformat()}; restorable until {until.date().isoformat()}"


def _restore(user: User, gone: User, view: ActualView, ours: str, plan: Plan) -> bool:
    """Plan to bring back `gone`, the deleted account that had `user`'s address, then what it
    needs as any matched account. False when it cannot come back and Git's user is planned
    as if it never existed (created when active); True when handled (restored, or left for
    another repository)."""
    when = _deleted_when(gone)
    if gone.owner is not None and gone.owner != ours:
        # Neither restored nor replaced: a new account would take its address, and with it
        # the other repository's chance to restore it.
        plan.notes.append(
            f"user {user.email}: the deleted account ({when}) is managed by '{gone.owner}', not "
            "by this repository; neither restored nor replaced by a new account"
        )
        return True
    taken = _taken_addresses(gone, view)
    if taken:
        address, holder = taken[0]
        instead = "; a new account is created instead" if user.state == "active" else ""
        plan.notes.append(_unrestorable(user, gone))
        plan.notes.append(f"user {user.email}: {address} now belongs to {holder}{instead}")
        return False
    target = _restored_org_unit(user, gone, view)
    org_unit = {"org_unit": FieldChange(gone.org_unit or "/", target)}
    plan.changes.append(_user_change("undelete", user, fields=org_unit, reason=when))
    if gone.owner is None:
        plan.changes.append(_user_change("adopt", user, reason="takeover of a restored account"))
    restored = replace(gone, org_unit=target)
    fields = _user_fields(user, restored, renamed_from=None)
    if fields:
        plan.changes.append(_user_change("update", user, fields=fields))
    # Google restores the account suspended if it was when deleted (or its data was
    # transferred, which the plan cannot see: the next plan then lifts it).
    _suspension(user, restored, plan)
    return True


def _unrestorable(user: User, gone: User) -> str:
    # The same words before and after a new account takes the address, so applying the plan
    # adds no note.
    return (
        f"user {user.email}: the deleted account that had this address ({_deleted_when(gone)}) "
        "cannot be restored while another account or group holds one of its addresses"
    )


def _taken_addresses(gone: User, view: ActualView) -> list[tuple[str, str]]:
    """The deleted account's addresses that a live user or group holds now (Google then
    refuses the restore), with their holder."""
    taken: list[tuple[str, str]] = []
    for address in (gone.email, *(gone.aliases or ())):
        if address in view.user_addresses:
            taken.append((address, f"the user {view.user_addresses[address]}"))
        elif address in view.group_addresses:
            taken.append((address, f"the group {view.group_addresses[address]}"))
    return taken


def _restored_org_unit(user: User, gone: User, view: ActualView) -> str:
    """Where the account comes back: Git's org unit when Git manages it, else the one it
    had, if that still exists, else the root."""
    if user.org_unit is not None:
        return user.org_unit or "/"
    had = gone.org_unit or "/"
    return had if had == "/" or had in view.state.org_units else "/"


_MATCH_RANK = {"primary": 0, "alias": 1, "previous": 2, "pending": 3}
_FOUND_BY = {
    "alias": "found by its alias",
    "previous": "found by a previous email",
    "pending": "found by the rename an earlier apply began",
}


def _rename_fields(
    how: str, aliases: tuple[str, ...] | None, new: str, old: str
) -> dict[str, FieldChange]:
    """A rename to one of the account's aliases carries its aliases before and after: Google
    refuses it until that alias is removed (the executor does that first), then keeps the old
    address as an alias."""
    if how != "alias":
        return {}
    have = set(aliases or ())
    return {"aliases": FieldChange(tuple(sorted(have)), tuple(sorted((have - {new}) | {old})))}


def _aliases_after_rename(
    want: tuple[str, ...] | None,
    previous: tuple[str, ...],
    have: tuple[str, ...] | None,
    new: str,
    old: str,
) -> set[str]:
    """The aliases an account holds right after its rename from `old` to `new`: the apply
    removes the aliases Git drops before renaming (and `new`, if it is one), and Google keeps
    `old` as an alias."""
    held = set(have or ()) - {new}
    if want is not None:
        held &= set(want) | set(previous)
    return held | {old}


def _too_many_aliases(kind: str, email: str, old: str, held: set[str]) -> str:
    return (
        f"{kind} {email}: not renamed from {old}: Google keeps the old address as an alias, "
        f"and the {kind} would hold {len(held)} aliases, over Google's limit of {MAX_ALIASES}; "
        f"left alone (remove aliases from it in Google, or from Git's aliases of {email})"
    )


def _create_user(user: User) -> UserChange:
    fields = {
        name: FieldChange(None, getattr(user, name))
        for name in (*USER_ATTRIBUTES, "aliases")
        if getattr(user, name) not in (None, "", ())
    }
    return _user_change("create", user, fields=fields)


def _user_change(action, user: User, key: str | None = None, **extra) -> UserChange:
    return UserChange(action, key or user.email, origin=user.origin, **extra)


def _same(want, have) -> bool:
    return (want or "") == (have or "")


def _user_fields(user: User, account: User, renamed_from: str | None) -> dict[str, FieldChange]:
    fields: dict[str, FieldChange] = {}
    for name in USER_ATTRIBUTES:
        want, have = getattr(user, name), getattr(account, name)
        if want is None:
            continue  # not managed
        if name == "org_unit":
            # Google's org unit paths ignore case: a unit spelt otherwise is the same unit,
            # and the plan renames the unit itself (see _diff_org_units).
            want, have = want or "/", have or "/"
            if want.lower() == have.lower():
                continue
        if not _same(want, have):
            fields[name] = FieldChange(have, want)
    if user.aliases is not None:
        have_aliases = set(account.aliases or ())
        if renamed_from is not None:
            # After the rename Google holds the old primary as an alias, and no longer the
            # new primary; compare with what will be there.
            have_aliases = (have_aliases - {user.email}) | {renamed_from}
        # Google keeps the addresses of earlier renames: previous_emails stay as aliases.
        keep = set(user.previous_emails) & have_aliases
        want_aliases = set(user.aliases) | keep
        if want_aliases != have_aliases:
            fields["aliases"] = FieldChange(
                tuple(sorted(have_aliases)), tuple(sorted(want_aliases))
            )
    return fields


def _suspension(user: User, account: User, plan: Plan) -> None:
    if user.suspended and not account.suspended:
        reason = "state: suspended" if user.state == "suspended" else "no longer bound"
        plan.changes.append(_user_change("suspend", user, reason=reason))
    elif not user.suspended and account.suspended:
        if account.suspension_reason not in (None, "ADMIN"):
            plan.notes.append(
                f"user {user.email}: suspended by Google ({account.suspension_reason}); only "
                "Google can lift that, so no unsuspend is planned"
            )
            return
        plan.changes.append(_user_change("unsuspend", user))


# -- org units -------------------------------------------------------------------------------


def _diff_org_units(desired: State, actual: State, plan: Plan) -> None:
    # Google's org unit paths ignore case (/engineering is /Engineering): a unit Git spells
    # otherwise exists, and only its name is changed to Git's spelling (which carries the
    # units and users below it along).
    existing = {path.lower(): unit for path, unit in actual.org_units.items()}
    for path, unit in desired.org_units.items():
        have = existing.get(path.lower())
        if have is None:
            fields = (
                {"description": FieldChange(None, unit.description)} if unit.description else {}
            )
            plan.changes.append(OrgUnitChange("create", path, fields, origin=unit.origin))
            continue
        fields = {}
        if have.name != unit.name:
            fields["name"] = FieldChange(have.name, unit.name)
        if unit.description is not None and not _same(unit.description, have.description):
            fields["description"] = FieldChange(have.description, unit.description)
        if fields:
            plan.changes.append(OrgUnitChange("update", path, fields, origin=unit.origin))


# -- groups ----------------------------------------------------------------------------------


def _match_group(group: Group, view: ActualView) -> tuple[Group | None, str]:
    primary = view.group_addresses.get(group.email)
    if primary is not None:
        return view.state.groups[primary], "primary" if primary == group.email else "alias"
    for old in group.previous_emails:
        primary = view.group_addresses.get(old)
        if primary is not None:
            return view.state.groups[primary], "previous"
    old = view.pending.get("groups", {}).get(group.email)
    if old is not None and old in view.state.groups:
        return view.state.groups[old], "pending"
    return None, ""


def _diff_groups(
    desired: State,
    view: ActualView,
    renamed_users: dict[str, str],
    staged: set[str],
    ours: str,
    plan: Plan,
    domains: frozenset[str] = frozenset(),
) -> None:
    renamed_groups: dict[str, str] = {}
    matches: list[tuple[Group, Group | None, str]] = []
    for group in desired.groups.values():
        existing, how = _match_group(group, view)
        if existing is not None and existing.owner not in (None, ours):
            plan.notes.append(
                f"group {group.email}: the group {existing.email} is managed by "
                f"'{existing.owner}', not by this repository; left alone"
            )
            existing, how = None, "other"
        elif existing is not None and how != "primary":
            held = _aliases_after_rename(
                group.aliases, group.previous_emails, existing.aliases, group.email, existing.email
            )
            if len(held) > MAX_ALIASES:
                plan.notes.append(_too_many_aliases("group", group.email, existing.email, held))
                how = "capped"
                staged.add(existing.email)  # left alone: its place in other groups too
            else:
                renamed_groups[existing.email] = group.email
        matches.append((group, existing, how))
    renames = {**renamed_users, **renamed_groups}
    # Users and groups Google will have: Git may list a user suspended before any account
    # existed, or an empty group, and neither is created, so adding them would fail.
    users = {*view.user_addresses, *renamed_users.values()}
    users.update(
        c.key for c in plan.changes if c.kind == "user" and c.action in ("create", "undelete")
    )
    groups = {*view.group_addresses, *renamed_groups.values()}
    groups.update(
        g.email for g, existing, how in matches if existing is None and how != "other" and g.members
    )
    listed = (view.user_addresses, view.group_addresses)
    member_of = _MemberRules(renames, users, groups, staged, domains, listed)
    for group, existing, how in matches:
        if how in ("other", "capped"):
            continue
        if existing is None:
            _create_group(group, view, plan, member_of)
            continue
        renamed_from = existing.email if existing.email != group.email else None
        if renamed_from is not None:
            plan.changes.append(
                GroupChange(
                    "rename",
                    group.email,
                    fields=_rename_fields(how, existing.aliases, group.email, renamed_from),
                    from_=renamed_from,
                    reason=_FOUND_BY.get(how),
                    origin=group.origin,
                )
            )
        if existing.owner is None:
            reason = "takeover of an existing group"
            plan.changes.append(
                GroupChange("adopt", group.email, reason=reason, origin=group.origin)
            )
        fields = _group_fields(group, existing, renamed_from)
        if fields:
            plan.changes.append(GroupChange("update", group.email, fields, origin=group.origin))
        _members(group, existing.members, member_of, plan)
    _note_left_behind(matches, view, ours, plan)


def _create_group(group: Group, view: ActualView, plan: Plan, member_of: _MemberRules) -> None:
    if not group.members:
        # JumpCloud's rule: a group is exported once it has someone in it.
        plan.notes.append(f"group {group.email}: not created while it has no members")
        return
    fields = {"name": FieldChange(None, group.name)}
    if group.description:
        fields["description"] = FieldChange(None, group.description)
    if group.aliases:
        fields["aliases"] = FieldChange((), group.aliases)
    plan.changes.append(GroupChange("create", group.email, fields, origin=group.origin))
    _members(group, {}, member_of, plan)


def _note_left_behind(
    matches: list[tuple[Group, Group | None, str]], view: ActualView, ours: str, plan: Plan
) -> None:
    """Groups Git stopped naming are never touched; say so where one looks left behind (a
    group of ours that no Git group matches, or a namesake of a group being created)."""
    matched = {existing.email for _, existing, _ in matches if existing is not None}
    created: dict[str, list[str]] = {}
    for g, existing, how in matches:
        if existing is None and how != "other" and g.members:
            created.setdefault(g.name, []).append(g.email)
    for group in view.state.groups.values():
        if group.email in matched:
            continue
        # Its members are not read (Git does not name it); the listing says how many.
        count = group.direct_members_count
        if count is None:
            count = len(group.members)
        if group.owner == ours:
            why = "is managed by this repository but no longer in Git"
        elif group.owner is None and group.name in created:
            why = (
                f"has the name of {', '.join(sorted(created[group.name]))}, which the plan creates"
            )
        else:
            continue
        plan.notes.append(
            f"group {group.email} {why}; it keeps its {count} member"
            f"{'' if count == 1 else 's'}: if its email changed, add {group.email} to the "
            "group's previous_emails, or delete the old group in Google"
        )


def _group_fields(group: Group, existing: Group, renamed_from: str | None):
    fields: dict[str, FieldChange] = {}
    if group.name != existing.name:
        fields["name"] = FieldChange(existing.name, group.name)
    if group.description is not None and not _same(group.description, existing.description):
        fields["description"] = FieldChange(existing.description, group.description)
    if group.aliases is not None:
        have = set(existing.aliases or ())
        if renamed_from is not None:
            have = (have - {group.email}) | {renamed_from}
        want = set(group.aliases) | (set(group.previous_emails) & have)
        if want != have:
            fields["aliases"] = FieldChange(tuple(sorted(have)), tuple(sorted(want)))
    return fields


@dataclass(frozen=True)
class _MemberRules:
    """What membership changes need beyond the two groups' member lists."""

    renames: dict[str, str]  # old address -> new, for accounts and groups the plan renames
    users: set[str]  # users Google will have
    groups: set[str]  # groups Google will have
    staged: set[str]  # accounts whose memberships stay as Google has them
    domains: frozenset[str] = frozenset()  # directory.domains
    listed: tuple[Mapping[str, str], ...] = ()  # addresses of the users and groups Google listed

    def unresolved(self, member: Member) -> bool:
        """A member Google holds that names no account Git could mean: the customer (every
        user), or an address in our domains that no listed user or group has (Google lists
        it without status; fetch has made sure it is no short read)."""
        if member.type == "CUSTOMER":
            return True
        if member.email.rpartition("@")[2] not in self.domains:
            return False  # external: Git names these by address
        return not any(member.email in addresses for addresses in self.listed)


def _members(group: Group, actual: dict[str, Member], rules: _MemberRules, plan: Plan) -> None:
    # Members follow accounts through renames: compare with the addresses they will have.
    have = {rules.renames.get(email, email): m for email, m in actual.items()}
    # Compared by canonical address: one Gmail account has many spellings, and Google lists
    # it under its own, not the one it was added by. Google's members by that key:
    listed = {canonical_address(email): email for email in have}
    wanted = _wanted_members(group.members)
    for key, member in wanted.items():
        email = member.email
        held = listed.get(key)
        if held is None:
            if member.type == "USER" and email not in rules.users:
                continue
            if member.type == "GROUP" and email not in rules.groups:
                continue
            # By Git's spelling: Google takes any spelling of an address on insert.
            plan.changes.append(_member_change("add_member", group, member, member.role))
            continue
        current = have[held]
        if current.role != member.role and email not in rules.staged:
            role = {"role": FieldChange(current.role, member.role)}
            # By the address Google lists (the same as Git's but for a Gmail spelling).
            listed_as = replace(member, email=held)
            plan.changes.append(
                _member_change("update_member", group, listed_as, member.role, role)
            )
    if group.additive:
        return
    for email, member in have.items():
        if canonical_address(email) in wanted or email in rules.staged:
            continue
        if rules.unresolved(member):
            plan.notes.append(_kept_note(group, member))
            continue
        # By the address it will have: the plan may also drop the old one from its aliases.
        # For a Gmail account, the spelling Google lists it under.
        gone = replace(member, email=email)
        plan.changes.append(_member_change("remove_member", group, gone, member.role))


def _wanted_members(members: dict[str, Member]) -> dict[str, Member]:
    """Git's members by canonical address. Two spellings of one Gmail account are one
    member (validation warns): the smaller spelling, with the higher role."""
    out: dict[str, Member] = {}
    for email, member in members.items():
        key = canonical_address(email)
        kept = out.get(key)
        if kept is None:
            out[key] = member
        else:
            role = max(kept.role, member.role, key=ROLE_RANK.__getitem__)
            out[key] = replace(kept, email=min(kept.email, email), role=role)  # type: ignore[arg-type]
    return out


def _kept_note(group: Group, member: Member) -> str:
    if member.type == "CUSTOMER":
        what = "the customer (every user of the tenant), a member Git cannot name"
    else:
        what = "listed by Google with no user or group behind it, so Git cannot name it"
    return (
        f"group {group.email}: member {member.email} is kept: {what}; remove it in the Admin "
        "console if it should go"
    )


def _member_change(
    action, group: Group, member: Member, role: str, fields=None
) -> MembershipChange:
    return MembershipChange(
        action,
        f"{group.email}/{member.email}",
        fields or {},
        group=group.email,
        member=member.email,
        role=role,
        member_type=member.type,
        origin=group.origin,
    )


def changes_of(plan: Plan, kind: str, actions: Iterable[str]) -> list[Change]:
    """The plan's changes of one kind and some actions (a helper for callers and tests)."""
    wanted = set(actions)
    return [c for c in plan.changes if c.kind == kind and c.action in wanted]

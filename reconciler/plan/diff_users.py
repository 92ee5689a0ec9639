"""Users, in three stages: claim an account for each Git user, decide what each user needs,
suspend the orphans.

Claim: a desired user matches an account by primary email, then alias, then a previous
email (the last two plan a rename), then a rename an earlier apply began and did not finish
(see reconciler.apply.pending). Two Git users can find one account; the best match claims it.

Decide: a claimed account without our ownership marker is adopted when Git binds it (or asks
for it suspended or deleted); one marked by another repository is never touched. A bound
active or suspended user without a live account is restored when a recently deleted account
had its address (see user_restores.py), else created when active.

Orphans: marked accounts that Git no longer binds are suspended, never deleted. Accounts
neither marked nor named are never touched.
"""

from __future__ import annotations

from typing import NamedTuple

from reconciler.plan.diff_context import ActualView, DiffContext
from reconciler.plan.kinds import UserChange
from reconciler.plan.offboarding import (
    Leaving,
    delete_waits,
    offboarded_org_unit,
    policy_for,
    undated,
)
from reconciler.plan.renames import (
    FOUND_BY,
    aliases_after_rename,
    find_by_address,
    rename_fields,
    too_many_aliases,
)
from reconciler.plan.safety import ORPHANED
from reconciler.plan.user_changes import (
    create_user,
    imported_notes,
    suspension,
    user_change,
    user_fields,
)
from reconciler.plan.user_restores import restore, unrestorable
from reconciler.state import MAX_ALIASES, User


class Match(NamedTuple):
    """A Git user, the account it finds (None: none), and how (primary, alias, previous,
    pending; "" when none)."""

    user: User
    account: User | None
    how: str


_MATCH_RANK = {"primary": 0, "alias": 1, "previous": 2, "pending": 3}


def diff_users(context: DiffContext) -> None:
    """User changes; records in `context` the accounts the plan renames and those whose
    memberships stay as Google has them."""
    matches = [_match_user(user, context.view) for user in context.desired.users.values()]
    claimed = _claims(matches)
    for match in matches:
        _decide(match, claimed, context)
    _suspend_orphans(set(claimed), context)


# -- claim -----------------------------------------------------------------------------------


def _match_user(user: User, view: ActualView) -> Match:
    """The account a desired user is, and how it was found."""
    users = view.state.users
    pending = view.pending.get("users", {})
    primary, how = find_by_address(
        user.email, user.previous_emails, view.user_addresses, pending, users
    )
    return Match(user, users[primary] if primary is not None else None, how)


def _claims(matches: list[Match]) -> dict[str, str]:
    """Each found account's claimant: account primary -> Git user's email."""
    # Two Git users can find one account (one by its primary email, one by an alias Git
    # doesn't know of): the best match wins (primary, then alias, then previous email, then
    # the smaller address, so moving YAML around never changes the plan); the other is
    # left alone with a note.
    claimed: dict[str, str] = {}
    found = (m for m in matches if m.account is not None)
    for user, account, _how in sorted(found, key=lambda m: (_MATCH_RANK[m.how], m.user.email)):
        claimed.setdefault(account.email, user.email)  # type: ignore[union-attr]
    return claimed


# -- decide ----------------------------------------------------------------------------------


def _decide(match: Match, claimed: dict[str, str], context: DiffContext) -> None:
    """What one Git user needs, given the account it found and who claimed that."""
    user, account = match.user, match.account
    plan = context.plan
    if account is None:
        _without_account(user, context)
    elif claimed[account.email] != user.email:
        plan.notes.append(
            f"user {user.email}: found the account {account.email}, which is also "
            f"{claimed[account.email]}'s in Git; left alone (remove the alias or the previous "
            "email)"
        )
    elif account.owner is not None and account.owner != context.ours:
        plan.notes.append(
            f"user {user.email}: the account is managed by '{account.owner}', "
            "not by this repository; left alone"
        )
    elif user.state == "staged":
        # Not provisioned yet: an existing account is left as it is, with its access
        # (JumpCloud: existing staged users keep their access in the directory).
        context.staged.add(account.email)
    else:
        _with_account(match, account, context)


def _wants_account(user: User) -> bool:
    """Git wants an account for this user: bound, and active or suspended."""
    return user.bound and user.state in ("active", "suspended")


def _without_account(user: User, context: DiffContext) -> None:
    """A user no live account is found for: restored, created, or nothing."""
    gone = context.view.state.deleted_users.get(user.email)
    if gone is not None and _wants_account(user) and restore(user, gone, context):
        return
    if user.bound and user.state == "active":
        context.plan.changes.append(create_user(user))
        context.accounts[user.email] = (user, None)


def _with_account(match: Match, account: User, context: DiffContext) -> None:
    """A user whose account is ours to change (or unmarked): delete, or rename, adopt,
    update and suspend or unsuspend as needed."""
    user, plan = match.user, context.plan
    gone = context.view.state.deleted_users.get(user.email)
    if gone is not None and _wants_account(user):
        plan.notes.append(unrestorable(user, gone))
    adopting = account.owner is None
    if adopting and not (user.bound or user.state in ("suspended", "deleted")):
        return  # Git names it but does not bind it: not ours to take over
    if user.state == "deleted":
        _delete(user, account, adopting, context)
        return
    if match.how != "primary" and not _rename(match, account, context):
        return
    if adopting:
        plan.changes.append(user_change("adopt", user, reason="takeover of an existing account"))
    renamed_from = account.email if match.how != "primary" else None
    moved = offboarded_org_unit(user, context.workspace)
    fields = user_fields(moved, account, renamed_from=renamed_from)
    plan.notes.extend(imported_notes(user, account))
    if fields:
        reason = "offboarding: org_unit" if moved is not user and "org_unit" in fields else None
        plan.changes.append(user_change("update", user, fields=fields, reason=reason))
    suspension(user, account, plan)
    context.accounts[user.email] = (user, account)
    if user.suspended:
        leaving = Leaving(account, user, suspended_now=not account.suspended)
        context.offboard.leaving[user.email] = leaving
    if user.sign_out_after or user.password_change_after:
        context.offboard.timed[user.email] = (user, account)


def _delete(user: User, account: User, adopting: bool, context: DiffContext) -> None:
    """Delete the account once its data is safe; until then, suspend and offboard it and
    say why the delete waits."""
    plan, key = context.plan, account.email
    waits = delete_waits(user, account, context)
    if adopting:
        # The account may still have its old address: mark the one deleted.
        reason = "to offboard it before deleting it" if waits else "to delete it"
        plan.changes.append(user_change("adopt", user, key=key, reason=reason))
    if not waits:
        plan.changes.append(user_change("delete", user, key=key))
        return
    plan.notes.append(f"delete of {key} waits: {'; '.join(waits)}")
    # A date on the marker that does not read as one is none: recorded again.
    dated = not undated(account) or not policy_for(context.workspace, user).delete_after_days
    if not account.suspended:
        reason = "state: deleted; suspended until the delete may happen"
        plan.changes.append(user_change("suspend", user, key=key, reason=reason))
    elif not dated:
        reason = "state: deleted; to record the suspension date delete_after_days counts from"
        plan.changes.append(user_change("suspend", user, key=key, reason=reason))
    context.offboard.leaving[key] = Leaving(account, user, suspended_now=not account.suspended)


def _rename(match: Match, account: User, context: DiffContext) -> bool:
    """Plan the rename of an account found by another address; False when it would hold
    more aliases than Google allows (then the user is left alone, its memberships too)."""
    user = match.user
    held = aliases_after_rename(
        user.aliases, user.previous_emails, account.aliases, user.email, account.email
    )
    if len(held) > MAX_ALIASES:
        context.plan.notes.append(too_many_aliases("user", user.email, account.email, held))
        context.staged.add(account.email)
        return False
    context.renamed_users[account.email] = user.email
    fields = rename_fields(match.how, account.aliases, user.email, account.email)
    context.plan.changes.append(
        user_change("rename", user, from_=account.email, reason=FOUND_BY[match.how], fields=fields)
    )
    return True


# -- orphans ---------------------------------------------------------------------------------


def _suspend_orphans(named: set[str], context: DiffContext) -> None:
    """Suspend the accounts marked as ours that no Git user found."""
    for account in context.view.state.users.values():
        if account.email in named or account.owner != context.ours:
            continue
        if account.email.rpartition("@")[2] not in context.domains:
            # Git cannot name accounts outside its domains, so it cannot mean to unbind them.
            context.plan.notes.append(
                f"user {account.email}: marked as ours but outside directory.domains; left alone"
            )
            continue
        if not account.suspended:
            context.plan.changes.append(UserChange("suspend", account.email, reason=ORPHANED))
        leaving = Leaving(account, None, suspended_now=not account.suspended)
        context.offboard.leaving[account.email] = leaving

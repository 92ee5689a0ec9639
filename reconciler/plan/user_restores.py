"""Restores of deleted accounts: a bound active or suspended user without a live account,
whose address a recently deleted account had, is restored (undeleted), not created, while
Google can still restore it and none of its addresses is taken."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from reconciler.plan.change import FieldChange
from reconciler.plan.diff_context import ActualView, DiffContext
from reconciler.plan.user_changes import suspension, user_change, user_fields
from reconciler.state import User

# Google lets admins restore a deleted user for 20 days ("Restore a recently deleted user").
RESTORE_DAYS = 20


def restore(user: User, gone: User, context: DiffContext) -> bool:
    """Plan to bring back `gone`, the deleted account that had `user`'s address, then what it
    needs as any matched account. False when it cannot come back and Git's user is planned
    as if it never existed (created when active); True when handled (restored, or left for
    another repository)."""
    plan = context.plan
    if gone.owner is not None and gone.owner != context.ours:
        # Neither restored nor replaced: a new account would take its address, and with it
        # the other repository's chance to restore it.
        plan.notes.append(
            f"user {user.email}: the deleted account ({_deleted_when(gone)}) is managed by "
            f"'{gone.owner}', not by this repository; neither restored nor replaced by a new "
            "account"
        )
        return True
    taken = _taken_addresses(gone, context.view)
    if taken:
        address, holder = taken[0]
        instead = "; a new account is created instead" if user.state == "active" else ""
        plan.notes.append(unrestorable(user, gone))
        plan.notes.append(f"user {user.email}: {address} now belongs to {holder}{instead}")
        return False
    _plan_undelete(user, gone, context)
    return True


def _plan_undelete(user: User, gone: User, context: DiffContext) -> None:
    """The undelete, into the org unit it comes back to, then what the account needs."""
    plan = context.plan
    target = _restored_org_unit(user, gone, context.view)
    org_unit = {"org_unit": FieldChange(gone.org_unit or "/", target)}
    plan.changes.append(user_change("undelete", user, fields=org_unit, reason=_deleted_when(gone)))
    if gone.owner is None:
        plan.changes.append(user_change("adopt", user, reason="takeover of a restored account"))
    restored = replace(gone, org_unit=target)
    fields = user_fields(user, restored, renamed_from=None)
    if fields:
        plan.changes.append(user_change("update", user, fields=fields))
    # Google restores the account suspended if it was when deleted (or its data was
    # transferred, which the plan cannot see: the next plan then lifts it).
    suspension(user, restored, plan)
    context.accounts[user.email] = (user, None)  # back without the licenses it held


def _deleted_when(gone: User) -> str:
    """`deleted <date>; restorable until <date>` (UTC dates) of a deleted account."""
    try:
        moment = datetime.fromisoformat((gone.deletion_time or "").replace("Z", "+00:00"))
    except ValueError:
        return f"deleted recently; restorable for {RESTORE_DAYS} days after that"
    until = moment + timedelta(days=RESTORE_DAYS)
    return f"deleted {moment.date().isoformat()}; restorable until {until.date().isoformat()}"


def unrestorable(user: User, gone: User) -> str:
    """The note for a deleted account that had the user's address and cannot come back."""
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

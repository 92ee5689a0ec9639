"""The sign-in messages of the accounts the plan creates (workspace.yaml's `onboarding:`):
one `notify` change per new account whose person is to get its sign-in details, after the
create (it needs the account, and the password the create made in the same run).

A message an earlier apply did not send (it failed, or the run stopped) is on the account's
marker (`onboardingPending`, set by the create, cleared once sent): for an account of ours
with it, Git still wanting the account active and a recipient, the plan resets the password
and sends the message again (`notify` with the field `reset`), on whatever machine runs it.

A user left to workspace.yaml's `notify` is judged here, when its account is to be created:
without the manager (or recovery email) it names, or with a manager outside the company's
domains, the plan stops with the user's file and line (the rule `onboarding`), saying to
set one or `onboarding: {notify: none}`. Accounts that exist already need no recipient."""

from __future__ import annotations

from reconciler.plan.change import FieldChange
from reconciler.plan.diff_context import DiffContext
from reconciler.plan.kinds import UserChange
from reconciler.problems import InvalidInput, Problem


def diff_onboarding(ctx: DiffContext) -> None:
    problems: list[Problem] = []
    created = {
        c.key: c for c in ctx.plan.changes if isinstance(c, UserChange) and c.action == "create"
    }
    # Accounts of ours whose message an earlier apply did not send, Git keeping them active.
    waiting = {
        email: account
        for email, (user, account) in ctx.accounts.items()
        if account is not None
        and account.onboarding_pending
        and account.owner == ctx.ours
        and user.state == "active"
        and not user.suspended
        and email not in created
    }
    for key in sorted(k for k, account in waiting.items() if account.signed_in):
        # Someone signed in: whatever the mark says, the account is in use; resetting its
        # password would lock its person out.
        del waiting[key]
        ctx.plan.notes.append(
            f"{key} has been signed in to: its pending sign-in message is not sent, nor its "
            "password reset (the mark on the account stays, and does nothing)"
        )
    for key in sorted({*created, *waiting}):
        user = ctx.desired.users.get(key)
        if user is None or user.onboarding is None:
            continue
        via, recipient = user.onboarding
        problem = _undeliverable(key, via, recipient, ctx.domains, key in waiting)
        if problem is None and via == "manager" and recipient is not None:
            problem = _inactive_manager(key, user, key in waiting)
        if problem is not None and key in waiting:
            # An account that exists blocks nothing: the message waits, said in a note.
            ctx.plan.notes.append(f"{problem}; the message waits")
            continue
        if problem is not None:
            origin = user.origin
            path, line = (origin.path, origin.line) if origin is not None else ("", 0)
            problems.append(Problem(path, line, problem, "onboarding"))  # type: ignore[arg-type]
            continue
        fields = {"recipient": FieldChange(None, recipient), "via": FieldChange(None, via)}
        if key in waiting:
            fields["reset"] = FieldChange(None, True)
            reason = "its sign-in message was not sent"
            ctx.plan.changes.append(
                UserChange("notify", key, fields, reason=reason, origin=user.origin)
            )
        else:
            ctx.plan.changes.append(UserChange("notify", key, fields, origin=created[key].origin))
    if problems:
        raise InvalidInput(problems)


def _inactive_manager(key: str, user, waiting: bool) -> str | None:
    """Why the manager cannot be sent the sign-in details (resolve.py worked it out with the
    whole of Git): it has no active account there (suspended, staged, unbound, or to be
    suspended by this plan)."""
    if user.onboarding_blocked is None:
        return None
    what = "awaits its sign-in message" if waiting else "is to be created"
    return (
        f"user {key} {what} and onboarding.notify is manager, but its manager "
        f"{user.onboarding[1]} {user.onboarding_blocked}: sign-in details go only to someone "
        "who can read them; set another manager, `onboarding: {notify: recovery_email}` or "
        "`onboarding: {notify: none}`"
    )


def _undeliverable(
    key: str, via: str, recipient: str | None, domains: frozenset[str], waiting: bool = False
) -> str | None:
    what = "awaits its sign-in message" if waiting else "is to be created"
    if via == "manager" and recipient is None:
        return (
            f"user {key} {what} and onboarding.notify is manager, but it has no "
            "`manager:` to send its sign-in details to: set one, or `onboarding: {notify: "
            "none}` (e.g. for SSO)"
        )
    if via == "manager" and (recipient or "").rpartition("@")[2] not in domains:
        return (
            f"user {key} {what} and onboarding.notify is manager, but its manager "
            f"{recipient} is outside directory.domains: sign-in details go to the company's "
            "own addresses only; set another manager, `onboarding: {notify: recovery_email}` "
            "or `onboarding: {notify: none}`"
        )
    if via == "recovery_email" and recipient is None:
        return (
            f"user {key} {what} and onboarding.notify is recovery_email, but it "
            "has no `recovery_email:`: set one, or `onboarding: {notify: manager}` or "
            "`{notify: none}`"
        )
    return None

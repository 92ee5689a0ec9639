"""The sign-in messages of the accounts the plan creates (workspace.yaml's `onboarding:`):
one `notify` change per new account whose person is to get its sign-in details, after the
create (it needs the account, and the password the create made in the same run).

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
    for change in list(ctx.plan.changes):
        if not (isinstance(change, UserChange) and change.action == "create"):
            continue
        user = ctx.desired.users.get(change.key)
        if user is None or user.onboarding is None:
            continue
        via, recipient = user.onboarding
        problem = _undeliverable(change.key, via, recipient, ctx.domains)
        if problem is not None:
            origin = user.origin
            path, line = (origin.path, origin.line) if origin is not None else ("", 0)
            problems.append(Problem(path, line, problem, "onboarding"))  # type: ignore[arg-type]
            continue
        fields = {"recipient": FieldChange(None, recipient), "via": FieldChange(None, via)}
        ctx.plan.changes.append(UserChange("notify", change.key, fields, origin=change.origin))
    if problems:
        raise InvalidInput(problems)


def _undeliverable(
    key: str, via: str, recipient: str | None, domains: frozenset[str]
) -> str | None:
    if via == "manager" and recipient is None:
        return (
            f"user {key} is to be created and onboarding.notify is manager, but it has no "
            "`manager:` to send its sign-in details to: set one, or `onboarding: {notify: "
            "none}` (e.g. for SSO)"
        )
    if via == "manager" and (recipient or "").rpartition("@")[2] not in domains:
        return (
            f"user {key} is to be created and onboarding.notify is manager, but its manager "
            f"{recipient} is outside directory.domains: sign-in details go to the company's "
            "own addresses only; set another manager, `onboarding: {notify: recovery_email}` "
            "or `onboarding: {notify: none}`"
        )
    if via == "recovery_email" and recipient is None:
        return (
            f"user {key} is to be created and onboarding.notify is recovery_email, but it "
            "has no `recovery_email:`: set one, or `onboarding: {notify: manager}` or "
            "`{notify: none}`"
        )
    return None

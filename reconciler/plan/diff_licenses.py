"""Licenses (README, "Licenses"): the SKU of `licenses.product` each account this repository
manages should hold, against the one it holds.

Git decides a license only with a `licenses:` block, and only for its own accounts: a user's
`license:`, else the first rule that matches, else `default` (resolved in
desired/licenses.py; None: Git decides nothing, the license stays as it is). An account Git
suspends keeps its license (`on_suspend: keep`, unless Git says `none` for it) or gives it
back (`revoke`), but not before the data transfer offboarding asks for has completed; it is
never given or moved to one. Licenses of other products, and of
accounts the repository does not manage, are never read into a change.
"""

from __future__ import annotations

from reconciler.plan.change import FieldChange
from reconciler.plan.diff_context import DiffContext
from reconciler.plan.kinds import LicenseChange
from reconciler.plan.offboarding import covering_transfers, policy_for
from reconciler.skus import NO_LICENSE, shown
from reconciler.state import User

_ACTION = {
    (False, True): "assign_license",
    (True, True): "change_license",
    (True, False): "revoke_license",
}


def diff_licenses(context: DiffContext) -> None:
    licenses = context.workspace.licenses
    held = context.view.state.licenses
    if licenses is None or held is None:
        return
    revoke_suspended = licenses.on_suspend == "revoke"
    for email, (user, account) in context.accounts.items():
        have = held.get(account.email, NO_LICENSE) if account is not None else NO_LICENSE
        if user.suspended:
            # Revoked on suspension, or when Git says `none` for it (its own `license:` or
            # a rule): a suspended account is never given or moved to a license.
            if account is not None and (revoke_suspended or user.license == NO_LICENSE):
                _revoke_suspended(context, email, user, account, have)
            continue
        if user.license is not None:
            _change(context, email, have, user.license, None, user)
    if revoke_suspended:
        # Accounts Git suspends without a user of its own (no longer in Git), and those
        # kept suspended until their delete may happen.
        for key, leaving in context.offboard.leaving.items():
            if key not in context.accounts:
                have = held.get(leaving.account.email, NO_LICENSE)
                _revoke_suspended(context, key, leaving.user, leaving.account, have)


def _revoke_suspended(
    context: DiffContext, key: str, user: User | None, account: User, have: str
) -> None:
    """Give back the license of an account Git suspends (`key`: its address after the
    plan's renames)."""
    if have == NO_LICENSE:
        return
    product = context.workspace.licenses.product  # type: ignore[union-attr]
    waiting = _transfer_waits(context, user, account)
    if waiting:
        context.plan.notes.append(
            f"license of {key} ({shown(product, have)}) is kept until {waiting}"
        )
        return
    on_suspend = context.workspace.licenses.on_suspend == "revoke"  # type: ignore[union-attr]
    reason = "suspended; licenses.on_suspend: revoke" if on_suspend else "suspended; license: none"
    _change(context, key, have, NO_LICENSE, reason, user)


def _transfer_waits(context: DiffContext, user: User | None, account: User) -> str | None:
    """What the revocation of a leaving account's license waits for: the data transfer its
    offboarding asks for, until one that covers its latest suspension has completed (a
    license is what its data lives under)."""
    to = policy_for(context.workspace, user).transfer_to
    if to is None or to == "none":
        return None
    if any(t.status.lower() == "completed" for t in covering_transfers(account)):
        return None
    return "its data transfer has completed"


def _change(
    context: DiffContext, key: str, have: str, want: str, reason: str | None, user: User | None
) -> None:
    if have == want:
        return
    action = _ACTION[(have != NO_LICENSE, want != NO_LICENSE)]
    product = context.workspace.licenses.product  # type: ignore[union-attr]
    context.plan.changes.append(
        LicenseChange(
            action,
            key,
            {"sku": FieldChange(have, want)},
            reason=reason,
            origin=user.origin if user is not None else None,
            product=product,
        )
    )

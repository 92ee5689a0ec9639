"""Safety in the plan itself: limits on destructive changes, and protected accounts.

Over a limit, a plan needs --allow-unsafe. A suspension, rename or deletion of a protected
account or a super admin is refused outright: no flag applies it.

Protection follows accounts, not addresses: each address workspace.yaml lists under
`protected` is resolved to an account Google has, by primary email, then alias (Google keeps
the old primary as an alias after a rename), then through Git's entry for it (the entry with
that email or previous email, matched as the diff matches it). A change to that account is
refused whichever address it names. An address that finds no account protects nothing, so
the plan is refused, unless Git is creating that account in this very plan; and even then
not when the plan also suspends an account marked as ours that Git does not name, which is
what a protected account renamed in Google (its alias removed) looks like.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import NamedTuple

from reconciler.plan.change import ACTIONS, Action, Change
from reconciler.plan.kinds import CHANGE_TYPES, LicenseChange, UserChange
from reconciler.plan.plan import Plan
from reconciler.problems import ReconcilerError
from reconciler.settings import Workspace
from reconciler.skus import NO_LICENSE, shown
from reconciler.state import State

# The reason diff_users.py gives a marked account that Git does not name at all.
ORPHANED = "marked as ours but not in Git"
# The safety limits, in the order they are checked; each kind says which counts which of its
# actions (`limits`). Suspensions are counted by account (offboarding steps with them).
LIMITS = (
    "suspensions",
    "deletions",
    "member removals",
    "license revocations and changes",
    "Entra member removals",
)
# Every action some limit counts: a destructive action (the action table says which) that no
# limit counts would pass any --allow-unsafe gate unseen, so a new one must be counted.
LIMITED = frozenset(action for t in CHANGE_TYPES for action in t.limits)


def check_limited(actions: Mapping[str, Action]) -> None:
    """Refuse an action table with a destructive action no safety limit counts."""
    unlimited = {a.name for a in actions.values() if a.destructive} - LIMITED
    if unlimited:
        raise AssertionError(f"destructive actions no safety limit counts: {sorted(unlimited)}")


def check_kinds_limited(types: tuple[type[Change], ...]) -> None:
    """Refuse a kind with a destructive action no limit counts, or a limit safety lacks."""
    for change_type in types:
        destructive = {a for a in change_type.phases if ACTIONS[a].destructive}
        unlimited = destructive - set(change_type.limits)
        if unlimited:
            raise AssertionError(
                f"{change_type.__name__}: destructive actions no safety limit counts: "
                f"{sorted(unlimited)}"
            )
        unknown = set(change_type.limits.values()) - set(LIMITS)
        if unknown:
            raise AssertionError(f"{change_type.__name__}: no safety limits {sorted(unknown)}")


check_limited(ACTIONS)
check_kinds_limited(CHANGE_TYPES)


def check_safety(
    plan: Plan, actual: State, workspace: Workspace, desired: State | None = None
) -> None:
    """Move refused changes out of plan.changes; record every limit the plan exceeds.
    Raise UnmatchedProtected when a protected address finds no account."""
    refuse_protected(plan, actual, workspace, desired or State())
    # Limits count the changes left once the refused are out.
    check_limits(plan, actual, workspace)


# -- protection ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unmatched:
    """A protected address that finds no account (its index in `protected`, and why)."""

    index: int
    address: str
    message: str


class UnmatchedProtected(ReconcilerError):
    """Protected addresses that find no account: the plan must not be made."""

    def __init__(self, unmatched: list[Unmatched]):
        self.unmatched = unmatched
        super().__init__("\n".join(f"workspace.yaml: {u.message}" for u in unmatched))


def refuse_protected(plan: Plan, actual: State, workspace: Workspace, desired: State) -> None:
    """Move the suspensions, renames, deletions and license revocations of protected accounts
    and super admins from plan.changes to plan.refused. Raise UnmatchedProtected when a
    protected address finds no account."""
    guarded, missing = protected_accounts(workspace, desired, actual)
    if missing:
        _check_unmatched(plan, missing)
    protected = set(workspace.protected)
    admins = {u.email for u in actual.users.values() if u.is_admin}
    # A change to a renamed account names its new address: new -> the account's primary.
    renamed = {
        c.key: c.from_ for c in plan.changes if isinstance(c, UserChange) and c.action == "rename"
    }
    kept: list[Change] = []
    for change in plan.changes:
        if change.action in change.protected:
            touched = {change.key, getattr(change, "from_", None)} - {None}
            accounts = {renamed.get(a) or a for a in touched}
            why = _protection(touched, accounts, protected, guarded, admins)
            if why:
                plan.refused.append(_with_reason(change, why))
                continue
        kept.append(change)
    plan.changes = kept


def protected_accounts(
    workspace: Workspace, desired: State, actual: State
) -> tuple[dict[str, str], list[tuple[int, str]]]:
    """The accounts `protected` names (primary email -> why, for the refusal) and the
    entries (index, address) that find none."""
    found: dict[str, str] = {}
    missing: list[tuple[int, str]] = []
    aliases: dict[str, str] | None = None

    def account_of(address: str) -> str | None:
        nonlocal aliases
        if address in actual.users:
            return address
        if aliases is None:  # built once, and only when an address is not a primary email
            aliases = {}
            for user in actual.users.values():
                for alias in user.aliases or ():
                    aliases.setdefault(alias, user.email)
        return aliases.get(address)

    for i, address in enumerate(workspace.protected):
        account = account_of(address)
        if account == address:
            why = f"{account} is protected (workspace.yaml: protected)"
        elif account is not None:
            why = f"{account} is protected (workspace.yaml: protected lists its alias {address})"
        else:
            account, how = _through_git(address, desired, account_of)
            why = f"{account} is protected (workspace.yaml: protected lists {address}, {how})"
        if account is None:
            missing.append((i, address))
        else:
            found.setdefault(account, why)
    return found, missing


def _through_git(address: str, desired: State, account_of) -> tuple[str | None, str]:
    """The account Git's entry with `address` (as email or previous email) matches."""
    entries = [desired.users[address]] if address in desired.users else []
    entries += [u for u in desired.users.values() if address in u.previous_emails]
    for user in entries:
        how = "its email in Git" if user.email == address else "a previous email in Git"
        for candidate in (user.email, *user.previous_emails):
            account = account_of(candidate)
            if account is not None:
                return account, how
    return None, ""


def _check_unmatched(plan: Plan, missing: list[tuple[int, str]]) -> None:
    """Raise for protected addresses that find no account, unless the plan restores that
    account, or creates it and suspends no marked account Git does not name (which could be
    it, renamed)."""
    # A restored account is the one protected: it comes back with its id.
    users = [c for c in plan.changes if isinstance(c, UserChange)]
    restored = {c.key for c in users if c.action == "undelete"}
    created = {c.key for c in users if c.action == "create"}
    orphans = sorted(c.key for c in users if c.action == "suspend" and c.reason == ORPHANED)
    unmatched: list[Unmatched] = []
    for index, address in missing:
        if address in restored:
            continue
        if address in created and not orphans:
            continue  # Git creates it now: protected from its first apply on
        message = _unmatched_message(address, orphans if address in created else None)
        unmatched.append(Unmatched(index, address, message))
    if unmatched:
        raise UnmatchedProtected(unmatched)


def _unmatched_message(address: str, orphans: list[str] | None) -> str:
    """Why a protected address that finds no account refuses the plan; `orphans`: the marked
    accounts the plan suspends while creating it (None when it does not create it)."""
    if orphans is None:
        return (
            f"protected: '{address}' matches no account in Google (no primary email or "
            "alias, and no address of its entry in Git finds one), so it protects "
            "nothing: if the account was renamed in Google, rename it back or write its "
            "new address in Git (its entry and protected); if it is gone, take it out "
            "of protected"
        )
    more = f" and {len(orphans) - 3} more" if len(orphans) > 3 else ""
    shown = ", ".join(orphans[:3]) + more
    return (
        f"protected: '{address}' matches no account in Google, and the plan would "
        f"create it while suspending {shown} ({ORPHANED}): if one of them is "
        f"{address} renamed in Google, rename it back or write its new address in "
        "Git (its entry and protected); if the account is new, create it first and "
        "protect it after"
    )


def _protection(
    touched: set[str],
    accounts: set[str],
    protected: set[str],
    guarded: dict[str, str],
    admins: set[str],
) -> str | None:
    for email in sorted(accounts):
        if email in guarded:
            return guarded[email]
    for email in sorted(touched):
        if email in protected:
            return f"{email} is protected (workspace.yaml: protected)"
    for email in sorted(accounts | touched):
        if email in admins:
            return f"{email} is a super admin"
    return None


def _with_reason(change: Change, why: str) -> Change:
    reason = f"refused: {why}" + (f"; {change.reason}" if change.reason else "")
    return replace(change, reason=reason)


# -- limits ----------------------------------------------------------------------------------


class Limit(NamedTuple):
    """A safety limit: how many of a destructive action the plan makes, the most allowed
    (count and percent, None: no limit), and what the percent is of."""

    what: str
    count: int
    most: int | None
    percent: float | None
    base: int


def check_limits(plan: Plan, actual: State, workspace: Workspace) -> None:
    """Record in plan.over_limits every safety limit the plan's changes exceed, and every
    SKU the plan would assign past the seats `licenses.seats` says were bought."""
    plan.over_limits += over_seats(plan, actual, workspace)
    floor = workspace.safety.percent_floor
    for what, count, most, percent, base in _limits(plan, actual, workspace):
        if most is not None and count > most:
            plan.over_limits.append(f"{count} {what} planned; the limit is {most}")
        if percent is not None and base >= floor and base and count:
            share = 100.0 * count / base
            if share > percent:
                plan.over_limits.append(
                    f"{count} {what} planned, {share:.1f}% of {base}; the limit is {percent:g}%"
                )


def over_seats(plan: Plan, actual: State, workspace: Workspace) -> list[str]:
    """The SKUs whose seats the plan would exceed: the assignments of every account of the
    tenant after the plan, counted only for a SKU the plan assigns (a tenant already over
    its seats is not refused for changes that add none)."""
    licenses = workspace.licenses
    if licenses is None or not licenses.seats or actual.licenses is None:
        return []
    used = Counter(actual.licenses.values())
    added: Counter[str] = Counter()
    for change in plan.changes:
        if not isinstance(change, LicenseChange):
            continue
        sku = change.fields["sku"]
        if sku.old != NO_LICENSE:
            used[sku.old] -= 1
        if sku.new != NO_LICENSE:
            used[sku.new] += 1
            added[sku.new] += 1
    return [
        f"{used[sku]} {shown(licenses.product, sku)} licenses after this plan ({added[sku]} "
        f"assigned by it); licenses.seats allows {seats}"
        for sku, seats in sorted(licenses.seats.items())
        if added[sku] and used[sku] > seats
    ]


def suspended(plan: Plan) -> set[str]:
    return {c.key for c in plan.changes if isinstance(c, UserChange) and c.action == "suspend"}


def counted(plan: Plan) -> dict[str, list[Change]]:
    """The plan's changes each safety limit counts (every limit listed)."""
    by_limit: dict[str, list[Change]] = {limit: [] for limit in LIMITS}
    for change in plan.changes:
        limit = change.limits.get(change.action)
        if limit is not None:
            by_limit[limit].append(change)
    return by_limit


def _limits(plan: Plan, actual: State, workspace: Workspace) -> list[Limit]:
    """The limits workspace.yaml sets, with the plan's counts: suspensions and deletions
    (of the accounts this repository manages), member removals (of all memberships)."""
    safety = workspace.safety
    bases = actual.bases or {}
    managed = bases.get("accounts")
    if managed is None:
        managed = sum(1 for u in actual.users.values() if u.owner == workspace.ownership.id)
    members = bases.get("members")
    if members is None:
        members = sum(len(g.members) for g in actual.groups.values())
    entra_members = sum(len(m) for m in actual.entra.members.values()) if actual.entra else 0
    by_limit = counted(plan)
    counts = {limit: len(changes) for limit, changes in by_limit.items()}
    # Offboarding steps count with the suspensions, by account: an account suspended and
    # signed out counts once, one signed out or revoked later counts too.
    offboarded = {c.key for c in by_limit["suspensions"]}
    # Licenses taken away or changed (a rule's typo can move a whole team to another SKU),
    # of the licensed accounts this repository manages.
    licensed = bases.get("licensed")
    if licensed is None:
        licensed = sum(
            1
            for email in actual.licenses or {}
            if email in actual.users and actual.users[email].owner == workspace.ownership.id
        )
    return [
        Limit(
            "suspensions" if offboarded <= suspended(plan) else "suspensions and offboardings",
            len(offboarded),
            safety.max_suspend,
            safety.max_suspend_percent,
            managed,
        ),
        Limit(
            "deletions",
            counts["deletions"],
            safety.max_delete,
            safety.max_delete_percent,
            managed,
        ),
        # Member removals are counted per directory, each against its own memberships.
        Limit(
            "member removals",
            counts["member removals"],
            safety.max_member_removals,
            safety.max_member_removals_percent,
            members,
        ),
        Limit(
            "license revocations and changes",
            counts["license revocations and changes"],
            safety.max_license_revocations,
            safety.max_license_revocations_percent,
            licensed,
        ),
        Limit(
            "Entra member removals",
            counts["Entra member removals"],
            safety.max_member_removals,
            safety.max_member_removals_percent,
            entra_members,
        ),
    ]

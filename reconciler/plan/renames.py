"""Renames of users and groups, found by an alias, a previous email or an unfinished rename.

Google refuses a rename to one of the account's own aliases, so such a rename carries the
aliases before and after and the executor removes that alias first. A rename that would
leave more than 30 aliases (Google keeps the old address as one) is not planned; a note says
why. Groups alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.plan.change import FieldChange
from reconciler.state import MAX_ALIASES

# The reason of a rename, by how the account or group was found.
FOUND_BY = {
    "alias": "found by its alias",
    "previous": "found by a previous email",
    "pending": "found by the rename an earlier apply began",
}


def find_by_address(
    email: str,
    previous: Sequence[str],
    addresses: Mapping[str, str],
    pending: Mapping[str, str],
    held: Mapping[str, object],
) -> tuple[str | None, str]:
    """The primary address of what a desired user or group is, and how it was found (a key
    of FOUND_BY, or "" when nothing is): by its address (primary or alias), by a previous
    one, or by the rename an earlier apply began (`pending`: new address -> old)."""
    primary = addresses.get(email)
    if primary is not None:
        return primary, "primary" if primary == email else "alias"
    for old in previous:
        primary = addresses.get(old)
        if primary is not None:
            return primary, "previous"
    old = pending.get(email)
    if old is not None and old in held:
        return old, "pending"
    return None, ""


def rename_fields(
    how: str, aliases: tuple[str, ...] | None, new: str, old: str
) -> dict[str, FieldChange]:
    """A rename to one of the account's aliases carries its aliases before and after: Google
    refuses it until that alias is removed (the executor does that first), then keeps the old
    address as an alias."""
    if how != "alias":
        return {}
    have = set(aliases or ())
    return {"aliases": FieldChange(tuple(sorted(have)), tuple(sorted((have - {new}) | {old})))}


def aliases_after_rename(
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


def too_many_aliases(kind: str, email: str, old: str, held: set[str]) -> str:
    """The note for a rename not planned: it would leave more aliases than Google allows."""
    return (
        f"{kind} {email}: not renamed from {old}: Google keeps the old address as an alias, "
        f"and the {kind} would hold {len(held)} aliases, over Google's limit of {MAX_ALIASES}; "
        f"left alone (remove aliases from it in Google, or from Git's aliases of {email})"
    )

"""The changes one user needs, whatever way its account was found: create, update of the
managed fields, suspend or unsuspend."""

from __future__ import annotations

from reconciler.plan.change import FieldChange
from reconciler.plan.compare import same
from reconciler.plan.kinds import UserChange
from reconciler.plan.plan import Plan
from reconciler.state import USER_ATTRIBUTES, User, created_fields

# The reason of a suspension because Git no longer binds the account (a contract of sorts:
# `reconciler report` counts such suspensions as orphaned by it).
NO_LONGER_BOUND = "no longer bound"


def user_change(action, user: User, key: str | None = None, **extra) -> UserChange:
    """A change to Git's `user`, by its email unless `key` names the account otherwise."""
    return UserChange(action, key or user.email, origin=user.origin, **extra)


def create_user(user: User) -> UserChange:
    """The create of a user no account is found for, with every field Git sets: those Git
    manages, and those Google owns but for the org unit (created_fields)."""
    fields = {name: FieldChange(None, value) for name, value in created_fields(user).items()}
    return user_change("create", user, fields=fields)


def user_fields(user: User, account: User, renamed_from: str | None) -> dict[str, FieldChange]:
    """The fields Git manages that the account has otherwise (after a rename from
    `renamed_from`, if planned). Attributes Google owns are not among them (resolve.py
    leaves them None; see `imported_notes`); an offboarding move is Git's policy, kept."""
    fields: dict[str, FieldChange] = {}
    for name in USER_ATTRIBUTES:
        want, have = getattr(user, name), getattr(account, name)
        if want is None:
            continue  # not managed
        if name == "org_unit":
            # Google's org unit paths ignore case: a unit spelt otherwise is the same unit,
            # and the plan renames the unit itself (see diff_org_units.py).
            want, have = want or "/", have or "/"
            if want.lower() == have.lower():
                continue
        if not same(want, have):
            fields[name] = FieldChange(have, want)
    if user.aliases is not None:
        aliases = _alias_change(user, account, renamed_from)
        if aliases is not None:
            fields["aliases"] = aliases
    return fields


def imported_notes(user: User, account: User) -> list[str]:
    """A note for each attribute Google owns whose value in Git differs from Google's: no
    change (Google's value stands, and the import brings it to Git), but the reviewer of a
    pull request sees Google's current value."""
    notes = []
    for name, want in (user.google_owned or {}).items():
        have = getattr(account, name)
        if name == "org_unit":
            want, have = want or "/", have or "/"
            if want.lower() == have.lower():
                continue
        if name == "aliases":
            want, have = tuple(sorted(want)), tuple(sorted(have or ()))
        if same(want, have):
            continue
        notes.append(
            f"{name} of {user.email}: Google has {_shown(have)}, Git {_shown(want)} (Google "
            f"owns {name}: the import brings Google's value)"
        )
    return notes


def _shown(value: object) -> str:
    if value in (None, "", ()):
        return "none"
    if isinstance(value, tuple):
        return ", ".join(f'"{v}"' for v in value)
    return f'"{value}"'


def _alias_change(user: User, account: User, renamed_from: str | None) -> FieldChange | None:
    have_aliases = set(account.aliases or ())
    if renamed_from is not None:
        # After the rename Google holds the old primary as an alias, and no longer the
        # new primary; compare with what will be there.
        have_aliases = (have_aliases - {user.email}) | {renamed_from}
    # Google keeps the addresses of earlier renames: previous_emails stay as aliases.
    keep = set(user.previous_emails) & have_aliases
    want_aliases = set(user.aliases or ()) | keep
    if want_aliases == have_aliases:
        return None
    return FieldChange(tuple(sorted(have_aliases)), tuple(sorted(want_aliases)))


def suspension(user: User, account: User, plan: Plan) -> None:
    """Suspend or unsuspend the account as Git wants it (a note when only Google can lift
    its suspension)."""
    if user.suspended and not account.suspended:
        reason = "state: suspended" if user.state == "suspended" else NO_LONGER_BOUND
        if user.state != "suspended" and user.unbound_by:
            reason = f"{NO_LONGER_BOUND}: {user.unbound_by}"
        plan.changes.append(user_change("suspend", user, reason=reason))
    elif not user.suspended and account.suspended:
        if account.suspension_reason not in (None, "ADMIN"):
            plan.notes.append(
                f"user {user.email}: suspended by Google ({account.suspension_reason}); only "
                "Google can lift that, so no unsuspend is planned"
            )
            return
        plan.changes.append(user_change("unsuspend", user))

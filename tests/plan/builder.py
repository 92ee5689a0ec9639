"""A small builder of test data for the plan: tiny desired and actual States, a Workspace,
and a compact form of a plan's changes to compare with an expected list.

Desired users carry what Git says (bound, state, previous_emails); actual users carry what
Google holds (owner, is_admin, suspended, suspension_reason, aliases); gone() accounts are
deleted ones Google can still restore. Emails are written by their local part: `want("jo")`
is jo@x.io.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reconciler.plan.change import Change
from reconciler.plan.kinds import MembershipChange, RenamableChange
from reconciler.plan.plan import Plan
from reconciler.settings import Workspace
from reconciler.state import Group, Member, OrgUnit, State, User

OURS = "acme/identity"
THEIRS = "acme/marketing-sites"
DOMAIN = "x.io"

Row = tuple[Any, ...]
NO_TRANSFER: dict[str, Any] = {"transfer_to": "none"}


def addr(name: str) -> str:
    """`jo` -> jo@x.io; full addresses are kept as they are."""
    return name if "@" in name else f"{name}@{DOMAIN}"


def addrs(names: tuple[str, ...] | list[str] | None) -> tuple[str, ...] | None:
    return None if names is None else tuple(sorted(addr(n) for n in names))


def workspace(
    *,
    ownership: str = OURS,
    group_management: bool = True,
    protected: tuple[str, ...] = (),
    offboarding: dict[str, Any] | None = NO_TRANSFER,
    licenses: dict[str, Any] | None = None,
    **safety: Any,
) -> Workspace:
    """A workspace.yaml; safety limits default to none at all, so only the ones a test names
    apply. Offboarding defaults to `{transfer_to: none}`: suspensions as without a block, and
    `state: deleted` deletes at once (None: no `offboarding:` block at all). `licenses`: a
    `licenses:` block (None: none)."""
    limits: dict[str, Any] = {
        "max_suspend": None,
        "max_delete": None,
        "max_member_removals": None,
        "max_license_revocations": None,
    }
    limits.update(safety)
    return Workspace.model_validate(
        {
            "directory": {
                "domains": [DOMAIN, "y.io"],
                "group_management": group_management,
            },
            "ownership": {"id": ownership},
            "provider": {"kind": "emulator"},
            "safety": limits,
            "protected": [addr(p) for p in protected],
            **({"offboarding": offboarding} if offboarding is not None else {}),
            **({"licenses": licenses} if licenses is not None else {}),
        }
    )


def want(
    name: str,
    *,
    bound: bool = True,
    state: str = "active",
    previous: tuple[str, ...] = (),
    aliases: tuple[str, ...] | None = None,
    **attributes: Any,
) -> User:
    """A desired user as resolve() makes it: unbound active users should be suspended."""
    return User(
        email=addr(name),
        aliases=addrs(aliases),
        suspended=state == "suspended" or (state == "active" and not bound),
        state=state,  # type: ignore[arg-type]
        bound=bound,
        previous_emails=addrs(previous) or (),
        **attributes,
    )


def have(
    name: str,
    *,
    owner: str | None = OURS,
    suspended: bool = False,
    reason: str | None = None,
    admin: bool = False,
    aliases: tuple[str, ...] = (),
    org_unit: str = "/",
    **attributes: Any,
) -> User:
    """An account as user_from_api() reads it: marked as ours unless told otherwise."""
    return User(
        email=addr(name),
        aliases=addrs(aliases),
        suspended=suspended,
        suspension_reason=reason if reason is not None else ("ADMIN" if suspended else None),
        owner=owner,
        is_admin=admin,
        org_unit=org_unit,
        id=f"id-{name}",
        **attributes,
    )


def gone(
    name: str, *, deleted: str = "2026-03-02T10:00:00.000Z", owner: str | None = OURS, **account
) -> User:
    """An account Google deleted (at `deleted`) and can still restore: state() files it
    among the deleted users. Otherwise as have() makes it."""
    return replace(have(name, owner=owner, **account), deletion_time=deleted, id=f"gone-{name}")


def wants(*names: str) -> list[User]:
    """Bound active desired users with nothing but an email."""
    return [want(n) for n in names]


def haves(*names: str) -> list[User]:
    """Active accounts marked as ours with nothing but an email."""
    return [have(n) for n in names]


def member(name: str, role: str = "MEMBER", type: str = "USER") -> Member:
    return Member(addr(name), role, type)  # type: ignore[arg-type]


def group(
    name: str,
    *members: Member,
    title: str | None = None,
    description: str | None = None,
    aliases: tuple[str, ...] | None = None,
    previous: tuple[str, ...] = (),
    additive: bool = False,
    owner: str | None = OURS,
) -> Group:
    """A group on either side; every group is called "Team" unless told otherwise, so a
    rename changes only the address. As an actual group it is marked as ours unless told
    otherwise (the desired side has no owner)."""
    return Group(
        email=addr(name),
        name=title if title is not None else "Team",
        description=description,
        aliases=addrs(aliases),
        members={m.email: m for m in members},
        previous_emails=addrs(previous) or (),
        additive=additive,
        owner=owner,
    )


def unit(path: str, description: str | None = None) -> OrgUnit:
    return OrgUnit(path, description)


def state(*objects: User | Group | OrgUnit) -> State:
    out = State()
    for obj in objects:
        if isinstance(obj, User) and obj.deletion_time is not None:
            out.deleted_users[obj.email] = obj
        elif isinstance(obj, User):
            out.users[obj.email] = obj
        elif isinstance(obj, Group):
            out.groups[obj.email] = obj
        else:
            out.org_units[obj.path] = obj
    return out


def row(change: Change) -> Row:
    """A change in compact form: (action, kind, key), then `from` for a rename or the role
    for a membership change, then {field: (old, new)} when fields changed."""
    out: Row = (change.action, change.kind, change.key)
    if isinstance(change, RenamableChange) and change.from_ is not None:
        out += (change.from_,)
    if isinstance(change, MembershipChange):
        out += (change.role,)
    if change.fields:
        out += ({name: (fc.old, fc.new) for name, fc in change.fields.items()},)
    return out


def rows(plan: Plan) -> list[Row]:
    return [row(c) for c in plan.changes]


def heads(changes: list[Change]) -> list[Row]:
    """(action, kind, key) of each change: for tests that do not care about the fields."""
    return [(c.action, c.kind, c.key) for c in changes]

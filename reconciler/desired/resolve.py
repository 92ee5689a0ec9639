"""Turn a valid desired tree into the normalized State: bindings and memberships resolved."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from reconciler.desired.checks import group_settings_of, org_unit_spellings
from reconciler.desired.entra import entra_groups
from reconciler.desired.index import Index
from reconciler.desired.licenses import LicenseOf, license_rules
from reconciler.desired.load import DesiredTree, Located
from reconciler.desired.models import UserEntry
from reconciler.state import ROLE_RANK, USER_ATTRIBUTES, Group, Member, OrgUnit, Origin, State, User

_ROLE_FIELDS = (("OWNER", "owners"), ("MANAGER", "managers"), ("MEMBER", "members"))


def resolve(index: Index) -> State:
    """The State Git asks for, from the index of a tree that passed every check."""
    tree, bound = index.tree, index.bound
    # Attributes Google owns are not managed: Git's values go aside (User.google_owned),
    # written when the plan creates the account and compared for its notes, nothing more.
    synced = set(tree.workspace.sync.attributes)
    owned = tuple(tree.workspace.sync.import_attributes)
    license_of = license_rules(index)
    policy = tree.workspace.onboarding if tree.has_setting("onboarding") else None
    notify = policy.notify if policy is not None else None
    state = State()
    for located in tree.users:
        state.users[located.entry.email] = _user(
            located,
            located.entry.email in bound,
            synced,
            tree.root,
            license_of,
            owned,
            notify,
        )
    _unbound_by_expiry(index, state)
    _block_inactive_managers(state)
    _resolve_groups(index, state)
    _resolve_org_units(tree, state)
    state.entra_groups = entra_groups(index, state, tree.workspace)
    return state


def _user(
    located: Located[UserEntry],
    bound: bool,
    synced: set[str],
    root: Path,
    license_of: LicenseOf | None,
    owned: tuple[str, ...] = (),
    notify: str | None = None,
) -> User:
    e = located.entry
    google_owned = {
        name: tuple(sorted(set(value))) if name == "aliases" else value
        for name in owned
        if (value := getattr(e, name)) is not None
    }
    if notify is not None and e.onboarding is not None:
        notify = e.onboarding.notify

    def managed(name: str, value):
        return value if name in synced else None

    return User(
        email=e.email,
        **{name: managed(name, getattr(e, name)) for name in USER_ATTRIBUTES},
        aliases=managed(
            "aliases", tuple(sorted(set(e.aliases))) if e.aliases is not None else None
        ),
        # What Google should hold if the account exists: unbound accounts are suspended.
        suspended=e.state == "suspended" or (e.state == "active" and not bound),
        state=e.state,
        bound=bound,
        previous_emails=tuple(sorted(set(e.previous_emails))),
        origin=_origin(located, root),
        offboarding=(
            e.offboarding.model_dump(include=e.offboarding.model_fields_set)
            if e.offboarding is not None
            else None
        ),
        sign_out_after=e.sign_out_after,
        password_change_after=e.require_password_change_after,
        license=license_of(e) if license_of is not None else None,
        google_owned=google_owned or None,
        onboarding=onboarding_of(e, notify),
    )


def onboarding_of(entry: UserEntry, notify: str | None) -> tuple[str, str | None] | None:
    """(way, recipient) of the sign-in details of `entry`'s new account, with workspace.yaml's
    `notify` (the user's own over it); None: no message. Git's manager and recovery email
    whether or not `sync.attributes` manages them; the recipient is None when missing."""
    if notify == "manager":
        return "manager", entry.manager
    if notify == "recovery_email":
        return "recovery_email", entry.recovery_email
    return None


def _block_inactive_managers(state: State) -> None:
    """A new hire's sign-in details go to its manager only if Git keeps that manager's
    account active (bound, not suspended or staged): say why not on the user otherwise."""
    for email, user in state.users.items():
        if user.onboarding is None or user.onboarding[0] != "manager" or not user.onboarding[1]:
            continue
        boss = state.users.get(user.onboarding[1])
        if boss is not None and boss.bound and boss.state == "active" and not boss.suspended:
            continue
        why = "is not a user in Git" if boss is None else "has no active account in Git"
        state.users[email] = replace(user, onboarding_blocked=why)


def _unbound_by_expiry(index: Index, state: State) -> None:
    """Say why on each user that an ended binding left unbound."""
    root = index.tree.root
    for d in index.tree.dated:
        if d.kind != "binding" or not d.expired:
            continue
        if d.holder == "user":
            users = {d.ref}
        else:
            users = index.users_in([d.ref]) if d.ref in index.groups else set()
        why = f"its binding ended after {d.until}, {d.where(root)}"
        for email in users:
            user = state.users.get(email)
            if user is not None and not user.bound and user.unbound_by is None:
                state.users[email] = replace(user, unbound_by=why)


def _expired_members(index: Index, state: State) -> dict[str, dict[str, str]]:
    """For each exported group by Git name, the addresses of its members whose entry ended
    -> why (for the reason of their removal)."""
    out: dict[str, dict[str, str]] = {}
    for d in index.tree.dated:
        if d.kind == "binding" or not d.expired:
            continue
        user = state.users.get(d.ref)
        group = index.group_ref(d.ref) if user is None else None
        address = group.entry.email if group is not None else d.ref
        if address:
            why = f"expired after {d.until}, {d.where(index.tree.root)}"
            out.setdefault(d.holder, {}).setdefault(address, why)
    return out


def _origin(located: Located, root: Path) -> Origin:
    """Where an entry was written, relative to the state directory (the same on every
    machine, so plans made in CI and locally agree)."""
    return Origin(located.source.path.relative_to(root), located.source.line)


def has_account(user: User) -> bool:
    return user.bound and user.state in ("active", "suspended")


def _resolve_groups(index: Index, state: State) -> None:
    members_of: dict[str, dict[str, Member]] = {}
    expired = _expired_members(index, state)

    def resolve_group(name: str) -> dict[str, Member]:
        if name in members_of:
            return members_of[name]
        entry = index.groups[name].entry
        resolved: dict[str, Member] = {}
        for role, attr in _ROLE_FIELDS:
            for ref in getattr(entry, attr):
                for member in expand(ref, role):
                    current = resolved.get(member.email)
                    if current is None or ROLE_RANK[member.role] > ROLE_RANK[current.role]:
                        resolved[member.email] = member
        members_of[name] = resolved
        return resolved

    def expand(ref: str, role: str) -> Iterator[Member]:
        user = state.users.get(ref)
        if user is not None:
            if has_account(user):
                yield Member(ref, role, "USER")  # type: ignore[arg-type]
            return
        group = index.group_ref(ref)
        if group is None:
            yield Member(ref, role, "EXTERNAL")  # type: ignore[arg-type]
            return
        inner = resolve_group(group.entry.name)
        if group.entry.email:
            # Even when empty: if Google has it, it stays a member (the plan adds it only
            # once the group exists or is being created).
            yield Member(group.entry.email, role, "GROUP")  # type: ignore[arg-type]
            return
        # A user group that is not exported: its people join the parent directly.
        for member in inner.values():
            yield Member(member.email, role, member.type)  # type: ignore[arg-type]

    for name, located in index.groups.items():
        e = located.entry
        members = resolve_group(name)
        if not e.email:
            continue  # a user group, not exported
        # Exported even with no members: a group that exists is given exactly Git's
        # membership, nobody included (the plan does not create one that is empty).
        state.groups[e.email] = Group(
            email=e.email,
            name=e.display_name if e.display_name is not None else e.name,
            description=e.description,
            aliases=tuple(sorted(set(e.aliases))) if e.aliases is not None else None,
            members=dict(sorted(members.items())),
            git_name=e.name,
            previous_emails=tuple(sorted(set(e.previous_emails))),
            additive=e.membership == "additive",
            origin=_origin(located, index.tree.root),
            settings=group_settings_of(index.tree, located),
            expired=expired.get(name, {}),
        )


def _resolve_org_units(tree: DesiredTree, state: State) -> None:
    # One spelling per unit, as Git declares it: Google's paths ignore case.
    spelled = org_unit_spellings(tree)
    for o in tree.org_units:
        if o.entry.path != "/":
            origin = _origin(o, tree.root)
            path = spelled.of(o.entry.path)
            state.org_units[path] = OrgUnit(path, o.entry.description, origin)
    # The unit offboarding moves suspended accounts to is created like any other.
    ws_source = tree.workspace_source
    policy = tree.workspace.offboarding
    if policy is not None and policy.org_unit:
        origin = Origin(ws_source.path.relative_to(tree.root), ws_source.line_of("offboarding"))
        path = spelled.of(policy.org_unit)
        state.org_units.setdefault(path, OrgUnit(path, origin=origin))
    for located in tree.users:
        own = located.entry.offboarding
        if own is not None and own.org_unit:
            origin = _origin(located, tree.root)
            path = spelled.of(own.org_unit)
            state.org_units.setdefault(path, OrgUnit(path, origin=origin))
    for email, user in state.users.items():
        if not user.org_unit or user.org_unit == "/":
            continue
        path = spelled.of(user.org_unit)
        if path != user.org_unit:
            state.users[email] = user = replace(user, org_unit=path)
        if path not in state.org_units:
            state.org_units[path] = OrgUnit(path, origin=user.origin)
    # Every ancestor of a unit must exist too.
    for path in list(state.org_units):
        head = path.rsplit("/", 1)[0]
        while head and head not in state.org_units:
            state.org_units[head] = OrgUnit(head, origin=state.org_units[path].origin)
            head = head.rsplit("/", 1)[0]
    state.org_units = dict(sorted(state.org_units.items()))

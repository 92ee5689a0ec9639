"""An in-memory Google for plans: apply each Change to a copy of an actual State the way the
Directory API would, and refuse what Google (or a careful reviewer) would refuse.

Google's behaviour copied here: a renamed user or group keeps its old primary as an alias
and loses the new one from its aliases; members follow a renamed user or group (listings
show the current address); deleting a user drops its memberships and keeps it among the
deleted users, from where an undelete brings it back (aliases, attributes and marker, in the
org unit asked for, without memberships or licenses) unless one of its addresses is taken; a
member key or user key may be any address of the account; values written empty read back as
absent; a license is listed under its account's primary email, one SKU per account. Entra
ID's groups are found by display name (ours first), members by object id.

Refused, so a plan that could not run fails its test: an unknown key, an address already in
use, a member that does not exist or already does, adopting an account that is not
unmarked, touching an account of another repository, restoring an account that is not
deleted, a unit whose parent is missing, and an `old` value that is not what the tenant
holds when the change runs.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from reconciler.entra.state import EntraActual, EntraGroupRecord, EntraMember
from reconciler.plan.change import Change, FieldChange
from reconciler.plan.kinds import EntraMembershipChange
from reconciler.plan.plan import Plan
from reconciler.state import Group, Member, OrgUnit, State, User

# When the simulator deletes an account (it keeps no clock).
DELETED_AT = "2026-03-02T10:00:00.000Z"


class Refused(AssertionError):
    """Google (or the simulator's stricter checks) would not apply this change."""


def simulate(actual: State, plan: Plan, ownership_id: str, desired: State | None = None) -> State:
    """The actual State after every change of `plan` (refused ones are never applied);
    `desired` gives the Git names an Entra group's marker records when it is marked."""
    tenant = Tenant(copy.deepcopy(actual), ownership_id, desired)
    for change in plan.changes:
        try:
            tenant.apply(change)
        except Refused as exc:
            raise Refused(f"{change.action} {change.kind} {change.key}: {exc}") from None
    return tenant.state


def _read_back(value: Any) -> Any:
    """What Google returns for a value written: empty strings and lists read as absent."""
    return None if value in ("", None) else value


class Tenant:
    def __init__(self, state: State, ownership_id: str, desired: State | None = None) -> None:
        self.state = state
        self.ours = ownership_id
        self.desired = desired

    # -- addresses ---------------------------------------------------------------------------

    def user_at(self, address: str) -> User | None:
        for user in self.state.users.values():
            if address == user.email or address in (user.aliases or ()):
                return user
        return None

    def group_at(self, address: str) -> Group | None:
        for group in self.state.groups.values():
            if address == group.email or address in (group.aliases or ()):
                return group
        return None

    def taken(self, address: str) -> bool:
        return self.user_at(address) is not None or self.group_at(address) is not None

    def _claim(self, addresses: tuple[str, ...] | set[str], holder: str) -> None:
        for a in addresses:
            user, group = self.user_at(a), self.group_at(a)
            if (user and user.email != holder) or (group and group.email != holder):
                raise Refused(f"the address {a} is already in use")

    def account(self, key: str, *, primary: bool = True) -> User:
        user = self.user_at(key)
        if user is None:
            raise Refused("no such user")
        if primary and user.email != key:
            raise Refused(f"{key} is an alias of {user.email}: the plan should name the primary")
        if user.owner is not None and user.owner != self.ours:
            raise Refused(f"the account is managed by {user.owner!r}")
        return user

    def group(self, key: str) -> Group:
        group = self.group_at(key)
        if group is None:
            raise Refused(f"no such group {key}")
        if group.email != key:
            raise Refused(f"{key} is an alias of {group.email}: the plan should name the primary")
        return group

    # -- changes -----------------------------------------------------------------------------

    def apply(self, change: Change) -> None:
        handler = getattr(self, f"_{change.kind}_{change.action}", None)
        if handler is None:
            raise Refused("the simulator does not know this kind of change")
        handler(change)

    # org units: paths ignore case, as Google's; a unit keeps the spelling it was created or
    # renamed with, and users in it show that spelling.

    def unit_at(self, path: str) -> OrgUnit | None:
        for unit in self.state.org_units.values():
            if unit.path.lower() == path.lower():
                return unit
        return None

    def _org_unit_create(self, c: Change) -> None:
        if self.unit_at(c.key) is not None:
            raise Refused("the unit exists")
        parent = OrgUnit(c.key).parent or "/"
        above = self.unit_at(parent) if parent != "/" else None
        if parent != "/" and above is None:
            raise Refused(f"the parent {parent} does not exist")
        path = (above.path if above else "") + "/" + OrgUnit(c.key).name
        description = c.fields.get("description")
        self.state.org_units[path] = OrgUnit(
            path, _read_back(description.new) if description else None
        )

    def _org_unit_update(self, c: Change) -> None:
        unit = self.unit_at(c.key)
        if unit is None:
            raise Refused("no such unit")
        if "description" in c.fields:
            _check_old(c.fields["description"], unit.description)
            unit = replace(unit, description=_read_back(c.fields["description"].new))
        self.state.org_units[unit.path] = unit
        if "name" in c.fields:
            _check_old(c.fields["name"], unit.name)
            self._move_units(
                unit.path, (unit.parent or "").rstrip("/") + "/" + c.fields["name"].new
            )

    def _move_units(self, old: str, new: str) -> None:
        """A renamed unit carries the units and users below it along."""

        def moved(path: str) -> str:
            low = path.lower()
            if low == old.lower() or low.startswith(old.lower() + "/"):
                return new + path[len(old) :]
            return path

        self.state.org_units = {
            moved(p): replace(u, path=moved(p)) for p, u in self.state.org_units.items()
        }
        for email, user in list(self.state.users.items()):
            if user.org_unit and moved(user.org_unit) != user.org_unit:
                self.state.users[email] = replace(user, org_unit=moved(user.org_unit))

    def _org_unit_exists(self, path: Any) -> str:
        """The unit's own spelling of `path` (Google stores that one); refused if none."""
        if not path or path == "/":
            return "/"
        unit = self.unit_at(path)
        if unit is None:
            raise Refused(f"the org unit {path} does not exist")
        return unit.path

    # users

    def _user_create(self, c: Change) -> None:
        values = {name: fc.new for name, fc in c.fields.items()}
        aliases = tuple(sorted(values.pop("aliases", None) or ()))
        self._claim({c.key, *aliases}, c.key)
        unit = self._org_unit_exists(values.get("org_unit"))
        attributes = {name: _read_back(v) for name, v in values.items()}
        attributes["org_unit"] = unit
        self.state.users[c.key] = User(
            email=c.key, aliases=aliases, owner=self.ours, id=f"new:{c.key}", **attributes
        )

    def _user_undelete(self, c: Change) -> None:
        gone = self.state.deleted_users.get(c.key)
        if gone is None:
            raise Refused("no deleted account has this address")
        if gone.owner not in (None, self.ours):
            raise Refused(f"the deleted account is managed by {gone.owner!r}")
        self._claim({c.key, *(gone.aliases or ())}, c.key)
        unit = c.fields["org_unit"]
        _check_old(unit, gone.org_unit, root=True)
        self._org_unit_exists(unit.new)
        del self.state.deleted_users[c.key]
        self.state.users[c.key] = replace(gone, org_unit=unit.new or "/", deletion_time=None)

    def _user_rename(self, c: Change) -> None:
        old = c.from_ or ""
        user = self.user_at(old)
        if user is None or user.email != old:
            raise Refused(f"no account has the primary {old}")
        if user.owner not in (None, self.ours):
            raise Refused(f"the account is managed by {user.owner!r}")
        self._claim({c.key}, old)
        aliases = tuple(sorted((set(user.aliases or ()) - {c.key}) | {old}))
        del self.state.users[old]
        self.state.users[c.key] = replace(user, email=c.key, aliases=aliases)
        self._members_follow(old, c.key)
        if self.state.licenses is not None and old in self.state.licenses:
            self.state.licenses[c.key] = self.state.licenses.pop(old)  # listed by its primary

    def _user_adopt(self, c: Change) -> None:
        user = self.user_at(c.key)
        if user is None or user.email != c.key:
            raise Refused("no account has this primary")
        if user.owner is not None:
            raise Refused(f"the account is already marked ({user.owner!r})")
        self.state.users[c.key] = replace(user, owner=self.ours)

    def _user_update(self, c: Change) -> None:
        user = self.account(c.key)
        values: dict[str, Any] = {}
        for name, fc in c.fields.items():
            have = getattr(user, name)
            if name == "aliases":
                if set(fc.old or ()) != set(have or ()):
                    raise Refused(f"aliases: the plan expects {fc.old}, Google holds {have}")
                self._claim(set(fc.new), c.key)
                values[name] = tuple(sorted(fc.new))
                continue
            _check_old(fc, have, root=name == "org_unit")
            if name == "org_unit":
                values[name] = self._org_unit_exists(fc.new)
            else:
                values[name] = _read_back(fc.new)
        self.state.users[c.key] = replace(user, **values)

    def _user_suspend(self, c: Change) -> None:
        user = self.account(c.key)
        if user.suspended:
            raise Refused("already suspended")
        self.state.users[c.key] = replace(user, suspended=True, suspension_reason="ADMIN")

    def _user_unsuspend(self, c: Change) -> None:
        user = self.account(c.key)
        if not user.suspended or user.suspension_reason not in (None, "ADMIN"):
            raise Refused(f"cannot unsuspend (suspended: {user.suspension_reason})")
        self.state.users[c.key] = replace(user, suspended=False, suspension_reason=None)

    def _user_notify(self, c: Change) -> None:
        # A message to a person: the directory is as it was; the account must exist.
        self.account(c.key)

    def _user_delete(self, c: Change) -> None:
        user = self.account(c.key)
        del self.state.users[user.email]
        self.state.deleted_users[user.email] = replace(user, deletion_time=DELETED_AT)
        if self.state.licenses is not None:
            self.state.licenses.pop(user.email, None)  # a deleted account's seat is free
        for email, group in list(self.state.groups.items()):
            if user.email in group.members:
                members = {k: m for k, m in group.members.items() if k != user.email}
                self.state.groups[email] = replace(group, members=members)

    # licenses: by primary email, one SKU of the product per account

    def _licensed(self, c: Change) -> tuple[dict[str, str], str | None]:
        self.account(c.key)
        if self.state.licenses is None:
            raise Refused("the licenses were never read")
        held = self.state.licenses.get(c.key)
        if (held or "none") != c.fields["sku"].old:
            raise Refused(f"old sku {c.fields['sku'].old}, but the account holds {held}")
        return self.state.licenses, held

    def _license_assign_license(self, c: Change) -> None:
        licenses, _ = self._licensed(c)
        licenses[c.key] = c.fields["sku"].new

    def _license_change_license(self, c: Change) -> None:
        licenses, held = self._licensed(c)
        if c.fields["sku"].new in (held, "none"):
            raise Refused("a reassignment to the same SKU, or to none")
        licenses[c.key] = c.fields["sku"].new

    def _license_revoke_license(self, c: Change) -> None:
        licenses, _ = self._licensed(c)
        del licenses[c.key]

    # group settings: the named settings of a group that exists, written whole

    def _group_settings_update(self, c: Change) -> None:
        group = self.group(c.key)
        held = dict(group.settings or {})
        for name, fc in c.fields.items():
            if held.get(name) != fc.old:
                raise Refused(f"old {name} {fc.old!r}, but the group holds {held.get(name)!r}")
            held[name] = fc.new
        self.state.groups[group.email] = replace(group, settings=held)

    # Entra ID: groups by display name (the one ours, or the only one of that name), members
    # by object id; a created group is marked as ours, as an adopted one is

    def _entra_group(self, name: str) -> EntraGroupRecord:
        entra = self.entra
        git_name = self._git_name(name)
        recorded = [g for g in entra.groups if g.owner == self.ours and g.git_name == git_name]
        if git_name and len(recorded) == 1:
            return recorded[0]
        named = [g for g in entra.groups if g.display_name == name]
        mine = [g for g in named if g.owner == self.ours]
        if len(mine) == 1:
            return mine[0]
        if len(named) != 1:
            raise Refused(f"{len(named)} Entra groups are named {name!r}")
        return named[0]

    @property
    def entra(self) -> EntraActual:
        if self.state.entra is None:
            raise Refused("Entra ID was not read")
        return self.state.entra

    def _entra_replace(self, old: EntraGroupRecord, new: EntraGroupRecord) -> None:
        groups = self.entra.groups
        groups[groups.index(old)] = new

    def _entra_group_create(self, c: Change) -> None:
        if any(g.display_name == c.key for g in self.entra.groups):
            raise Refused(f"an Entra group named {c.key!r} exists: the plan makes a second")
        description = c.fields["description"].new if "description" in c.fields else None
        group_id = f"entra-{len(self.entra.groups) + 1}"
        self.entra.groups.append(
            EntraGroupRecord(
                group_id, c.key, description, owner=self.ours, git_name=self._git_name(c.key)
            )
        )
        self.entra.members[group_id] = ()

    def _git_name(self, name: str) -> str | None:
        """The Git name of the group Git exports as `name` (None: not known here)."""
        wanted = (self.desired.entra_groups or {}) if self.desired is not None else {}
        return wanted[name].git_name if name in wanted else None

    def _entra_group_adopt(self, c: Change) -> None:
        group = self._entra_group(c.key)
        if group.owner is not None or not group.is_security_group:
            raise Refused("only an unmarked security group can be adopted")
        self._entra_replace(group, replace(group, owner=self.ours, git_name=self._git_name(c.key)))

    def _entra_group_update(self, c: Change) -> None:
        group = self._entra_group(c.key)
        if group.owner != self.ours:
            raise Refused("the Entra group is not ours")
        values = {}
        for name, attr, have in (
            ("display_name", "display_name", group.display_name),
            ("description", "description", group.description),
            ("git_name", "git_name", group.git_name),
        ):
            if name in c.fields:
                _check_old(c.fields[name], have)
                values[attr] = _read_back(c.fields[name].new)
        self._entra_replace(group, replace(group, **values))

    def _entra_member(self, c: Change) -> tuple[EntraGroupRecord, EntraMember]:
        assert isinstance(c, EntraMembershipChange)
        group = self._entra_group(c.group or "")
        if group.owner != self.ours:
            raise Refused("the Entra group is not ours")
        member = c.member or ""
        if c.member_type == "GROUP":
            return group, EntraMember(self._entra_group(member).id, "group", member)
        if c.member_type == "USER":
            user_id = self.entra.user_id(member)
            if user_id is None:
                raise Refused(f"{member} has no Entra account")
            held = next((m for m in self.entra.members.get(group.id, ()) if m.id == user_id), None)
            return group, held or EntraMember(user_id, "user", member)
        found = [m for m in self.entra.members.get(group.id, ()) if m.name == member]
        if not found:
            raise Refused(f"{member} is not a member")
        return group, found[0]

    def _entra_membership_add_member(self, c: Change) -> None:
        group, member = self._entra_member(c)
        held = self.entra.members.get(group.id, ())
        if any(m.id == member.id for m in held):
            raise Refused("already a member")
        self.entra.members[group.id] = (*held, member)

    def _entra_membership_remove_member(self, c: Change) -> None:
        group, member = self._entra_member(c)
        held = self.entra.members.get(group.id, ())
        if not any(m.id == member.id for m in held):
            raise Refused("not a member")
        self.entra.members[group.id] = tuple(m for m in held if m.id != member.id)

    # groups

    def _group_create(self, c: Change) -> None:
        values = {name: fc.new for name, fc in c.fields.items()}
        aliases = tuple(sorted(values.get("aliases") or ()))
        self._claim({c.key, *aliases}, c.key)
        self.state.groups[c.key] = Group(
            email=c.key,
            name=values.get("name") or c.key.partition("@")[0],
            description=_read_back(values.get("description")),
            aliases=aliases,
            id=f"new:{c.key}",
            owner=self.ours,
        )

    def _group_adopt(self, c: Change) -> None:
        group = self.group(c.key)
        if group.owner is not None:
            raise Refused(f"the group is already marked ({group.owner!r})")
        self.state.groups[c.key] = replace(group, owner=self.ours)

    def _group_rename(self, c: Change) -> None:
        old = c.from_ or ""
        group = self.group_at(old)
        if group is None or group.email != old:
            raise Refused(f"no group has the primary {old}")
        self._claim({c.key}, old)
        aliases = tuple(sorted((set(group.aliases or ()) - {c.key}) | {old}))
        del self.state.groups[old]
        self.state.groups[c.key] = replace(group, email=c.key, aliases=aliases)
        self._members_follow(old, c.key)

    def _group_update(self, c: Change) -> None:
        group = self.group(c.key)
        values: dict[str, Any] = {}
        for name, fc in c.fields.items():
            have = getattr(group, name)
            if name == "aliases":
                if set(fc.old or ()) != set(have or ()):
                    raise Refused(f"aliases: the plan expects {fc.old}, Google holds {have}")
                self._claim(set(fc.new), c.key)
                values[name] = tuple(sorted(fc.new))
            else:
                _check_old(fc, have)
                values[name] = _read_back(fc.new) if name == "description" else fc.new
        self.state.groups[c.key] = replace(group, **values)

    def _members_follow(self, old: str, new: str) -> None:
        for email, group in list(self.state.groups.items()):
            if old in group.members:
                members = {
                    (new if k == old else k): (replace(m, email=new) if k == old else m)
                    for k, m in group.members.items()
                }
                self.state.groups[email] = replace(group, members=dict(sorted(members.items())))

    # memberships

    def _member_address(self, c: Change) -> str:
        """The address Google lists the member by: its primary, whatever key named it."""
        address = c.member or ""
        if c.member_type == "USER":
            user = self.user_at(address)
            if user is None:
                if c.action != "add_member" and address in self.group(c.group or "").members:
                    return address  # another customer's account: known by its address only
                raise Refused(f"no user {address}")
            return user.email
        if c.member_type == "GROUP":
            group = self.group_at(address)
            if group is None:
                raise Refused(f"no group {address}")
            return group.email
        return address

    def _membership_add_member(self, c: Change) -> None:
        group = self.group(c.group or "")
        address = self._member_address(c)
        if address in group.members:
            raise Refused(f"{address} is already a member")
        members = {**group.members, address: Member(address, c.role, c.member_type)}  # type: ignore[arg-type]
        self.state.groups[group.email] = replace(group, members=dict(sorted(members.items())))

    def _membership_update_member(self, c: Change) -> None:
        group = self.group(c.group or "")
        address = self._member_address(c)
        current = group.members.get(address)
        if current is None:
            raise Refused(f"{address} is not a member")
        _check_old(c.fields["role"], current.role)
        members = {**group.members, address: replace(current, role=c.role)}
        self.state.groups[group.email] = replace(group, members=members)

    def _membership_remove_member(self, c: Change) -> None:
        group = self.group(c.group or "")
        address = self._member_address(c)
        if address not in group.members:
            raise Refused(f"{address} is not a member")
        members = {k: m for k, m in group.members.items() if k != address}
        self.state.groups[group.email] = replace(group, members=members)


def _check_old(fc: FieldChange, have: Any, *, root: bool = False) -> None:
    """The plan's `old` must be what the tenant holds when the change runs."""
    old, now = (fc.old or "/", have or "/") if root else (fc.old or "", have or "")
    if root:  # org unit paths ignore case
        old, now = old.lower(), now.lower()
    if old != now:
        raise Refused(f"the plan expects {fc.old!r}, Google holds {have!r}")

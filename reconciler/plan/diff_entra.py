"""The groups Git exports to Microsoft Entra ID (`entra: true`), against what Graph lists.

Matching: the group our marker (reconciler/entra/marker.py) says exports that Git group is
managed, whatever its display name now (a new name is an `update`); else, by exact display
name, a group marked as ours is managed, an unmarked security group that alone has the name
is adopted (marked); none: the group is created, once it would have a member. A name held by
several groups, by a group another repository marked, or only by a group the export cannot
take over (a Microsoft 365, dynamic or mail-enabled group, one synced from on-premises
Active Directory, or one that can hold admin roles) is refused with a note: no change
touches that group. Membership is authoritative (unless the Git group says
`membership: additive`), compared by object id: Git's users who have an Entra account (by
userPrincipalName, then mail), and nested exported groups; users without an Entra account
and external addresses are skipped with a note, protected addresses are never removed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace

from reconciler.entra.state import EntraActual, EntraGroup, EntraGroupRecord, EntraMember
from reconciler.plan.change import FieldChange
from reconciler.plan.compare import same
from reconciler.plan.diff_context import DiffContext
from reconciler.plan.kinds.entra import EntraGroupChange, EntraMembershipChange, membership_key
from reconciler.plan.plan import Plan
from reconciler.problems import ReconcilerError

# Notes list at most this many addresses each; the count says how many there are.
_LISTED = 5


@dataclass(frozen=True)
class Match:
    """What the export does with one Git group's name in Entra ID: `record` is the group it
    manages or adopts (None: it creates one), `refusal` why it touches none."""

    record: EntraGroupRecord | None = None
    adopt: bool = False
    refusal: str | None = None


def match_groups(wanted: dict[str, EntraGroup], entra: EntraActual, ours: str) -> dict[str, Match]:
    """The Entra group each Git group is, decided together so no two share one: first the
    groups our marker says export them (by Git name, whatever their display names now), then
    by exact display name among the rest. A name still held by a group of ours that another
    Git group took (renamed in this very plan) is refused until that rename is done. The
    groups are indexed once, by marker and by name: a tenant's thousands of groups are not
    scanned again for each Git group."""
    by_git_name: dict[str, list[EntraGroupRecord]] = defaultdict(list)
    by_name: dict[str, list[EntraGroupRecord]] = defaultdict(list)
    for record in entra.groups:
        by_name[record.display_name].append(record)
        if record.owner == ours and record.git_name:
            by_git_name[record.git_name].append(record)
    matches: dict[str, Match] = {}
    taken: dict[str, str] = {}  # record id -> the Git group (display name) that has it
    for name, group in sorted(wanted.items()):
        recorded = by_git_name.get(group.git_name or "", [])
        if len(recorded) == 1:
            matches[name] = Match(recorded[0])
            taken[recorded[0].id] = name
    git_names = {g.git_name for g in wanted.values() if g.git_name}
    for name in sorted(wanted):
        if name in matches:
            continue
        held = [g for g in by_name.get(name, []) if g.id in taken]
        if held:
            matches[name] = Match(
                refusal=f'the name is still that of our group for Git\'s "{taken[held[0].id]}", '
                "which this plan renames: apply, then plan again"
            )
            continue
        # Not another Git group's: the one its marker names, or one already matched.
        named = [
            g
            for g in by_name.get(name, [])
            if g.id not in taken and not (g.owner == ours and g.git_name in git_names)
        ]
        match = _match_by_name(name, named, ours)
        if match.record is not None:
            taken[match.record.id] = name
        matches[name] = match
    return matches


def _match_by_name(name: str, named: list[EntraGroupRecord], ours: str) -> Match:
    """The Entra group a Git group is among `named`, the groups with its display name."""
    mine = [g for g in named if g.owner == ours]
    if len(mine) == 1:
        return Match(mine[0])
    if len(named) > 1:
        ids = ", ".join(g.id for g in named)
        return Match(
            refusal=f"{len(named)} groups in Entra ID have this name ({ids}); the export takes "
            "over a group only when its name is unique, or a third would be made. Rename or "
            "delete the others in Entra ID"
        )
    if not named:
        return Match()
    group = named[0]
    if group.owner is not None:
        return Match(refusal="it is marked as another repository's (ownership id differs)")
    if group.on_premises:
        return Match(
            refusal="it is synced from on-premises Active Directory: its members are changed "
            "there, not through Graph"
        )
    if group.role_assignable:
        return Match(
            refusal="it is role-assignable (it can hold Entra admin roles): the export does not "
            "take such a group over"
        )
    if not group.is_security_group:
        what = (
            "a Microsoft 365 group"
            if "Unified" in group.group_types
            else "a dynamic group (members by rule)"
            if "DynamicMembership" in group.group_types
            else "mail-enabled"
        )
        return Match(
            refusal=f"the group with this name is {what}; only security groups are exported. "
            "Rename it in Entra ID, or give the Git group another display name"
        )
    return Match(group, adopt=True)


def diff_entra(ctx: DiffContext) -> None:
    """Plan the Entra groups and members Git asks for (nothing without an `entra:` block)."""
    wanted = ctx.desired.entra_groups
    if wanted is None:
        return
    entra = ctx.view.state.entra
    if entra is None:
        raise ReconcilerError(
            "Entra ID was not read, so its groups cannot be planned (a read that failed)"
        )
    matches = match_groups(wanted, entra, ctx.ours)
    # Which groups the plan creates is decided first, nested ones included: a group whose
    # only members are groups that will exist is created too.
    created = set(_created(wanted, matches, entra))
    for _, group in sorted(wanted.items()):
        _diff_group(ctx, group, matches, created, entra)
    found = {m.record.id for m in matches.values() if m.record is not None}
    _left_behind(ctx, found, entra)


def _created(
    wanted: dict[str, EntraGroup], matches: dict[str, Match], entra: EntraActual
) -> list[str]:
    """The groups the plan creates: unmatched and not refused, with at least one member that
    will be there (a user with an Entra account, or a nested group that exists or is
    created); worked out to a fixed point, since nesting can chain."""
    exists = {n for n, m in matches.items() if m.record is not None}
    created: list[str] = []
    changed = True
    while changed:
        changed = False
        for name, group in sorted(wanted.items()):
            match = matches[name]
            if match.record is not None or match.refusal or name in created:
                continue
            users = any(entra.user_id(u) for u in group.users)
            groups = any(g in exists or g in created for g in group.groups)
            if users or groups:
                created.append(name)
                changed = True
    return created


def _diff_group(
    ctx: DiffContext,
    group: EntraGroup,
    matches: dict[str, Match],
    created: set[str],
    entra: EntraActual,
) -> None:
    name, match, plan = group.display_name, matches[group.display_name], ctx.plan
    if match.refusal:
        plan.notes.append(f'Entra group "{name}" is refused: {match.refusal}.')
        return
    record = match.record
    if record is None and name not in created:
        plan.notes.append(
            f'Entra group "{name}" is not created yet: none of its members has an Entra '
            "account (a group is created once it has a member)."
        )
        _skipped_notes(plan, group, entra)
        return
    description = group.description or None
    if record is None:
        given = {"description": FieldChange(None, description)} if description else {}
        plan.changes.append(EntraGroupChange("create", name, given, origin=group.origin))
    else:
        if match.adopt:
            plan.changes.append(
                EntraGroupChange(
                    "adopt",
                    name,
                    reason="an unmarked security group with this name exists",
                    origin=group.origin,
                )
            )
        fields: dict[str, FieldChange] = {}
        if record.display_name != name:  # found by its Git name: renamed in Git or by hand
            holders = [g.id for g in entra.groups if g.display_name == name and g.id != record.id]
            if holders:
                plan.notes.append(
                    f'Entra group "{record.display_name}" ({record.id}) is not renamed to '
                    f'"{name}": {", ".join(holders)} already has that name, and the export '
                    "never makes two groups of one name. Rename or delete that one in Entra ID."
                )
            else:
                fields["display_name"] = FieldChange(record.display_name, name)
        if group.description is not None and not same(description, record.description):
            fields["description"] = FieldChange(record.description, description)
        if not match.adopt and group.git_name and record.git_name != group.git_name:
            fields["git_name"] = FieldChange(record.git_name, group.git_name)  # the marker's
        if fields:
            plan.changes.append(EntraGroupChange("update", name, fields, origin=group.origin))
    _diff_members(ctx, group, record, matches, created, entra)


def _diff_members(
    ctx: DiffContext,
    group: EntraGroup,
    record: EntraGroupRecord | None,
    matches: dict[str, Match],
    created: set[str],
    entra: EntraActual,
) -> None:
    name, plan = group.display_name, ctx.plan
    held = entra.members.get(record.id, ()) if record is not None else ()
    held_ids = {m.id for m in held}
    wanted_ids: set[str] = set()
    for email in group.users:
        user_id = entra.user_id(email)
        if user_id is None:
            continue
        wanted_ids.add(user_id)
        if user_id not in held_ids:
            plan.changes.append(_member("add_member", name, email, "USER", group))
    for nested in group.groups:
        nested_match = matches.get(nested, Match())
        if nested_match.record is not None:
            wanted_ids.add(nested_match.record.id)
            if nested_match.record.id not in held_ids:
                plan.changes.append(_member("add_member", name, nested, "GROUP", group))
        elif nested in created:
            plan.changes.append(_member("add_member", name, nested, "GROUP", group))
        else:
            plan.notes.append(
                f'Entra group "{name}": its nested group "{nested}" is not in Entra ID '
                "(refused or not created yet), so it is not a member yet."
            )
    _skipped_notes(plan, group, entra)
    if group.additive:
        # `membership: additive`: Git's members are added, and no one is removed but the
        # users whose dated entry in Git has ended.
        ended = {entra.user_id(email) for email in group.ended} - {None}
        held = tuple(m for m in held if m.id in ended)
    protected = {a.lower() for a in ctx.workspace.protected}
    # Removals name a member by its name, with its object id where two share one, and act
    # on the id (the change's `object_id`): never on another object of the same name.
    names = Counter(m.name for m in held)
    for member in sorted(held, key=lambda m: (m.name, m.id)):
        if member.id in wanted_ids:
            continue
        if _is_protected(member, entra, protected):
            plan.notes.append(
                f'{member.name} stays in Entra group "{name}": it is protected '
                "(workspace.yaml `protected`)."
            )
            continue
        nested = matches.get(member.name) if member.kind == "group" else None
        if nested is not None and nested.refusal and member.name in group.groups:
            # Git nests it, but its name is refused: it is no member of ours to take away.
            plan.notes.append(
                f'Entra group "{name}": its member "{member.name}" ({member.id}) stays; the '
                "nested group of that name is refused."
            )
            continue
        kind = {"user": "USER", "group": "GROUP"}.get(member.kind, "OTHER")
        label = member.name if names[member.name] == 1 else f"{member.name} ({member.id})"
        removal = _member("remove_member", name, label, kind, group, member.id)
        if group.additive:  # only an ended dated entry is taken out of an additive group
            removal = replace(removal, reason="its dated entry in Git has ended")
        plan.changes.append(removal)


def _skipped_notes(plan: Plan, group: EntraGroup, entra: EntraActual) -> None:
    """Notes naming the members the export skips: users without an Entra account, external
    addresses."""
    name = group.display_name
    missing = [email for email in group.users if entra.user_id(email) is None]
    if missing:
        have = "has" if len(missing) == 1 else "have"
        plan.notes.append(
            f'Entra group "{name}": {_listed(missing)} {have} no Entra account (by '
            "userPrincipalName or mail), so the export skips them; it does not create users."
        )
    if group.external:
        plan.notes.append(
            f'Entra group "{name}": the export skips external {_listed(list(group.external))}; '
            "only the directory's users and groups are exported."
        )


def _member(
    action: str,
    group: str,
    member: str,
    kind: str,
    desired: EntraGroup,
    object_id: str | None = None,
) -> EntraMembershipChange:
    reason = "not in Git" if action == "remove_member" else None
    fields = {"object_id": FieldChange(object_id, None)} if object_id else {}
    return EntraMembershipChange(
        action,
        membership_key(group, member),
        fields,
        reason=reason,
        origin=desired.origin,
        group=group,
        member=member,
        member_type=kind,
    )


def _is_protected(member: EntraMember, entra: EntraActual, protected: set[str]) -> bool:
    if member.kind != "user":
        return False
    if member.name in protected:
        return True
    return any(entra.user_id(address) == member.id for address in protected)


def _left_behind(ctx: DiffContext, found: set[str], entra: EntraActual) -> None:
    for record in sorted(entra.groups, key=lambda g: g.display_name):
        if record.owner == ctx.ours and record.id not in found:
            count = len(entra.members.get(record.id, ()))
            ctx.plan.notes.append(
                f'Entra group "{record.display_name}" ({record.id}) is marked as ours but Git '
                f"no longer exports it; it is left as it is, with {count} members."
            )


def _listed(addresses: list[str]) -> str:
    shown = ", ".join(addresses[:_LISTED])
    more = len(addresses) - _LISTED
    count = f"{len(addresses)} member" + ("s" if len(addresses) != 1 else "")
    return f"{count} ({shown}{f', and {more} more' if more > 0 else ''})"

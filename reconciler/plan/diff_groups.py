"""Groups, in stages: claim a group for each Git group, decide what each needs (its
membership through memberships.py), name the groups that look left behind.

Exported groups match by email, alias, then previous email (the last two plan a rename, as
users do; see renames.py); membership is authoritative unless the group is additive. Groups
Git does not name are never touched, nor are groups another repository marks.
"""

from __future__ import annotations

from typing import NamedTuple

from reconciler.plan.change import FieldChange
from reconciler.plan.compare import same
from reconciler.plan.diff_context import ActualView, DiffContext
from reconciler.plan.kinds import GroupChange
from reconciler.plan.memberships import MemberRules, diff_members
from reconciler.plan.plan import Plan
from reconciler.plan.renames import (
    FOUND_BY,
    aliases_after_rename,
    find_by_address,
    rename_fields,
    too_many_aliases,
)
from reconciler.state import MAX_ALIASES, Group


class GroupMatch(NamedTuple):
    """A Git group, the group it finds (None: none, or one it must leave alone), and how:
    primary, alias, previous, pending; "" when none; "other" when another repository's,
    "capped" when a rename would pass the alias cap."""

    group: Group
    existing: Group | None
    how: str

    @property
    def created(self) -> bool:
        """The plan creates this group (Git's group found none, and has members)."""
        return self.existing is None and self.how != "other" and bool(self.group.members)


def diff_groups(context: DiffContext) -> None:
    """Group and membership changes, when workspace.yaml lets the tool manage groups."""
    if not context.workspace.directory.group_management:
        return
    renamed_groups: dict[str, str] = {}
    matches = [_claim(group, context, renamed_groups) for group in context.desired.groups.values()]
    rules = _member_rules(matches, renamed_groups, context)
    for match in matches:
        _decide(match, rules, context.plan)
        if match.how not in ("other", "capped") and (match.existing or match.created):
            context.groups[match.group.email] = (match.group, match.existing)
    _note_left_behind(matches, context.view, context.ours, context.plan)


# -- claim -----------------------------------------------------------------------------------


def _match_group(group: Group, view: ActualView) -> GroupMatch:
    """The group a desired group is, and how it was found."""
    groups = view.state.groups
    pending = view.pending.get("groups", {})
    primary, how = find_by_address(
        group.email, group.previous_emails, view.group_addresses, pending, groups
    )
    return GroupMatch(group, groups[primary] if primary is not None else None, how)


def _claim(group: Group, context: DiffContext, renamed_groups: dict[str, str]) -> GroupMatch:
    """The group Git's group is, unless another repository's or capped (then left alone);
    records the renames the plan makes."""
    match = _match_group(group, context.view)
    existing, how = match.existing, match.how
    if existing is None:
        return match
    if existing.owner not in (None, context.ours):
        context.plan.notes.append(
            f"group {group.email}: the group {existing.email} is managed by "
            f"'{existing.owner}', not by this repository; left alone"
        )
        return GroupMatch(group, None, "other")
    if how == "primary":
        return match
    held = aliases_after_rename(
        group.aliases, group.previous_emails, existing.aliases, group.email, existing.email
    )
    if len(held) > MAX_ALIASES:
        context.plan.notes.append(too_many_aliases("group", group.email, existing.email, held))
        context.staged.add(existing.email)  # left alone: its place in other groups too
        return GroupMatch(group, existing, "capped")
    renamed_groups[existing.email] = group.email
    return match


def _member_rules(
    matches: list[GroupMatch], renamed_groups: dict[str, str], context: DiffContext
) -> MemberRules:
    view, renamed_users = context.view, context.renamed_users
    # Users and groups Google will have: Git may list a user suspended before any account
    # existed, or an empty group, and neither is created, so adding them would fail.
    # A targeted read looks up members without reading them (state.elsewhere).
    elsewhere = view.state.elsewhere
    users = {*view.user_addresses, *renamed_users.values()}
    users.update(a for a, kind in elsewhere.items() if kind == "USER")
    users.update(
        c.key
        for c in context.plan.changes
        if c.kind == "user" and c.action in ("create", "undelete")
    )
    groups = {*view.group_addresses, *renamed_groups.values()}
    groups.update(a for a, kind in elsewhere.items() if kind == "GROUP")
    groups.update(m.group.email for m in matches if m.created)
    renames = {**renamed_users, **renamed_groups}
    listed = (view.user_addresses, view.group_addresses, elsewhere)
    leaving = context.offboard.leave_groups
    return MemberRules(renames, users, groups, context.staged, context.domains, listed, leaving)


# -- decide ----------------------------------------------------------------------------------


def _decide(match: GroupMatch, rules: MemberRules, plan: Plan) -> None:
    """What one Git group needs: create, or rename, adopt, update, and its members."""
    group, existing, how = match
    if how in ("other", "capped"):
        return
    if existing is None:
        _create_group(group, plan, rules)
        return
    renamed_from = existing.email if existing.email != group.email else None
    if renamed_from is not None:
        plan.changes.append(
            GroupChange(
                "rename",
                group.email,
                fields=rename_fields(how, existing.aliases, group.email, renamed_from),
                from_=renamed_from,
                reason=FOUND_BY.get(how),
                origin=group.origin,
            )
        )
    if existing.owner is None:
        reason = "takeover of an existing group"
        plan.changes.append(GroupChange("adopt", group.email, reason=reason, origin=group.origin))
    fields = _group_fields(group, existing, renamed_from)
    if fields:
        plan.changes.append(GroupChange("update", group.email, fields, origin=group.origin))
    diff_members(group, existing.members, rules, plan)


def _create_group(group: Group, plan: Plan, rules: MemberRules) -> None:
    if not group.members:
        # JumpCloud's rule: a group is exported once it has someone in it.
        plan.notes.append(f"group {group.email}: not created while it has no members")
        return
    fields = {"name": FieldChange(None, group.name)}
    if group.description:
        fields["description"] = FieldChange(None, group.description)
    if group.aliases:
        fields["aliases"] = FieldChange((), group.aliases)
    plan.changes.append(GroupChange("create", group.email, fields, origin=group.origin))
    diff_members(group, {}, rules, plan)


def _group_fields(group: Group, existing: Group, renamed_from: str | None):
    fields: dict[str, FieldChange] = {}
    if group.name != existing.name:
        fields["name"] = FieldChange(existing.name, group.name)
    if group.description is not None and not same(group.description, existing.description):
        fields["description"] = FieldChange(existing.description, group.description)
    if group.aliases is not None:
        have = set(existing.aliases or ())
        if renamed_from is not None:
            have = (have - {group.email}) | {renamed_from}
        want = set(group.aliases) | (set(group.previous_emails) & have)
        if want != have:
            fields["aliases"] = FieldChange(tuple(sorted(have)), tuple(sorted(want)))
    return fields


# -- left behind -----------------------------------------------------------------------------


def _note_left_behind(matches: list[GroupMatch], view: ActualView, ours: str, plan: Plan) -> None:
    """Groups Git stopped naming are never touched; say so where one looks left behind (a
    group of ours that no Git group matches, or a namesake of a group being created)."""
    matched = {m.existing.email for m in matches if m.existing is not None}
    created: dict[str, list[str]] = {}
    for m in matches:
        if m.created:
            created.setdefault(m.group.name, []).append(m.group.email)
    for group in view.state.groups.values():
        if group.email in matched:
            continue
        if group.owner == ours:
            why = "is managed by this repository but no longer in Git"
        elif group.owner is None and group.name in created:
            why = (
                f"has the name of {', '.join(sorted(created[group.name]))}, which the plan creates"
            )
        else:
            continue
        plan.notes.append(_left_behind_note(group, why))


def _left_behind_note(group: Group, why: str) -> str:
    # Its members are not read (Git does not name it); the listing says how many.
    count = group.direct_members_count
    if count is None:
        count = len(group.members)
    return (
        f"group {group.email} {why}; it keeps its {count} member"
        f"{'' if count == 1 else 's'}: if its email changed, add {group.email} to the "
        "group's previous_emails, or delete the old group in Google"
    )

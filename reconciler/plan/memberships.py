"""The membership changes of one group: Git's members against Google's, compared by
canonical address, following accounts and groups through the plan's renames."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from reconciler.plan.change import FieldChange
from reconciler.plan.kinds import MembershipChange
from reconciler.plan.plan import Plan
from reconciler.state import ROLE_RANK, Group, Member, canonical_address


@dataclass(frozen=True)
class MemberRules:
    """What membership changes need beyond the two groups' member lists."""

    renames: dict[str, str]  # old address -> new, for accounts and groups the plan renames
    users: set[str]  # users Google will have
    groups: set[str]  # groups Google will have
    staged: set[str]  # accounts whose memberships stay as Google has them
    domains: frozenset[str] = frozenset()  # directory.domains
    listed: tuple[Mapping[str, str], ...] = ()  # addresses of the users and groups Google listed
    # Accounts offboarding takes out of every managed group (additive ones too) -> why.
    leaving: Mapping[str, str] = field(default_factory=dict)

    def unresolved(self, member: Member) -> bool:
        """A member Google holds that names no account Git could mean: the customer (every
        user), or an address in our domains that no listed user or group has (Google lists
        it without status; fetch has made sure it is no short read)."""
        if member.type == "CUSTOMER":
            return True
        if member.email.rpartition("@")[2] not in self.domains:
            return False  # external: Git names these by address
        return not any(member.email in addresses for addresses in self.listed)

    def will_exist(self, member: Member) -> bool:
        """Google will have the user or group: Git may list a user suspended before any
        account existed, or an empty group, and neither is created."""
        if member.type == "USER":
            return member.email in self.users
        if member.type == "GROUP":
            return member.email in self.groups
        return True


def diff_members(group: Group, actual: dict[str, Member], rules: MemberRules, plan: Plan) -> None:
    """Adds and role updates for Git's members of `group`, then removals of the others
    (unless the group is additive)."""
    # Members follow accounts through renames: compare with the addresses they will have.
    have = {rules.renames.get(email, email): m for email, m in actual.items()}
    wanted = {
        key: m for key, m in _wanted_members(group.members).items() if m.email not in rules.leaving
    }
    _add_and_update(group, have, wanted, rules, plan)
    ended = {canonical_address(a): why for a, why in group.expired.items()}
    if not group.additive:
        _remove(group, have, wanted, rules, plan, ended)
    else:
        # Additive keeps the members Git does not list, but not those offboarding takes
        # out, nor those whose dated entry in Git has ended.
        going = {
            e: m for e, m in have.items() if e in rules.leaving or canonical_address(e) in ended
        }
        _remove(group, going, wanted, rules, plan, ended)


def _add_and_update(
    group: Group,
    have: dict[str, Member],
    wanted: dict[str, Member],
    rules: MemberRules,
    plan: Plan,
) -> None:
    # Compared by canonical address: one Gmail account has many spellings, and Google lists
    # it under its own, not the one it was added by. Google's members by that key:
    listed = {canonical_address(email): email for email in have}
    for key, member in wanted.items():
        held = listed.get(key)
        if held is None:
            if rules.will_exist(member):
                # By Git's spelling: Google takes any spelling of an address on insert.
                plan.changes.append(_member_change("add_member", group, member, member.role))
            continue
        current = have[held]
        if current.role != member.role and member.email not in rules.staged:
            role = {"role": FieldChange(current.role, member.role)}
            # By the address Google lists (the same as Git's but for a Gmail spelling).
            listed_as = replace(member, email=held)
            plan.changes.append(
                _member_change("update_member", group, listed_as, member.role, role)
            )


def _remove(
    group: Group,
    have: dict[str, Member],
    wanted: dict[str, Member],
    rules: MemberRules,
    plan: Plan,
    ended: dict[str, str],
) -> None:
    for email, member in have.items():
        key = canonical_address(email)
        if key in wanted:
            continue
        if email in rules.staged and key not in ended:
            continue  # a staged account keeps its memberships, but not one Git ended
        if rules.unresolved(member):
            plan.notes.append(_kept_note(group, member))
            continue
        # By the address it will have: the plan may also drop the old one from its aliases.
        # For a Gmail account, the spelling Google lists it under.
        gone = replace(member, email=email)
        change = _member_change("remove_member", group, gone, member.role)
        why = rules.leaving.get(email) or ended.get(key)
        plan.changes.append(replace(change, reason=why) if why else change)


def _wanted_members(members: dict[str, Member]) -> dict[str, Member]:
    """Git's members by canonical address. Two spellings of one Gmail account are one
    member (validation warns): the smaller spelling, with the higher role."""
    out: dict[str, Member] = {}
    for email, member in members.items():
        key = canonical_address(email)
        kept = out.get(key)
        if kept is None:
            out[key] = member
        else:
            role = max(kept.role, member.role, key=ROLE_RANK.__getitem__)
            out[key] = replace(kept, email=min(kept.email, email), role=role)  # type: ignore[arg-type]
    return out


def _kept_note(group: Group, member: Member) -> str:
    if member.type == "CUSTOMER":
        what = "the customer (every user of the tenant), a member Git cannot name"
    else:
        what = "listed by Google with no user or group behind it, so Git cannot name it"
    return (
        f"group {group.email}: member {member.email} is kept: {what}; remove it in the Admin "
        "console if it should go"
    )


def _member_change(
    action, group: Group, member: Member, role: str, fields=None
) -> MembershipChange:
    return MembershipChange(
        action,
        f"{group.email}/{member.email}",
        fields or {},
        group=group.email,
        member=member.email,
        role=role,
        member_type=member.type,
        origin=group.origin,
    )

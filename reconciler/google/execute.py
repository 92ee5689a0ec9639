"""The Directory API's side of an apply: each change becomes one or more Calls, sent a
batch at a time.

Addresses are released before they are claimed, across the whole plan: every alias removal
runs first (users and groups; an alias a rename takes as the new address too), then the
renames, then the removals of the old addresses Git drops after a rename, and only then the
creates and alias additions. Google frees a released address a while later, so a claim of one
released in this run waits for it (Call.after_release). A change whose removal failed fails
as a whole, its other calls not tried.

A restored (undeleted) account, and the new address of a renamed user or group, are treated
like one created in this run: Google may not find them yet, so their updates, alias removals
and memberships say so (after_create), and a "not found" about them means "not yet", never
"already gone". An alias claim answered 409 is done when its owner holds the address
(`_execute`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from reconciler.apply.context import ChangeResult, Context
from reconciler.google import ops
from reconciler.google.client import Call, GoogleClient, Outcome
from reconciler.onboarding import GMAIL_SEND_SCOPE, compose, render
from reconciler.plan.change import Change
from reconciler.plan.kinds import (
    GroupChange,
    MembershipChange,
    OrgUnitChange,
    RenamableChange,
    UserChange,
)
from reconciler.plan.offboarding import now_text
from reconciler.plan.plan import Plan
from reconciler.problems import ReconcilerError
from reconciler.state import Group, OrgUnit, User
from reconciler.target import Run


def _is_transfer(call: Call) -> bool:
    return str(getattr(call.request, "methodId", "")).startswith("datatransfer.")


def _is_mail(call: Call) -> bool:
    return str(getattr(call.request, "methodId", "")).startswith("gmail.")


# A change's calls: the first ones, and follow-ups, each a round sent only once every
# earlier call of the change succeeded (the aliases of a new account).
Calls = tuple[list[Call], list[Callable[[], list[Call]]]]

# Alias removals run before this phase (the first that claims an address)...
FIRST_RENAME = UserChange.phases["rename"]
# ...and the old addresses renames leave as aliases are removed after this one.
LAST_RENAME = GroupChange.phases["rename"]


def new_password() -> str:
    """24 random URL-safe characters; the user must change it at first login."""
    return secrets.token_urlsafe(18)


class DirectoryRunner:
    """Applies the plan's users, groups, org units and memberships through the Directory
    API, releasing addresses before they are claimed."""

    def __init__(self, plan: Plan, ctx: Context, run: Run):
        self.plan = plan
        self.ctx = ctx
        self.run = run
        # Created, or renamed to, in this run: Google may not find the address yet, so "not
        # found" means "not yet" (and not "already gone").
        self.created: set[str] = set()
        # An account renamed in this run is known under its new address from then on.
        self.actual_by_key: dict[str, User] = dict(ctx.actual.users)
        self.groups_by_key: dict[str, Group] = dict(ctx.actual.groups)
        # Addresses released in this run (or an earlier unfinished one): claims wait for them.
        self.released: set[str] = set(ctx.released)
        # What the release passes did for a change (by id): errors fail it, notes stay.
        self.release_errors: dict[int, list[str]] = {}
        self.release_notes: dict[int, list[str]] = {}
        self._renamed_from: dict[tuple[str, str], str] = {}  # (kind, new) -> old, this plan's
        self._stage = 0  # the release passes run: before the renames (0), after them (1)
        self._applications: list[dict[str, Any]] | None = None  # Data Transfer's, when needed
        # The passwords of the accounts this run created, for their sign-in messages: in
        # memory only, for this run (the `notify` changes after the creates).
        self.passwords: dict[str, str] = {}
        self._mailer: GoogleClient | None = None
        # The accounts whose create carries the mark of a sign-in message to send, its way.
        self.pending: dict[str, str] = {
            c.key: c.fields["via"].new
            for c in plan.changes
            if isinstance(c, UserChange) and c.action == "notify" and "reset" not in c.fields
        }

    # -- the passes around the renames -----------------------------------------------------------

    def before_phase(self, rank: int) -> None:
        if self._stage == 0 and rank >= FIRST_RENAME:
            self.release(before_renames=True)
            self._stage = 1
        if self._stage == 1 and rank > LAST_RENAME:
            self.release(before_renames=False)
            self._stage = 2

    def finish(self) -> None:
        if self._stage == 0:
            self.release(before_renames=True)
        if self._stage < 2:
            self.release(before_renames=False)
        self._stage = 2

    # -- releasing addresses before they are claimed -------------------------------------------

    def release(self, *, before_renames: bool) -> None:
        """Run the alias removals of the plan that belong to this pass, all at once."""
        changes = self.plan.changes
        self._renamed_from = {
            (c.kind, c.key): c.from_
            for c in changes
            if isinstance(c, RenamableChange) and c.action == "rename" and c.from_
        }
        work: list[tuple[RenamableChange, Call, str]] = []
        for change in changes:
            if not isinstance(change, RenamableChange):
                continue
            if id(change) in self.release_errors or self.run.blocked_by(change):
                continue
            for owner, alias in self._releases(change, before_renames):
                work.append((change, self._remove_alias(change.kind, owner, alias), alias))
        if not work:
            return
        for change in {id(c): c for c, _, _ in work}.values():
            if change.action == "rename" and self._lost_without_alias(change):
                self.ctx.on_rename_begun(change.kind, change.key, change.from_ or "")
        self.run.started([c for c, _, _ in work])
        outcomes = self.ctx.client.execute_all([call for _, call, _ in work])
        for (change, call, alias), outcome in zip(work, outcomes, strict=True):
            if not outcome.ok:
                self.release_errors.setdefault(id(change), []).append(
                    f"{call.label}: {outcome.error}"
                )
                continue
            self.released.add(alias)
            if outcome.note:
                self.release_notes.setdefault(id(change), []).append(
                    f"{call.label}: {outcome.note}"
                )

    def _releases(self, change: RenamableChange, before_renames: bool) -> list[tuple[str, str]]:
        """(the address that finds the owner, the alias to remove) for one pass."""
        field_change = change.fields.get("aliases")
        if field_change is None:
            return []
        old, new = set(field_change.old or ()), set(field_change.new or ())
        if change.action == "rename":
            # Google refuses a rename to an own alias: it goes first.
            own = before_renames and change.key in old and change.from_
            return [(change.from_ or "", change.key)] if own else []
        if change.action != "update":
            return []
        gone = old - new
        renamed_from = self._renamed_from.get((change.kind, change.key))
        if before_renames:  # what the account holds now, found by its address now
            return [(renamed_from or change.key, a) for a in sorted(gone - {renamed_from})]
        return [(change.key, renamed_from)] if renamed_from in gone else []

    def _remove_alias(self, kind: str, owner: str, alias: str) -> Call:
        remove = ops.remove_user_alias if kind == "user" else ops.remove_group_alias
        # An owner renamed in this run may not be found by its new address yet: a 404 then
        # means "not yet", not "already gone".
        return remove(self.ctx.client, owner, alias, after_create=owner in self.created)

    def _lost_without_alias(self, change: RenamableChange) -> bool:
        """Whether a plan made after this rename's alias is removed, and before the rename,
        would not find the account (Git does not list its old address as a previous one)."""
        desired = self.ctx.desired.users if change.kind == "user" else self.ctx.desired.groups
        entry = desired.get(change.key)
        return entry is None or change.from_ not in entry.previous_emails

    def _claiming(self, call: Call, address: str) -> Call:
        """`call` claims `address`: if this run released it, Google may not have freed it."""
        if address in self.released:
            call.after_release = True
        return call

    # -- one phase ---------------------------------------------------------------------------

    def run_phase(self, changes: list[Change]) -> None:
        # A batch of changes at a time, each reported when done: a run interrupted or killed
        # mid-phase has results and audit records for all it finished, not only whole phases.
        size = self.ctx.client.batch_size
        for start in range(0, len(changes), size):
            self._run_part(changes[start : start + size])

    def _run_part(self, changes: list[Change]) -> None:
        todo: list[tuple[Change, list[Call], list[Callable[[], list[Call]]]]] = []
        for change in changes:
            blocker = self.run.blocked_by(change)
            if blocker:
                # A skipped creation blocks its own dependents too (the members of a user
                # whose org unit failed), or they would be tried against nothing.
                self.run.finished(ChangeResult(change, "skipped", blocker))
                continue
            unreleased = self.release_errors.get(id(change))
            if unreleased:
                # Its alias removal failed: the rest of it is not tried.
                notes = self.release_notes.get(id(change), [])
                self.run.finished(ChangeResult(change, "failed", "; ".join(unreleased), notes))
                continue
            try:
                first, later = _CALLS[type(change)][change.action](self, change)
            except (ops.TransferRefused, ops.NotifyRefused) as refused:
                self.run.finished(ChangeResult(change, "failed", str(refused)))
                continue
            todo.append((change, first, later))
        errors: dict[int, list[str]] = {}
        notes: dict[int, list[str]] = {
            i: list(self.release_notes[id(c)])
            for i, (c, _, _) in enumerate(todo)
            if id(c) in self.release_notes
        }
        round_calls = [(i, c) for i, (_, first, _) in enumerate(todo) for c in first]
        self.run.started([c for c, _, _ in todo])
        follow_ups = {i: later for i, (_, _, later) in enumerate(todo)}
        while round_calls:
            outcomes = self._execute([c for _, c in round_calls])
            for (i, _), outcome in zip(round_calls, outcomes, strict=True):
                if not outcome.ok:
                    errors.setdefault(i, []).append(f"{outcome.call.label}: {outcome.error}")
                elif outcome.note:
                    notes.setdefault(i, []).append(f"{outcome.call.label}: {outcome.note}")
            # Follow-up calls (aliases of a new account, say) only after their change's
            # earlier calls all succeeded.
            round_calls = []
            for i, later in follow_ups.items():
                if later and i not in errors:
                    round_calls += [(i, c) for c in later.pop(0)()]
        for i, (change, _, _) in enumerate(todo):
            if i in errors:
                error = "; ".join(errors[i])
                self.run.finished(ChangeResult(change, "failed", error, notes.get(i, [])))
            else:
                self._succeeded(change)
                said = notes.get(i, [])
                if change.action == "notify":  # the audit record says to whom, never what
                    said = [*said, f"notified {change.fields['recipient'].new}"]
                self.run.finished(ChangeResult(change, "applied", None, said))

    def _execute(self, calls: list[Call]) -> list[Outcome]:
        """Run `calls`; an alias claim answered "already exists" is done when its owner
        holds the address (an earlier, killed run's write landed after this run read)."""
        outcomes = self._by_api(calls)
        for n, outcome in enumerate(outcomes):
            call = outcome.call
            if outcome.ok or outcome.status != 409 or not isinstance(call, ops.AliasClaim):
                continue
            if ops.holds_alias(self.ctx.client, call.owner_kind, call.owner, call.alias):
                note = f"{call.owner} holds {call.alias} already"
                outcomes[n] = Outcome(call, True, note=note, status=409, attempts=outcome.attempts)
        return outcomes

    def _by_api(self, calls: list[Call]) -> list[Outcome]:
        """Run `calls`, each through the client of its API (Directory, Data Transfer: one
        batch request holds the calls of one API), in their order."""
        if any(_is_mail(c) for c in calls):
            # Sign-in messages go one at a time, as `onboarding.from` (its own client).
            mail = [i for i, c in enumerate(calls) if _is_mail(c)]
            rest = [i for i in range(len(calls)) if i not in set(mail)]
            found: dict[int, Outcome] = dict(
                zip(rest, self._by_api([calls[i] for i in rest]), strict=True)
            )
            assert self._mailer is not None
            for i in mail:
                found[i] = self._mailer.execute(calls[i])
            return [found[i] for i in range(len(calls))]
        transfers = [i for i, c in enumerate(calls) if _is_transfer(c)]
        if not transfers:
            return self.ctx.client.execute_all(calls)
        others = [i for i in range(len(calls)) if i not in set(transfers)]
        outcomes: list[Outcome | None] = [None] * len(calls)
        for ids, client in ((others, self.ctx.client), (transfers, self.ctx.client.transfers)):
            if ids:
                for i, outcome in zip(
                    ids, client.execute_all([calls[i] for i in ids]), strict=True
                ):
                    outcomes[i] = outcome
        return [o for o in outcomes if o is not None]

    def _succeeded(self, change: Change) -> None:
        if change.action in ("create", "undelete", "rename"):
            self.created.add(change.key)
        if isinstance(change, UserChange) and change.action == "undelete":
            # Back with the values it had when deleted: later updates merge into those.
            self.actual_by_key[change.key] = self.ctx.actual.deleted_users[change.key]
        if isinstance(change, UserChange) and change.action == "rename" and change.from_:
            account = self.actual_by_key.pop(change.from_, None)
            if account is not None:
                self.actual_by_key[change.key] = account
        if isinstance(change, GroupChange) and change.action == "rename" and change.from_:
            group = self.groups_by_key.pop(change.from_, None)
            if group is not None:
                self.groups_by_key[change.key] = group
        if change.action == "rename":
            self.ctx.on_rename_done(change.kind, change.key)

    # -- calls of one change -----------------------------------------------------------------

    def _create_unit(self, change: OrgUnitChange) -> Calls:
        desc = change.fields.get("description")
        unit = OrgUnit(change.key, desc.new if desc else None)
        return [ops.create_org_unit(self.ctx.client, self.ctx.customer, unit)], []

    def _update_unit(self, change: OrgUnitChange) -> Calls:
        desc, name = change.fields.get("description"), change.fields.get("name")
        call = ops.update_org_unit(
            self.ctx.client,
            self.ctx.customer,
            change.key,
            desc.new if desc else None,
            name=name.new if name else None,
        )
        return [call], []

    def _create_user(self, change: UserChange) -> Calls:
        c, ctx, key = self.ctx.client, self.ctx, change.key
        user = ctx.desired.users[key]
        password = new_password()
        create = ops.create_user(c, user, ctx.ownership_id, password, self.pending.get(key))
        call = self._claiming(create, key)
        aliases = list(user.aliases or ())
        ctx.on_password(key, password)  # recorded before the create goes out
        self.passwords[key] = password

        def then() -> list[Call]:
            return [
                self._claiming(ops.add_user_alias(c, key, a, after_create=True), a) for a in aliases
            ]

        return [call], [then]

    def _undelete_user(self, change: UserChange) -> Calls:
        gone = self.ctx.actual.deleted_users[change.key]  # restored by the immutable id only
        unit = change.fields.get("org_unit")
        call = ops.undelete_user(
            self.ctx.client, gone.id or "", change.key, unit.new if unit else None
        )
        return [call], []

    def _rename_user(self, change: UserChange) -> Calls:
        call = ops.rename_user(self.ctx.client, change.from_ or "", change.key)
        return [self._claiming(call, change.key)], []

    def _adopt_user(self, change: UserChange) -> Calls:
        fresh = change.key in self.created
        call = ops.adopt_user(
            self.ctx.client, change.key, self.ctx.ownership_id, after_create=fresh
        )
        return [call], []

    def _suspend_user(self, change: UserChange) -> Calls:
        fresh = change.key in self.created
        call = ops.suspend_user(self.ctx.client, change.key, after_create=fresh, when=self._now())
        return [call], []

    def _now(self) -> str:
        return now_text(self.ctx.now())

    def _sign_out(self, change: UserChange) -> Calls:
        # Signed out first, recorded after: a run killed between the two signs out again.
        c, key = self.ctx.client, change.key
        when = self._now()
        return [ops.sign_out_user(c, key)], [lambda: [ops.record_signed_out(c, key, when)]]

    def _revoke_tokens(self, change: UserChange) -> Calls:
        c, key = self.ctx.client, change.key
        tokens, asps = change.fields.get("tokens"), change.fields.get("app_passwords")
        calls = [ops.revoke_token(c, key, t) for t in (tokens.old if tokens else ()) or ()]
        calls += [ops.delete_asp(c, key, str(a)) for a in (asps.old if asps else ()) or ()]
        if "backup_codes" in change.fields:
            calls.append(ops.invalidate_backup_codes(c, key))
        return calls, []

    def _transfer_data(self, change: UserChange) -> Calls:
        c, key = self.ctx.client, change.key
        account = self.actual_by_key.get(key)
        to = change.fields["to"].new
        recipient = self.ctx.actual.users.get(to)
        if account is None or not account.id or recipient is None or not recipient.id:
            raise ReconcilerError(f"transfer_data {key}: the accounts' ids were not read")
        if self._applications is None:
            self._applications = ops.applications(c, self.ctx.customer)
        call = ops.transfer_data(c, key, account.id, to, recipient.id, self._applications)
        return [call], []

    def _require_password_change(self, change: UserChange) -> Calls:
        return [ops.require_password_change(self.ctx.client, change.key, self._now())], []

    def _notify(self, change: UserChange) -> Calls:
        """The account's sign-in details, sent as `onboarding.from` to the recipient the plan
        names: with the password this run's create set, or (`reset`: an account whose
        message an earlier run did not send) a new one set first. Then its marker no longer
        says a message waits."""
        c, key, policy = self.ctx.client, change.key, self.ctx.onboarding
        fresh = key in self.created
        reset = "reset" in change.fields
        password = new_password() if reset else self.passwords.get(key)
        if password is None:
            raise ops.NotifyRefused(
                f"notify {key}: no password of this run (the account was not created by it)"
            )
        if policy is None or policy.sender is None:
            raise ops.NotifyRefused(f"notify {key}: workspace.yaml's onboarding.from is not set")
        recipient = change.fields["recipient"].new
        user = self.ctx.desired.users[key]
        name = " ".join(p for p in (user.given_name, user.family_name) if p) or key
        try:
            text = render(self.ctx.onboarding_template, name=name, email=key, password=password)
            raw = compose(policy.sender, recipient, policy.subject, text)
        except ValueError as exc:  # a message the email library refuses to write
            raise ops.NotifyRefused(f"notify {key}: the message cannot be written: {exc}") from None
        try:
            mailer = self._mailer = c.mail_as(policy.sender, GMAIL_SEND_SCOPE)
        except ReconcilerError as exc:
            raise ops.NotifyRefused(f"notify {key}: {exc}") from None
        send = ops.send_message(mailer, raw, recipient, key)
        cleared = ops.sent_sign_in(c, key, after_create=fresh)
        if not reset:
            return [send], [lambda: [cleared]]
        self.ctx.on_password(key, password)  # the operator's file has it too, if asked for
        return [ops.reset_password(c, key, password, fresh)], [lambda: [send], lambda: [cleared]]

    def _unsuspend_user(self, change: UserChange) -> Calls:
        fresh = change.key in self.created
        return [ops.unsuspend_user(self.ctx.client, change.key, after_create=fresh)], []

    def _delete_user(self, change: UserChange) -> Calls:
        return [ops.delete_user(self.ctx.client, change.key)], []

    def _update_user(self, change: UserChange) -> Calls:
        # Attributes in one patch, added aliases one call each (removals ran first).
        c, key, fresh = self.ctx.client, change.key, change.key in self.created
        attrs = {n: fc.new for n, fc in change.fields.items() if n != "aliases"}
        calls = []
        if attrs:
            current = self.actual_by_key.get(key)
            calls.append(ops.update_user(c, key, attrs, current, after_create=fresh))
        calls += self._alias_adds(change, ops.add_user_alias, fresh)
        return calls, []

    def _create_group(self, change: GroupChange) -> Calls:
        c, key = self.ctx.client, change.key
        desired: Group = self.ctx.desired.groups[key]
        aliases = list(desired.aliases or ())

        def then() -> list[Call]:
            return [
                self._claiming(ops.add_group_alias(c, key, a, after_create=True), a)
                for a in aliases
            ]

        call = ops.create_group(c, desired, self.ctx.ownership_id)
        return [self._claiming(call, key)], [then]

    def _rename_group(self, change: GroupChange) -> Calls:
        call = ops.rename_group(self.ctx.client, change.from_ or "", change.key)
        return [self._claiming(call, change.key)], []

    def _adopt_group(self, change: GroupChange) -> Calls:
        key, fresh = change.key, change.key in self.created
        description = self._group_description(key)
        ours = self.ctx.ownership_id
        return [ops.adopt_group(self.ctx.client, key, description, ours, after_create=fresh)], []

    def _update_group(self, change: GroupChange) -> Calls:
        c, key, fresh = self.ctx.client, change.key, change.key in self.created
        ours = self.ctx.ownership_id
        attrs = {n: fc.new for n, fc in change.fields.items() if n != "aliases"}
        calls = [ops.update_group(c, key, attrs, ours, after_create=fresh)] if attrs else []
        calls += self._alias_adds(change, ops.add_group_alias, fresh)
        return calls, []

    def _add_member(self, change: MembershipChange) -> Calls:
        group, member = change.group or "", change.member or ""
        call = ops.add_member(
            self.ctx.client,
            group,
            member,
            change.role or "MEMBER",
            new_group=group in self.created,
            new_member=member in self.created,
        )
        return [call], []

    def _update_member(self, change: MembershipChange) -> Calls:
        group, member = change.group or "", change.member or ""
        role = change.role or "MEMBER"
        new_group, new_member = group in self.created, member in self.created
        return [ops.update_member(self.ctx.client, group, member, role, new_group, new_member)], []

    def _remove_member(self, change: MembershipChange) -> Calls:
        group, member = change.group or "", change.member or ""
        new_group, new_member = group in self.created, member in self.created
        return [ops.remove_member(self.ctx.client, group, member, new_group, new_member)], []

    def _alias_adds(self, change: RenamableChange, add: Any, fresh: bool) -> list[Call]:
        field_change = change.fields.get("aliases")
        if field_change is None:
            return []
        old, new = set(field_change.old or ()), set(field_change.new or ())
        client = self.ctx.client
        return [
            self._claiming(add(client, change.key, a, after_create=fresh), a)
            for a in sorted(new - old)
        ]

    def _group_description(self, key: str) -> str | None:
        """The description an adopted group keeps: Git's when Git manages it, else Google's."""
        desired = self.ctx.desired.groups.get(key)
        if desired is not None and desired.description is not None:
            return desired.description
        existing = self.groups_by_key.get(key)
        return existing.description if existing is not None else None


# The calls of each action of each kind: every action a kind allows, and no other.
_CALLS: dict[type[Change], dict[str, Callable[[DirectoryRunner, Any], Calls]]] = {
    OrgUnitChange: {"create": DirectoryRunner._create_unit, "update": DirectoryRunner._update_unit},
    UserChange: {
        "create": DirectoryRunner._create_user,
        "undelete": DirectoryRunner._undelete_user,
        "rename": DirectoryRunner._rename_user,
        "adopt": DirectoryRunner._adopt_user,
        "update": DirectoryRunner._update_user,
        "suspend": DirectoryRunner._suspend_user,
        "unsuspend": DirectoryRunner._unsuspend_user,
        "delete": DirectoryRunner._delete_user,
        "sign_out": DirectoryRunner._sign_out,
        "revoke_tokens": DirectoryRunner._revoke_tokens,
        "transfer_data": DirectoryRunner._transfer_data,
        "require_password_change": DirectoryRunner._require_password_change,
        "notify": DirectoryRunner._notify,
    },
    GroupChange: {
        "create": DirectoryRunner._create_group,
        "rename": DirectoryRunner._rename_group,
        "adopt": DirectoryRunner._adopt_group,
        "update": DirectoryRunner._update_group,
    },
    MembershipChange: {
        "add_member": DirectoryRunner._add_member,
        "update_member": DirectoryRunner._update_member,
        "remove_member": DirectoryRunner._remove_member,
    },
}
for _type, _actions in _CALLS.items():
    if set(_actions) != set(_type.phases):
        raise AssertionError(f"the Directory target's calls do not cover {_type.kind} exactly")

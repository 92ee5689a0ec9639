"""Execute a Plan against Google: phase by phase, batched, dependents of failures skipped.

Each Change becomes one or more Calls (a user create, then its aliases). A phase runs a batch
of changes at a time, and their results are reported as each batch ends; a change whose
prerequisite failed or was skipped in this run (its org unit, its user's creation, restore or
rename, its group's creation) is skipped, not attempted. A restored (undeleted) account, and
the new address of a renamed user or group, are treated like one created in this run: Google
may not find them yet, so their updates, alias removals and memberships wait for them, and a
"not found" about them means "not yet", never "already gone".

Addresses are released before they are claimed, across the whole plan: every alias removal
runs first (users and groups; an alias a rename takes as the new address too), then the
renames, then the removals of the old addresses Git drops after a rename, and only then the
creates and alias additions. Google frees a released address a while later, so a claim of one
released in this run waits for it (Call.after_release). A change whose removal failed fails
as a whole, its other calls not tried.

Intent comes before each write: the password of an account is handed to `on_password`, and
the changes of a batch to `on_started`, before the batch is sent; `on_result` follows. A run
stopped in between leaves started changes without a result (reconciler.apply.run records
both). An alias claim answered 409 is done when its owner holds the address (`_execute`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from reconciler.google import ops
from reconciler.google.client import Call, GoogleClient, Outcome
from reconciler.plan.change import Change
from reconciler.plan.kinds import PHASE_RANK
from reconciler.plan.plan import Plan
from reconciler.progress import Progress
from reconciler.state import Group, OrgUnit, State, User

Result = Literal["applied", "failed", "skipped"]


@dataclass
class ChangeResult:
    change: Change
    result: Result
    error: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Context:
    """What the executor needs besides the plan."""

    client: GoogleClient
    desired: State
    actual: State
    ownership_id: str
    customer: str
    # Called with (email, password) for every account about to be created, before on_started
    # and the create are: the password is recorded before Google has the account.
    on_password: Callable[[str, str], None] = lambda _email, _password: None
    # Called with the changes whose first write is about to be sent, before it is (intent
    # records); each gets its on_result later, unless the run is stopped first.
    on_started: Callable[[list[Change]], None] = lambda _changes: None
    # Called with each result as soon as it is known (audit records, progress).
    on_result: Callable[[ChangeResult], None] = lambda _r: None
    # Called with (kind, new, old) before the alias `new` of `old` is removed for a rename
    # that nothing else would find again if the run stopped there, and with (kind, new)
    # once that rename is done (see reconciler.apply.pending).
    on_rename_begun: Callable[[str, str, str], None] = lambda _k, _new, _old: None
    on_rename_done: Callable[[str, str], None] = lambda _k, _new: None
    # Addresses an earlier, unfinished run released: Google may not have freed them yet.
    released: frozenset[str] = frozenset()


def new_password() -> str:
    """24 random URL-safe characters; the user must change it at first login."""
    return secrets.token_urlsafe(18)


# Alias removals run before this phase (the first that claims an address)...
_FIRST_RENAME = PHASE_RANK[("user", "rename")]
# ...and the old addresses renames leave as aliases are removed after this one.
_LAST_RENAME = PHASE_RANK[("group", "rename")]


def execute_plan(plan: Plan, ctx: Context) -> list[ChangeResult]:
    """Apply every change of `plan` in order; return one result per change."""
    runner = _Runner(ctx)
    shown = Progress("Applying changes")
    stage = 0  # the release passes run: before the renames (0), after them (1)
    for phase in _phases(plan.changes):
        if stage == 0 and phase[0].phase >= _FIRST_RENAME:
            runner.release(plan.changes, before_renames=True)
            stage = 1
        if stage == 1 and phase[0].phase > _LAST_RENAME:
            runner.release(plan.changes, before_renames=False)
            stage = 2
        runner.run_phase(phase)
        shown.add(len(phase))
    if stage == 0:
        runner.release(plan.changes, before_renames=True)
    if stage < 2:
        runner.release(plan.changes, before_renames=False)
    shown.done()
    return runner.results


def _phases(changes: list[Change]) -> list[list[Change]]:
    phases: list[list[Change]] = []
    for change in changes:
        if phases and phases[-1][0].phase == change.phase:
            phases[-1].append(change)
        else:
            phases.append([change])
    return phases


class _Runner:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.results: list[ChangeResult] = []
        # User/group emails and OU paths whose creation (or rename, adoption) did not happen
        # in this run -> "failed" or "skipped".
        self.failed: dict[str, str] = {}
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
        self.started: set[int] = set()  # ids of the changes whose writes began

    # -- releasing addresses before they are claimed -------------------------------------------

    def release(self, changes: list[Change], *, before_renames: bool) -> None:
        """Run the alias removals of `changes` that belong to this pass, all at once."""
        self._renamed_from = {
            (c.kind, c.key): c.from_ for c in changes if c.action == "rename" and c.from_
        }
        work: list[tuple[Change, Call, str]] = []
        for change in changes:
            if id(change) in self.release_errors or self._blocked_by(change):
                continue
            for owner, alias in self._releases(change, before_renames):
                work.append((change, self._remove_alias(change.kind, owner, alias), alias))
        if not work:
            return
        for change in {id(c): c for c, _, _ in work}.values():
            if change.action == "rename" and self._lost_without_alias(change):
                self.ctx.on_rename_begun(change.kind, change.key, change.from_ or "")
        self._start([c for c, _, _ in work])
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

    def _releases(self, change: Change, before_renames: bool) -> list[tuple[str, str]]:
        """(the address that finds the owner, the alias to remove) for one pass."""
        field_change = change.fields.get("aliases")
        if change.kind not in ("user", "group") or field_change is None:
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

    def _lost_without_alias(self, change: Change) -> bool:
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
            blocker = self._blocked_by(change)
            if blocker:
                # A skipped creation blocks its own dependents too (the members of a user
                # whose org unit failed), or they would be tried against nothing.
                self._mark_failed(change, "skipped")
                self._finish(ChangeResult(change, "skipped", blocker))
                continue
            unreleased = self.release_errors.get(id(change))
            if unreleased:
                # Its alias removal failed: the rest of it is not tried.
                self._mark_failed(change, "failed")
                notes = self.release_notes.get(id(change), [])
                self._finish(ChangeResult(change, "failed", "; ".join(unreleased), notes))
                continue
            first, later = self._calls(change)
            todo.append((change, first, later))
        errors: dict[int, list[str]] = {}
        notes: dict[int, list[str]] = {
            i: list(self.release_notes[id(c)])
            for i, (c, _, _) in enumerate(todo)
            if id(c) in self.release_notes
        }
        round_calls = [(i, c) for i, (_, first, _) in enumerate(todo) for c in first]
        self._start([c for c, _, _ in todo])
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
                self._mark_failed(change, "failed")
                self._finish(ChangeResult(change, "failed", "; ".join(errors[i]), notes.get(i, [])))
            else:
                self._succeeded(change)
                self._finish(ChangeResult(change, "applied", None, notes.get(i, [])))

    def _start(self, changes: list[Change]) -> None:
        """Say which changes are about to be written for the first time, before they are."""
        fresh = list({id(c): c for c in changes if id(c) not in self.started}.values())
        if fresh:
            self.started.update(id(c) for c in fresh)
            self.ctx.on_started(fresh)

    def _execute(self, calls: list[Call]) -> list[Outcome]:
        """Run `calls`; an alias claim answered "already exists" is done when its owner
        holds the address (an earlier, killed run's write landed after this run read)."""
        outcomes = self.ctx.client.execute_all(calls)
        for n, outcome in enumerate(outcomes):
            call = outcome.call
            if outcome.ok or outcome.status != 409 or not isinstance(call, ops.AliasClaim):
                continue
            if ops.holds_alias(self.ctx.client, call.owner_kind, call.owner, call.alias):
                note = f"{call.owner} holds {call.alias} already"
                outcomes[n] = Outcome(call, True, note=note, status=409, attempts=outcome.attempts)
        return outcomes

    def _finish(self, result: ChangeResult) -> None:
        self.results.append(result)
        self.ctx.on_result(result)

    # -- dependencies ------------------------------------------------------------------------

    def _blocked_by(self, change: Change) -> str | None:
        needs: list[str] = []
        if change.kind == "membership":
            needs += [change.group or "", change.member or ""]
        elif change.kind == "org_unit":
            needs += _ancestors(change.key)
        else:
            needs.append(change.key)
            if change.from_:
                needs.append(change.from_)
            unit = change.fields.get("org_unit")
            if unit is not None and unit.new:
                needs += [unit.new, *_ancestors(unit.new)]
        for need in needs:
            if need in self.failed:
                return f"{need} {self.failed[need]} earlier"
        return None

    def _mark_failed(self, change: Change, how: str) -> None:
        # Whatever later depends on this resource cannot work now: skip it, don't try it.
        if change.action in ("create", "undelete", "rename", "adopt") or change.kind == "org_unit":
            self.failed[change.key] = how

    def _succeeded(self, change: Change) -> None:
        if change.action in ("create", "undelete", "rename"):
            self.created.add(change.key)
        if change.kind == "user" and change.action == "undelete":
            # Back with the values it had when deleted: later updates merge into those.
            self.actual_by_key[change.key] = self.ctx.actual.deleted_users[change.key]
        if change.kind == "user" and change.action == "rename" and change.from_:
            account = self.actual_by_key.pop(change.from_, None)
            if account is not None:
                self.actual_by_key[change.key] = account
        if change.kind == "group" and change.action == "rename" and change.from_:
            group = self.groups_by_key.pop(change.from_, None)
            if group is not None:
                self.groups_by_key[change.key] = group
        if change.action == "rename":
            self.ctx.on_rename_done(change.kind, change.key)

    # -- calls of one change -----------------------------------------------------------------

    def _calls(self, change: Change) -> tuple[list[Call], list[Callable[[], list[Call]]]]:
        c, ctx = self.ctx.client, self.ctx
        key, kind, action = change.key, change.kind, change.action
        fresh = key in self.created
        if kind == "org_unit":
            if action == "create":
                desc = change.fields.get("description")
                unit = OrgUnit(key, desc.new if desc else None)
                return [ops.create_org_unit(c, ctx.customer, unit)], []
            if action != "update":
                raise ValueError(f"no {action} of kind 'org_unit'")
            desc, name = change.fields.get("description"), change.fields.get("name")
            call = ops.update_org_unit(
                c,
                ctx.customer,
                key,
                desc.new if desc else None,
                name=name.new if name else None,
            )
            return [call], []
        if kind == "user":
            return self._user_calls(change, fresh)
        if kind == "group":
            return self._group_calls(change, fresh)
        group, member = change.group or "", change.member or ""
        new_group, new_member = group in self.created, member in self.created
        if action == "add_member":
            role = change.role or "MEMBER"
            call = ops.add_member(
                c, group, member, role, new_group=new_group, new_member=new_member
            )
            return [call], []
        if action == "update_member":
            role = change.role or "MEMBER"
            call = ops.update_member(c, group, member, role, new_group, new_member)
            return [call], []
        if action == "remove_member":
            return [ops.remove_member(c, group, member, new_group, new_member)], []
        raise ValueError(f"no {action} of kind {kind!r}")

    def _user_calls(self, change: Change, fresh: bool):
        c, ctx, key = self.ctx.client, self.ctx, change.key
        action = change.action
        if action == "create":
            user = ctx.desired.users[key]
            password = new_password()
            call = self._claiming(ops.create_user(c, user, ctx.ownership_id, password), key)
            aliases = list(user.aliases or ())
            ctx.on_password(key, password)  # recorded before the create goes out

            def then() -> list[Call]:
                return [
                    self._claiming(ops.add_user_alias(c, key, a, after_create=True), a)
                    for a in aliases
                ]

            return [call], [then]
        if action == "undelete":
            gone = ctx.actual.deleted_users[key]  # Google restores by the immutable id only
            unit = change.fields.get("org_unit")
            return [ops.undelete_user(c, gone.id or "", key, unit.new if unit else None)], []
        if action == "rename":
            return [self._claiming(ops.rename_user(c, change.from_ or "", key), key)], []
        if action == "adopt":
            return [ops.adopt_user(c, key, ctx.ownership_id, after_create=fresh)], []
        if action == "suspend":
            return [ops.suspend_user(c, key, after_create=fresh)], []
        if action == "unsuspend":
            return [ops.unsuspend_user(c, key, after_create=fresh)], []
        if action == "delete":
            return [ops.delete_user(c, key)], []
        if action != "update":
            raise ValueError(f"no {action} of kind 'user'")
        # update: attributes in one patch, added aliases one call each (removals ran first)
        attrs = {n: fc.new for n, fc in change.fields.items() if n != "aliases"}
        calls = []
        if attrs:
            current = self.actual_by_key.get(key)
            calls.append(ops.update_user(c, key, attrs, current, after_create=fresh))
        calls += self._alias_adds(change, ops.add_user_alias, fresh)
        return calls, []

    def _group_calls(self, change: Change, fresh: bool):
        c, key, action = self.ctx.client, change.key, change.action
        ours = self.ctx.ownership_id
        if action == "create":
            desired: Group = self.ctx.desired.groups[key]
            aliases = list(desired.aliases or ())

            def then() -> list[Call]:
                return [
                    self._claiming(ops.add_group_alias(c, key, a, after_create=True), a)
                    for a in aliases
                ]

            return [self._claiming(ops.create_group(c, desired, ours), key)], [then]
        if action == "rename":
            return [self._claiming(ops.rename_group(c, change.from_ or "", key), key)], []
        if action == "adopt":
            description = self._group_description(key)
            return [ops.adopt_group(c, key, description, ours, after_create=fresh)], []
        if action != "update":
            raise ValueError(f"no {action} of kind 'group'")
        attrs = {n: fc.new for n, fc in change.fields.items() if n != "aliases"}
        calls = [ops.update_group(c, key, attrs, ours, after_create=fresh)] if attrs else []
        calls += self._alias_adds(change, ops.add_group_alias, fresh)
        return calls, []

    def _alias_adds(self, change: Change, add, fresh: bool) -> list[Call]:
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


def _ancestors(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]


def summarize(results: list[ChangeResult]) -> dict[str, int]:
    counts = {"applied": 0, "failed": 0, "skipped": 0}
    for r in results:
        counts[r.result] += 1
    return counts

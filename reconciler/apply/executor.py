"""Execute a Plan against Google: phase by phase, batched, dependents of failures skipped.

Each Change becomes one or more Calls (a user create, then its aliases). A phase runs a batch
of changes at a time, and their results are reported as each batch ends; a change whose
prerequisite failed or was skipped in this run (its org unit, its user's creation or rename,
its group's creation) is skipped, not attempted.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from reconciler.google import ops
from reconciler.google.client import Call, GoogleClient
from reconciler.plan.changes import Change, Plan
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
    # Called with (email, password) for every account created, after it was created.
    on_password: Callable[[str, str], None] = lambda _email, _password: None
    # Called with each result as soon as it is known (audit records, progress).
    on_result: Callable[[ChangeResult], None] = lambda _r: None


def new_password() -> str:
    """24 random URL-safe characters; the user must change it at first login."""
    return secrets.token_urlsafe(18)


def execute_plan(plan: Plan, ctx: Context) -> list[ChangeResult]:
    """Apply every change of `plan` in order; return one result per change."""
    runner = _Runner(ctx)
    shown = Progress("Applying changes")
    for phase in _phases(plan.changes):
        runner.run_phase(phase)
        shown.add(len(phase))
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
            first, later = self._calls(change)
            todo.append((change, first, later))
        errors: dict[int, list[str]] = {}
        notes: dict[int, list[str]] = {}
        round_calls = [(i, c) for i, (_, first, _) in enumerate(todo) for c in first]
        follow_ups = {i: later for i, (_, _, later) in enumerate(todo)}
        while round_calls:
            outcomes = self.ctx.client.execute_all([c for _, c in round_calls])
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
        if change.action in ("create", "rename", "adopt") or change.kind == "org_unit":
            self.failed[change.key] = how

    def _succeeded(self, change: Change) -> None:
        if change.action in ("create", "rename"):
            self.created.add(change.key)
        if change.kind == "user" and change.action == "rename" and change.from_:
            account = self.actual_by_key.pop(change.from_, None)
            if account is not None:
                self.actual_by_key[change.key] = account
        if change.kind == "group" and change.action == "rename" and change.from_:
            group = self.groups_by_key.pop(change.from_, None)
            if group is not None:
                self.groups_by_key[change.key] = group

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
            return [ops.update_org_unit(c, ctx.customer, key, change.fields["description"].new)], []
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
        return [ops.remove_member(c, group, member, new_group, new_member)], []

    def _user_calls(self, change: Change, fresh: bool):
        c, ctx, key = self.ctx.client, self.ctx, change.key
        action = change.action
        if action == "create":
            user = ctx.desired.users[key]
            password = new_password()
            call = ops.create_user(c, user, ctx.ownership_id, password)
            aliases = list(user.aliases or ())

            def then() -> list[Call]:
                ctx.on_password(key, password)
                return [ops.add_user_alias(c, key, a, after_create=True) for a in aliases]

            return [call], [then]
        if action == "rename":
            return [ops.rename_user(c, change.from_ or "", key)], []
        if action == "adopt":
            return [ops.adopt_user(c, key, ctx.ownership_id, after_create=fresh)], []
        if action == "suspend":
            return [ops.suspend_user(c, key, after_create=fresh)], []
        if action == "unsuspend":
            return [ops.unsuspend_user(c, key, after_create=fresh)], []
        if action == "delete":
            return [ops.delete_user(c, key)], []
        # update: attributes in one patch, aliases one call each
        attrs = {n: fc.new for n, fc in change.fields.items() if n != "aliases"}
        calls = []
        if attrs:
            current = self.actual_by_key.get(key)
            calls.append(ops.update_user(c, key, attrs, current, after_create=fresh))
        calls += _alias_calls(change, key, ops.add_user_alias, ops.remove_user_alias, c, fresh)
        return calls, []

    def _group_calls(self, change: Change, fresh: bool):
        c, key, action = self.ctx.client, change.key, change.action
        ours = self.ctx.ownership_id
        if action == "create":
            desired: Group = self.ctx.desired.groups[key]
            aliases = list(desired.aliases or ())

            def then() -> list[Call]:
                return [ops.add_group_alias(c, key, a, after_create=True) for a in aliases]

            return [ops.create_group(c, desired, ours)], [then]
        if action == "rename":
            return [ops.rename_group(c, change.from_ or "", key)], []
        if action == "adopt":
            description = self._group_description(key)
            return [ops.adopt_group(c, key, description, ours, after_create=fresh)], []
        if action == "delete":
            return [ops.delete_group(c, key)], []
        attrs = {n: fc.new for n, fc in change.fields.items() if n != "aliases"}
        calls = [ops.update_group(c, key, attrs, ours, after_create=fresh)] if attrs else []
        calls += _alias_calls(change, key, ops.add_group_alias, ops.remove_group_alias, c, fresh)
        return calls, []

    def _group_description(self, key: str) -> str | None:
        """The description an adopted group keeps: Git's when Git manages it, else Google's."""
        desired = self.ctx.desired.groups.get(key)
        if desired is not None and desired.description is not None:
            return desired.description
        existing = self.groups_by_key.get(key)
        return existing.description if existing is not None else None


def _alias_calls(change: Change, key: str, add, remove, client, fresh: bool) -> list[Call]:
    field_change = change.fields.get("aliases")
    if field_change is None:
        return []
    old, new = set(field_change.old or ()), set(field_change.new or ())
    calls = [add(client, key, a, after_create=fresh) for a in sorted(new - old)]
    calls += [remove(client, key, a, after_create=fresh) for a in sorted(old - new)]
    return calls


def _ancestors(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]


def summarize(results: list[ChangeResult]) -> dict[str, int]:
    counts = {"applied": 0, "failed": 0, "skipped": 0}
    for r in results:
        counts[r.result] += 1
    return counts

"""Applying the Entra changes of a plan through Microsoft Graph's `$batch` (20 requests a
batch): groups created then marked as ours, adopted groups marked, descriptions updated,
members added and removed by reference.

Graph's writes are eventually consistent: a group created a moment ago may not take a marker
or a member yet (404, or 400 naming an object that does not exist). Those requests are sent
again after a growing wait, a bounded number of times
(https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/);
a member already there counts as added, one already gone as removed (ops.py says which
answers mean what)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler.apply.context import ChangeResult, Context
from reconciler.entra import ops
from reconciler.entra.client import GraphError
from reconciler.entra.state import EntraActual
from reconciler.plan.change import Change
from reconciler.plan.diff_entra import match_groups
from reconciler.plan.kinds import EntraGroupChange, EntraMembershipChange
from reconciler.target import Run

if TYPE_CHECKING:
    from reconciler.entra.client import GraphClient

# What _send gives for a marker Graph already holds (ops.outcome: "remark").
REMARK = "remark"
# Waits (seconds) before each new try of a request Graph answered as not yet consistent.
LAG_WAITS_S: tuple[float, ...] = (1, 2, 4, 8, 16)

Request = dict[str, Any]


class EntraRunner:
    """The Entra target's side of one apply."""

    def __init__(
        self, ctx: Context, run: Run, graph: GraphClient | None, entra: EntraActual | None
    ):
        self.ctx = ctx
        self.run = run
        self.graph = graph
        self.entra = entra or EntraActual()
        self.waits = LAG_WAITS_S
        # Group display name (Git's) -> object id: the groups the plan found (matched as the
        # diff matches them), and those it creates.
        self.wanted = (ctx.desired.entra_groups if ctx.desired is not None else None) or {}
        self.ids: dict[str, str] = {
            name: match.record.id
            for name, match in match_groups(self.wanted, self.entra, ctx.ownership_id).items()
            if match.record is not None
        }

    def before_phase(self, rank: int) -> None:
        """Nothing to do between phases."""

    def finish(self) -> None:
        """Nothing is left over after the last phase."""

    def run_phase(self, changes: list[Change]) -> None:
        todo: list[Change] = []
        for change in changes:
            blocker = self.run.blocked_by(change)
            if blocker:
                self.run.finished(ChangeResult(change, "skipped", blocker))
            else:
                todo.append(change)
        if not todo:
            return
        if self.graph is None:
            for change in todo:
                self._failed(change, "no Microsoft Graph connection was opened")
            return
        self.run.started(todo)
        first = todo[0]
        if isinstance(first, EntraGroupChange):
            {"create": self._create, "adopt": self._adopt, "update": self._update}[first.action](
                todo
            )
        else:
            {"add_member": self._add, "remove_member": self._remove}[first.action](todo)

    # -- groups ------------------------------------------------------------------------

    def _create(self, changes: list[Change]) -> None:
        requests = [ops.create_group(c.key, _new(c, "description")) for c in changes]
        answers = self._send(requests, "create")
        created: list[Change] = []
        for change, answer in zip(changes, answers, strict=True):
            if isinstance(answer, str):
                self._failed(change, f"create: {answer}")
                continue
            self.ids[change.key] = answer["body"]["id"]
            created.append(change)
        self._mark(created, "created")

    def _adopt(self, changes: list[Change]) -> None:
        ready = [c for c in changes if self._group_id(c.key, c)]
        self._mark(ready, "adopted")

    def _mark(self, changes: list[Change], what: str) -> None:
        owner = self.ctx.ownership_id
        requests = [ops.mark(self.ids[c.key], owner, self._git_name(c.key)) for c in changes]
        answers = self._send(requests, "mark")
        # A marker extension there already: read it, and write it again only when it is
        # ours (sent twice after a lost answer) or empty; another repository's (marked since
        # the plan was read) is never taken.
        again = [i for i, a in enumerate(answers) if a == REMARK]
        if again:
            reads = [ops.read_marker(self.ids[changes[i].key]) for i in again]
            writable: list[int] = []
            for i, held in zip(again, self._send(reads, "read"), strict=True):
                if isinstance(held, str):
                    answers[i] = f"its marker could not be read: {held}"
                    continue
                holder = ops.marker_owner(held)
                if holder in (None, owner):
                    writable.append(i)
                else:
                    answers[i] = f"it is marked as another repository's ({holder}) since the plan"
            remarks = [
                ops.remark(self.ids[changes[i].key], owner, self._git_name(changes[i].key))
                for i in writable
            ]
            for i, answer in zip(writable, self._send(remarks, "update"), strict=True):
                answers[i] = answer
        for change, answer in zip(changes, answers, strict=True):
            if isinstance(answer, str):
                group_id = self.ids[change.key]
                self._failed(
                    change,
                    f"{what} ({group_id}) but not marked as ours: {answer}; the next plan "
                    "adopts it by its name",
                )
            else:
                notes = [f"Entra object id {self.ids[change.key]}"]
                self.run.finished(ChangeResult(change, "applied", None, notes))

    def _update(self, changes: list[Change]) -> None:
        """A group's properties (PATCH the group) and the Git name its marker records
        (PATCH the marker); the change is applied when every request it needed was."""
        ready = [c for c in changes if self._group_id(c.key, c)]
        requests: list[Request] = []
        owners: list[int] = []
        for index, change in enumerate(ready):
            values = {
                graph: change.fields[name].new
                for name, graph in (("display_name", "displayName"), ("description", "description"))
                if name in change.fields
            }
            if values:
                requests.append(ops.update_group(self.ids[change.key], values))
                owners.append(index)
            if "git_name" in change.fields:
                git_name = change.fields["git_name"].new
                requests.append(ops.remark(self.ids[change.key], self.ctx.ownership_id, git_name))
                owners.append(index)
        answers = self._send(requests, "update")
        failures: dict[int, str] = {}
        for index, answer in zip(owners, answers, strict=True):
            if isinstance(answer, str):
                failures.setdefault(index, answer)
        for index, change in enumerate(ready):
            if index in failures:
                self._failed(change, f"update: {failures[index]}")
            else:
                self.run.finished(ChangeResult(change, "applied"))

    def _git_name(self, name: str) -> str | None:
        group = self.wanted.get(name)
        return group.git_name if group is not None else None

    # -- members -----------------------------------------------------------------------

    def _add(self, changes: list[Change]) -> None:
        ready: list[tuple[Change, Request]] = []
        for change in changes:
            assert isinstance(change, EntraMembershipChange)
            group_id = self._group_id(change.group or "", change)
            member_id = self._member_id(change) if group_id else None
            if group_id and member_id:
                ready.append((change, ops.add_member(group_id, member_id)))
        answers = self._send([r for _, r in ready], "add")
        self._report([c for c, _ in ready], answers, "add member")

    def _remove(self, changes: list[Change]) -> None:
        ready: list[tuple[Change, Request]] = []
        for change in changes:
            assert isinstance(change, EntraMembershipChange)
            group_id = self._group_id(change.group or "", change)
            if not group_id:
                continue
            # By the object id the plan read (never by a name another object may share).
            found = change.fields.get("object_id")
            if found is None or not found.old:
                self._failed(change, "the plan does not say which object to remove")
                continue
            ready.append((change, ops.remove_member(group_id, str(found.old))))
        answers = self._send([r for _, r in ready], "remove")
        self._report([c for c, _ in ready], answers, "remove member")

    def _member_id(self, change: EntraMembershipChange) -> str | None:
        member = change.member or ""
        if change.member_type == "GROUP":
            found = self.ids.get(member)
            what = f'Entra group "{member}" was not found or created'
        else:
            found = self.entra.user_id(member)
            what = f"{member} has no Entra account"
        if found is None:
            self._failed(change, what)
        return found

    def _group_id(self, name: str, change: Change) -> str | None:
        found = self.ids.get(name)
        if found is None:
            self._failed(change, f'Entra group "{name}" was not found by its name')
        return found

    # -- sending -----------------------------------------------------------------------

    def _send(self, requests: list[Request], call: str) -> list[dict[str, Any] | str]:
        """Each request's answer (the response) or why it failed; requests Graph answers as
        not yet consistent are sent again after a wait, up to len(self.waits) times."""
        assert self.graph is not None
        results: list[dict[str, Any] | str] = ["not sent"] * len(requests)
        pending = list(range(len(requests)))
        for attempt in range(len(self.waits) + 1):
            if not pending:
                break
            if attempt:
                self.graph.retry.sleep(self.waits[attempt - 1])
            try:
                answers = self.graph.batch([requests[i] for i in pending])
            except GraphError as exc:
                # The batch itself failed (after the client's retries): its requests may or
                # may not have been carried out. They fail; the rest of the plan goes on.
                for index in pending:
                    results[index] = f"{exc} (it may have been carried out: plan again)"
                break
            again: list[int] = []
            for index, answer in zip(pending, answers, strict=True):
                verdict = ops.outcome(call, answer)
                if verdict == "done":
                    results[index] = answer
                elif verdict == "retry":
                    results[index] = _error_text(answer) + " (still, after waiting)"
                    again.append(index)
                else:
                    results[index] = verdict
            pending = again
        return results

    def _report(
        self, changes: list[Change], answers: list[dict[str, Any] | str], call: str
    ) -> None:
        for change, answer in zip(changes, answers, strict=True):
            if isinstance(answer, str):
                self._failed(change, f"{call}: {answer}")
            else:
                self.run.finished(ChangeResult(change, "applied"))

    def _failed(self, change: Change, why: str) -> None:
        self.run.finished(ChangeResult(change, "failed", why))


def _new(change: Change, name: str) -> Any:
    field = change.fields.get(name)
    return field.new if field is not None else None


def _error_text(answer: dict[str, Any]) -> str:
    body = answer.get("body") or {}
    error = body.get("error", {}) if isinstance(body, dict) else {}
    return f"{answer.get('status')} {error.get('code', '')}: {error.get('message', '')}".strip()

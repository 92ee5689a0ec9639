"""`reconciler apply`: plan afresh, check it may run, ask, execute, report.

One function per stage: `_locate` and `_decide` (the saved plan or a fresh one, the safety
checks, approval), `_execute` (the executor, with its records kept as it goes) and `_report`.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import click

from reconciler.apply.executor import ChangeResult, Context, execute_plan, summarize
from reconciler.apply.passwords import PasswordFile, PasswordFileExists
from reconciler.apply.pending import PendingRenames
from reconciler.apply.records import AuditLog, write_result_file
from reconciler.apply.saved import SavedPlan, load_saved_plan, what_moved
from reconciler.apply.unconfirmed import Unconfirmed, UnconfirmedCreations
from reconciler.changed_since import load_targeted
from reconciler.desired import Desired
from reconciler.google import ops
from reconciler.google.client import GoogleClient
from reconciler.google.fetch import Actual
from reconciler.google.marker import FIELDS as MARKER_FIELDS
from reconciler.onboarding import DEFAULT_TEMPLATE, load_template
from reconciler.plan.change import Change
from reconciler.plan.plan import Plan
from reconciler.plan.render import describe, render_text
from reconciler.problems import safe_lines
from reconciler.provenance import git_commit, state_digest
from reconciler.session import google_session, plan_for

# Changes that record a date on the ownership marker (google/marker.py).
DATED = frozenset({"suspend", "sign_out", "require_password_change"})
# What else writes marker fields older schemas lack: a sign-in message waiting (onboarding).
MARKED = DATED | {"notify"}

OK, ERROR = 0, 1


@dataclass
class ApplyOptions:
    changed_since: str | None = None  # a targeted plan of what changed since this revision
    auto_approve: bool = False
    allow_unsafe: bool = False
    audit_log: Path | None = None
    result_file: Path | None = None
    password_file: Path | None = None
    colour: bool = False
    interactive: bool = False


@dataclass
class Cleared:
    """A plan cleared to run (checked, approved), with what its run needs."""

    desired: Desired
    plan: Plan
    actual: Actual
    checksum: str
    unconfirmed: UnconfirmedCreations
    earlier: list[Unconfirmed]  # creations an earlier, stopped run never saw answered


@dataclass
class Outcome:
    """What a run did: its results and their counts, and whether it was stopped."""

    results: list[ChangeResult]
    counts: dict[str, int]
    interrupted: bool
    in_flight: list[Change] = field(default_factory=list)  # sent, never answered


def run_apply(target: Path, options: ApplyOptions) -> int:
    """The exit code of applying `target` (a state directory or a saved plan).

    A run that applies nothing (refused, not approved) still leaves a result file, when one
    was asked for, saying why; SIGTERM stops a run the way Ctrl-C does.
    """
    if threading.current_thread() is not threading.main_thread():
        return _run(target, options)  # only the main thread may take signals
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _run(target, options)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _terminate(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _run(target: Path, options: ApplyOptions) -> int:
    passwords = PasswordFile(options.password_file)
    try:
        passwords.check()  # before reading anything: a taken path is refused at once
    except PasswordFileExists as exc:
        return _refuse(str(exc))
    located = _locate(target)
    if isinstance(located, int):
        return located
    directory, saved = located
    ref = _ref(saved, options)
    if isinstance(ref, int):
        return ref
    desired, _ = load_targeted(directory, ref)
    for warning in desired.plan_warnings[:20]:
        click.echo(warning.render(), err=True)
    if ref is not None and saved is not None and desired.scope is None:
        return _refuse(
            f"the saved plan was targeted, but the change since {ref[:12]} now needs a full "
            "plan; make and review a new plan"
        )
    with google_session(desired, read_only=False) as client:
        cleared = _decide(desired, client, saved, passwords, options)
        if isinstance(cleared, int):
            return cleared
        outcome = _execute(cleared, client, passwords, options)
        if outcome.interrupted:  # said at once, not held back by closing the session
            return _report_interrupted(outcome, options)
    return _report(outcome, options)


def _locate(target: Path) -> tuple[Path, SavedPlan | None] | int:
    """The state directory `target` names, with its saved plan when it is one; else the exit
    code of a refusal (said)."""
    if not target.is_file():
        return target, None
    saved = load_saved_plan(target)
    directory = saved.directory
    if not directory.is_dir():
        return _refuse(
            f"the plan {target} was made from {directory}, which is not a directory here; "
            "run apply from where plan ran, or from inside the same repository"
        )
    foreign = saved.foreign(directory)
    if foreign is not None:
        return _refuse(
            f"{foreign}: a saved plan applies only to the directory it was made for. "
            "Make and review a plan of this directory."
        )
    return directory, saved


def _ref(saved: SavedPlan | None, options: ApplyOptions) -> str | int | None:
    """The revision the plan is targeted from: `--changed-since`, or the commit a saved
    targeted plan was made against (read again the same way); None for a full plan; the
    exit code of a refusal (said)."""
    if saved is None:
        return options.changed_since
    if options.changed_since is not None:
        return _refuse(
            "--changed-since goes with a state directory, not a saved plan: a saved plan is "
            "checked the way it was made"
        )
    recorded = saved.meta.changed_since
    if recorded is None or not recorded.get("targeted"):
        return None
    commit = recorded.get("commit")
    if not isinstance(commit, str) or not commit:
        return _refuse(f"{saved.path}: meta.changed_since names no commit")
    return commit


def _decide(
    desired: Desired,
    client: GoogleClient,
    saved: SavedPlan | None,
    passwords: PasswordFile,
    options: ApplyOptions,
) -> Cleared | int:
    """Plan, show the plan, and clear it to run: it matches the saved plan if one was given,
    passes the safety checks and is approved; else the exit code of a run that ends here
    (nothing to do, refused or not approved, with the result file saying why)."""
    plan, actual = plan_for(desired, client)
    click.echo(render_text(plan, colour=options.colour), nl=False, color=options.colour)
    # Accounts an earlier, stopped run sent for creation and never saw answered: said on
    # every apply until one runs.
    unconfirmed = UnconfirmedCreations(desired.tree.root, options.password_file)
    earlier = unconfirmed.earlier(set(actual.state.users))
    for entry in earlier:
        click.echo(entry.message(), err=True)
    checksum = plan.checksum()
    digest = state_digest(desired.tree) if saved is not None else None
    refusal = _check(plan, saved, options, digest)
    if refusal is not None:
        _write_outcome(options, checksum, "refused", refusal)
        return ERROR
    if not plan.changes:
        with contextlib.suppress(OSError):
            unconfirmed.forget([e.email for e in earlier])
        return OK
    if saved is None and not options.auto_approve and not _approved(options):
        _write_outcome(options, checksum, "not approved", "nobody approved the plan")
        return ERROR
    with contextlib.suppress(OSError):  # said once more next time
        unconfirmed.forget([e.email for e in earlier])
    if any(c.kind == "user" and c.action == "create" for c in plan.changes):
        try:
            passwords.open()  # created before the first write; taken meanwhile: refused
        except PasswordFileExists as exc:
            _write_outcome(options, checksum, "refused", _refusal(str(exc)))
            return ERROR
    return Cleared(desired, plan, actual, checksum, unconfirmed, earlier)


def _needs_schema(run: Cleared) -> bool:
    """Whether the plan writes marker fields the schema lacks. The read just now saw which
    fields it holds: no second look. Suspensions and offboarding steps record their dates
    on the marker, in fields older schemas lack; so does a sign-in message waiting."""
    changes = run.plan.changes
    marks = any(c.kind == "user" and c.action in ("create", "adopt") for c in changes)
    dates = any(c.kind == "user" and c.action in MARKED for c in changes)
    return (marks and not run.actual.marker_schema) or (
        dates and not set(MARKER_FIELDS) <= run.actual.marker_fields
    )


def _execute(
    run: Cleared, client: GoogleClient, passwords: PasswordFile, options: ApplyOptions
) -> Outcome:
    """Run the plan, keeping its records as it goes. A stop (Ctrl-C, SIGTERM) ends the run
    early; whatever ends it, the password file and audit log are closed and the result file
    written. Other errors are raised after that."""
    plan, ws = run.plan, run.desired.workspace
    try:
        if _needs_schema(run) and ops.ensure_marker_schema(client, ws.directory.customer):
            click.echo("Created the ownership schema (custom user field).", err=True)
    except BaseException:
        passwords.close()
        raise
    audit = AuditLog(options.audit_log, run.checksum, git_commit(run.desired.tree.root))
    records = RunRecords(run, passwords, audit)
    actual = run.actual.state
    with contextlib.suppress(OSError):  # a stale entry is harmless; the next run retries
        records.pending.prune({"users": set(actual.users), "groups": set(actual.groups)})
    finished = False
    try:
        execute_plan(plan, records.context(run, client))
        finished = True
    except KeyboardInterrupt:
        pass  # a stop: the outcome says so, and the records name what was in flight
    finally:
        audit.close()
        passwords.close()
        counts = summarize(records.results)
        if options.result_file is not None:
            write_result_file(
                options.result_file,
                run.checksum,
                counts,
                records.results,
                interrupted=not finished,
                in_flight=list(records.in_flight.values()),
                earlier=[e.to_json() for e in run.earlier],
            )
    return Outcome(records.results, counts, not finished, list(records.in_flight.values()))


class RunRecords:
    """The executor's callbacks: intent on disk before each write is sent (the passwords,
    the accounts on their way, the audit log's `started`), results once answered, and the
    renames under way."""

    def __init__(self, run: Cleared, passwords: PasswordFile, audit: AuditLog):
        self.checksum = run.checksum
        self.passwords = passwords
        self.unconfirmed = run.unconfirmed
        self.audit = audit
        self.results: list[ChangeResult] = []
        self.in_flight: dict[int, Change] = {}  # sent, not answered yet
        self.pending = PendingRenames(run.desired.tree.root)

    def context(self, run: Cleared, client: GoogleClient) -> Context:
        """What the executor is handed: both states, and these records' callbacks."""
        ws = run.desired.workspace
        return Context(
            client=client,
            desired=run.desired.state,
            actual=run.actual.state,
            ownership_id=ws.ownership.id,
            customer=ws.directory.customer,
            on_password=self.passwords.add,
            on_started=self.started,
            on_result=self.result,
            on_rename_begun=self.rename_begun,
            on_rename_done=self.rename_done,
            released=frozenset(a for e in self.pending.entries.values() for a in e),
            onboarding=ws.onboarding,
            onboarding_template=load_template(run.desired.tree.root, ws.onboarding.template)
            if ws.onboarding is not None
            else DEFAULT_TEMPLATE,
        )

    def started(self, changes: list[Change]) -> None:
        # Intent first, on disk: the passwords, the accounts on their way, the changes.
        self.passwords.sync()
        creates = [c.key for c in changes if c.kind == "user" and c.action == "create"]
        if creates:
            try:
                self.unconfirmed.begin(creates, self.checksum)
            except OSError as exc:
                click.echo(
                    f"Warning: could not record the creations about to be sent in "
                    f"{self.unconfirmed.path} ({exc.strerror or exc}).",
                    err=True,
                )
        self.audit.started(changes)
        self.in_flight.update((id(c), c) for c in changes)

    def result(self, result: ChangeResult) -> None:
        self.in_flight.pop(id(result.change), None)
        self.results.append(result)
        self.audit.record(result)
        if result.change.kind == "user" and result.change.action == "create":
            with contextlib.suppress(OSError):  # said next time: harmless
                self.unconfirmed.settle(result.change.key)

    def rename_begun(self, kind: str, new: str, old: str) -> None:
        try:
            self.pending.add(kind, new, old)
        except OSError as exc:
            click.echo(
                f"Warning: could not record the rename of {old} to {new} in "
                f"{self.pending.path} ({exc.strerror or exc}); should this run stop before "
                f"it is done, add {old} to the previous_emails of {new} in Git.",
                err=True,
            )

    def rename_done(self, kind: str, new: str) -> None:
        with contextlib.suppress(OSError):  # pruned next time: found by its new address
            self.pending.done(kind, new)


def _report_interrupted(outcome: Outcome, options: ApplyOptions) -> int:
    click.echo(
        "Interrupted. Changes already made stay made; run apply again to finish the rest.",
        err=True,
    )
    _say_unanswered(outcome.in_flight, options)
    return ERROR


def _say_unanswered(changes: list[Change], options: ApplyOptions) -> None:
    """Name the creations a stopped run sent and never saw answered."""
    for change in changes:
        if change.kind != "user" or change.action != "create":
            continue
        kept = (
            f"its password is in {options.password_file}"
            if options.password_file is not None
            else "its password was not kept"
        )
        click.echo(
            f"The creation of {change.key} was sent but not answered ({kept}); the next "
            "apply says whether Google made it.",
            err=True,
        )


def _check(
    plan: Plan, saved: SavedPlan | None, options: ApplyOptions, digest: str | None = None
) -> str | None:
    """Why the plan must not run (printed), else None; `digest`: the state directory's now."""
    if saved is not None and saved.checksum != plan.checksum():
        lines = what_moved(saved.plan, plan)
        return _refusal(
            f"the saved plan {saved.path} is stale: Google or Git changed since it was made, "
            "so a fresh plan differs:\n" + "\n".join(lines) + "\nMake and review a new plan."
        )
    if saved is not None and digest != saved.meta.state_digest:
        return _refusal(
            f"the saved plan {saved.path} was made from other files: the state directory "
            "changed since (its state digest differs), though a fresh plan has the same "
            "changes. Make and review a new plan."
        )
    if plan.refused:
        return _refusal(
            "the plan would suspend, rename or delete protected accounts or super admins; "
            "that is never applied, even with --allow-unsafe. Fix Git first."
        )
    if plan.over_limits and not options.allow_unsafe:
        return _refusal(
            "the plan exceeds the safety limits (" + "; ".join(plan.over_limits) + "). "
            "Review it; apply with --allow-unsafe if it is right."
        )
    return None


def _refusal(message: str) -> str:
    _refuse(message)
    return message


def _approved(options: ApplyOptions) -> bool:
    if not options.interactive:
        click.echo(
            "Error: no terminal to ask for approval; review the plan and run with "
            "--auto-approve (or apply a saved plan).",
            err=True,
        )
        return False
    answer = click.prompt(
        "Apply these changes? Only 'yes' is accepted", default="", show_default=False
    )
    if answer.strip() != "yes":
        click.echo("Apply cancelled; nothing was changed.", err=True)
        return False
    return True


def _refuse(message: str) -> int:
    click.echo(f"Error: refused: {safe_lines(message)}", err=True)
    return ERROR


def _write_outcome(options: ApplyOptions, checksum: str, status: str, reason: str) -> None:
    if options.result_file is None:
        return
    data = {
        "plan_checksum": checksum,
        "status": status,
        "reason": reason,
        "applied": 0,
        "failed": 0,
        "skipped": 0,
        "results": [],
    }
    options.result_file.parent.mkdir(parents=True, exist_ok=True)
    options.result_file.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _report(outcome: Outcome, options: ApplyOptions) -> int:
    """Say what failed, the counts and where the new accounts' passwords are."""
    results, counts = outcome.results, outcome.counts
    for r in results:
        if r.result != "applied":
            click.echo(f"{r.result}: {describe(r.change)}: {r.error}", err=True)
    click.echo(
        f"Apply complete: {counts['applied']} applied, {counts['failed']} failed, "
        f"{counts['skipped']} skipped."
    )
    creates = [r for r in results if r.change.kind == "user" and r.change.action == "create"]
    created = sum(r.result == "applied" for r in creates)
    unused = sum(r.result == "failed" for r in creates)  # its password line is never valid
    if created:
        if options.password_file is not None:
            click.echo(
                f"{created} new account(s): their one-time passwords are in "
                f"{options.password_file} (readable by you only).",
                err=True,
            )
        else:
            click.echo(
                f"{created} new account(s) got random one-time passwords that were not "
                "kept; reset them in the Admin console, or use --password-file next time.",
                err=True,
            )
    if unused and options.password_file is not None:
        click.echo(
            f"{unused} account(s) failed to be created: their lines in "
            f"{options.password_file} are no one's password.",
            err=True,
        )
    if counts["failed"]:
        click.echo("Some changes failed; `reconciler plan` shows what is left.", err=True)
        return ERROR
    return OK

"""`reconciler apply`: plan afresh, check it may run, ask, execute, report."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

import click

from reconciler.apply.audit import AuditLog, write_result_file
from reconciler.apply.executor import ChangeResult, Context, execute_plan, summarize
from reconciler.apply.passwords import PasswordFile, PasswordFileExists
from reconciler.apply.pending import PendingRenames
from reconciler.apply.saved import SavedPlan, load_saved_plan, what_moved
from reconciler.apply.unconfirmed import UnconfirmedCreations
from reconciler.desired import load_desired
from reconciler.google import ops
from reconciler.plan.changes import Change, Plan
from reconciler.plan.render import describe, render_text
from reconciler.problems import safe_lines
from reconciler.provenance import git_commit, state_digest
from reconciler.session import google_session, plan_for

OK, ERROR = 0, 1


@dataclass
class ApplyOptions:
    auto_approve: bool = False
    allow_unsafe: bool = False
    audit_log: Path | None = None
    result_file: Path | None = None
    password_file: Path | None = None
    colour: bool = False
    interactive: bool = False


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
    saved: SavedPlan | None = None
    directory = target
    passwords = PasswordFile(options.password_file)
    try:
        passwords.check()  # before reading anything: a taken path is refused at once
    except PasswordFileExists as exc:
        return _refuse(str(exc))
    if target.is_file():
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
    desired = load_desired(directory)
    for warning in desired.warnings[:20]:
        click.echo(warning.render(), err=True)
    with google_session(desired, read_only=False) as client:
        plan, actual = plan_for(desired, client)
        click.echo(render_text(plan, colour=options.colour), nl=False, color=options.colour)
        # Accounts an earlier, stopped run sent for creation and never saw answered: said
        # on every apply until one runs.
        unconfirmed = UnconfirmedCreations(desired.tree.root, options.password_file)
        earlier = unconfirmed.earlier(set(actual.state.users))
        for entry in earlier:
            click.echo(entry.message(), err=True)
        digest = state_digest(desired.tree) if saved is not None else None
        refusal = _check(plan, saved, options, digest)
        if refusal is not None:
            _write_outcome(options, plan.checksum(), "refused", refusal)
            return ERROR
        if not plan.changes:
            with contextlib.suppress(OSError):
                unconfirmed.forget([e.email for e in earlier])
            return OK
        if saved is None and not options.auto_approve and not _approved(options):
            _write_outcome(options, plan.checksum(), "not approved", "nobody approved the plan")
            return ERROR
        with contextlib.suppress(OSError):  # said once more next time
            unconfirmed.forget([e.email for e in earlier])
        ws = desired.workspace
        if any(c.kind == "user" and c.action == "create" for c in plan.changes):
            try:
                passwords.open()  # created before the first write; taken meanwhile: refused
            except PasswordFileExists as exc:
                _write_outcome(options, plan.checksum(), "refused", _refusal(str(exc)))
                return ERROR
        marks = any(c.kind == "user" and c.action in ("create", "adopt") for c in plan.changes)
        # The read just now saw whether the schema holds the marker field: no second look.
        needs_schema = marks and not actual.marker_schema
        try:
            if needs_schema and ops.ensure_marker_schema(client, ws.directory.customer):
                click.echo("Created the ownership schema (custom user field).", err=True)
        except BaseException:
            passwords.close()
            raise
        checksum = plan.checksum()
        audit = AuditLog(options.audit_log, checksum, git_commit(desired.tree.root))
        results: list[ChangeResult] = []
        in_flight: dict[int, Change] = {}  # sent, not answered yet

        def on_started(changes: list[Change]) -> None:
            # Intent first, on disk: the passwords, the accounts on their way, the changes.
            passwords.sync()
            creates = [c.key for c in changes if c.kind == "user" and c.action == "create"]
            if creates:
                try:
                    unconfirmed.begin(creates, checksum)
                except OSError as exc:
                    click.echo(
                        f"Warning: could not record the creations about to be sent in "
                        f"{unconfirmed.path} ({exc.strerror or exc}).",
                        err=True,
                    )
            audit.started(changes)
            in_flight.update((id(c), c) for c in changes)

        def on_result(result: ChangeResult) -> None:
            in_flight.pop(id(result.change), None)
            results.append(result)
            audit.record(result)
            if result.change.kind == "user" and result.change.action == "create":
                with contextlib.suppress(OSError):  # said next time: harmless
                    unconfirmed.settle(result.change.key)

        pending = PendingRenames(desired.tree.root)
        with contextlib.suppress(OSError):  # a stale entry is harmless; the next run retries
            pending.prune({"users": set(actual.state.users), "groups": set(actual.state.groups)})

        def on_rename_begun(kind: str, new: str, old: str) -> None:
            try:
                pending.add(kind, new, old)
            except OSError as exc:
                click.echo(
                    f"Warning: could not record the rename of {old} to {new} in "
                    f"{pending.path} ({exc.strerror or exc}); should this run stop before "
                    f"it is done, add {old} to the previous_emails of {new} in Git.",
                    err=True,
                )

        def on_rename_done(kind: str, new: str) -> None:
            with contextlib.suppress(OSError):  # pruned next time: found by its new address
                pending.done(kind, new)

        context = Context(
            client=client,
            desired=desired.state,
            actual=actual.state,
            ownership_id=ws.ownership.id,
            customer=ws.directory.customer,
            on_password=passwords.add,
            on_started=on_started,
            on_result=on_result,
            on_rename_begun=on_rename_begun,
            on_rename_done=on_rename_done,
            released=frozenset(a for e in pending.entries.values() for a in e),
        )
        finished = False
        try:
            execute_plan(plan, context)
            finished = True
        except KeyboardInterrupt:
            click.echo(
                "Interrupted. Changes already made stay made; run apply again to finish the rest.",
                err=True,
            )
            _say_unanswered(list(in_flight.values()), options)
            return ERROR
        finally:
            audit.close()
            passwords.close()
            counts = summarize(results)
            if options.result_file is not None:
                write_result_file(
                    options.result_file,
                    checksum,
                    counts,
                    results,
                    interrupted=not finished,
                    in_flight=list(in_flight.values()),
                    earlier=[e.to_json() for e in earlier],
                )
    return _report(results, counts, options)


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
    if saved is not None and digest != saved.meta.get("state_digest"):
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


def _report(results: list[ChangeResult], counts: dict[str, int], options: ApplyOptions) -> int:
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

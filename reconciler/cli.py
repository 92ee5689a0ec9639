"""The `reconciler` command line: parse, call, map errors to exit codes.

Exit codes (contract): 0 success; 1 any error, usage errors included; 2 only with
--detailed-exitcode, meaning success with changes present.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

import click

from reconciler import __version__
from reconciler.problems import InvalidInput, Problem, ReconcilerError, one_line, safe_lines

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2

state_dir = click.argument(
    "directory",
    required=False,
    default=".",
    type=click.Path(file_okay=False, path_type=Path),
)

# Apply records beyond the git notes, for `audit` and `access-review`.
audit_logs = click.option(
    "--audit-log",
    "logs",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Apply records to use besides the git notes (repeatable).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
def cli() -> None:
    """GitOps for Google Workspace identities: users, groups and memberships as YAML."""


@cli.command()
@state_dir
def validate(directory: Path) -> None:
    """Check a state directory; report every problem with file:line."""
    from reconciler.desired import load_desired

    desired = load_desired(directory)
    _print_warnings(desired.warnings)
    state = desired.state
    bound = len(state.bound_users())
    click.echo(
        f"Valid: {len(desired.tree.files)} files, {len(state.users)} users ({bound} bound), "
        f"{len(desired.tree.groups)} groups ({len(state.groups)} exported), "
        f"{len(state.org_units)} org units."
    )


changed_since_option = click.option(
    "--changed-since",
    metavar="REF",
    help="Plan only what the Git change from REF (a commit, branch or tag) to the working "
    "tree touches, reading only that from Google (README, Targeted plans).",
)


@cli.command()
@state_dir
@click.option(
    "--format",
    "fmt_",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="text for people, markdown for pull requests, json for machines.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also save the plan as JSON here, for `reconciler apply PLAN.json`.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when the plan has changes (0: none, 1: error).",
)
@changed_since_option
def plan(
    directory: Path,
    fmt_: str,
    out: Path | None,
    detailed_exitcode: bool,
    changed_since: str | None,
) -> None:
    """Show what it takes to make Google match the state directory. Changes nothing."""
    from reconciler.apply.saved import bind
    from reconciler.changed_since import load_targeted, meta_of
    from reconciler.plan.render import render_json, render_markdown, render_text
    from reconciler.provenance import provenance
    from reconciler.session import google_session, plan_for

    desired, targeted = load_targeted(directory, changed_since)
    _print_warnings(desired.plan_warnings)
    with google_session(desired, read_only=True) as client:
        the_plan, _ = plan_for(desired, client)
    meta = bind(provenance(desired.tree), the_plan, desired.tree.root, meta_of(targeted))
    if fmt_ == "json":
        click.echo(render_json(the_plan, meta), nl=False)
    elif fmt_ == "markdown":
        click.echo(render_markdown(the_plan), nl=False)
    else:
        colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        click.echo(render_text(the_plan, colour=colour), nl=False, color=colour)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_json(the_plan, meta), encoding="utf-8")
        click.echo(f"Saved the plan to {_shown(out)}.", err=True)
    if detailed_exitcode and (the_plan.changes or the_plan.refused):
        sys.exit(EXIT_CHANGES)


@cli.command()
@click.argument("target", required=False, default=".", type=click.Path(path_type=Path))
@click.option("--auto-approve", is_flag=True, help="Apply without asking (for CI).")
@click.option(
    "--allow-unsafe",
    is_flag=True,
    help="Apply a plan over the safety limits. Never overrides protected accounts.",
)
@click.option(
    "--audit-log",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append one JSON line per change (what, when, who, result) to this file.",
)
@click.option(
    "--result-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the outcome (counts and every change's result) as JSON, for CI.",
)
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write generated passwords of new accounts to this new file (mode 0600; an existing "
    "path is refused); shown nowhere else.",
)
@changed_since_option
def apply(
    target: Path,
    auto_approve: bool,
    allow_unsafe: bool,
    audit_log: Path | None,
    result_file: Path | None,
    password_file: Path | None,
    changed_since: str | None,
) -> None:
    """Apply the plan for DIR (asking first), or a saved PLAN.json if it is still current."""
    from reconciler.commands.apply import ApplyOptions, run_apply

    options = ApplyOptions(
        changed_since=changed_since,
        auto_approve=auto_approve,
        allow_unsafe=allow_unsafe,
        audit_log=audit_log,
        result_file=result_file,
        password_file=password_file,
        colour=sys.stdout.isatty() and not os.environ.get("NO_COLOR"),
        interactive=sys.stdin.isatty(),
    )
    sys.exit(run_apply(target, options))


@cli.command("import")
@state_dir
@click.option(
    "--mode",
    type=click.Choice(["all", "new", "updates"]),
    default="all",
    show_default=True,
    help="new: add accounts Git lacks; updates: rewrite attributes of entries Git has.",
)
@click.option("--user", "users", multiple=True, help="Only this account (repeatable).")
@click.option("--groups", is_flag=True, help="Also import Google groups with their members.")
@click.option("--include-suspended", is_flag=True, help="Also import suspended accounts.")
@click.option(
    "--file",
    "target",
    default="imported.yaml",
    show_default=True,
    help="File (in DIR) that receives new entries and their bindings.",
)
@click.option(
    "--summary",
    "summary",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write what changed, per user (and the accounts Git lacks), as Markdown: the body "
    "of the scheduled import's pull request.",
)
def import_(
    directory: Path,
    mode: str,
    users: tuple[str, ...],
    groups: bool,
    include_suspended: bool,
    target: str,
    summary: Path | None,
) -> None:
    """Bring accounts (and groups) from Google into the state directory's YAML."""
    from reconciler.commands.importing import (
        ImportOptions,
        check_target,
        plan_import,
        summary_markdown,
        write_edits,
    )
    from reconciler.desired import load_desired
    from reconciler.session import google_session, read_actual

    desired = load_desired(directory)
    check_target(desired.tree, target)  # before reading Google
    options = ImportOptions(
        mode=mode,  # type: ignore[arg-type]
        only_users={u.strip().lower() for u in users},
        groups=groups,
        include_suspended=include_suspended,
        target=target,
    )
    with google_session(desired, read_only=True) as client:
        actual = read_actual(desired, client, everything=groups)
    edits, report = plan_import(desired.tree, actual, options)
    # The result must be valid; if not, every file is put back and InvalidInput says where.
    write_edits(edits, report, check=lambda: load_desired(directory))
    for note in report.notes[:MAX_WARNINGS_SHOWN]:
        click.echo(f"note: {note}", err=True)
    if len(report.notes) > MAX_WARNINGS_SHOWN:
        click.echo(f"... and {len(report.notes) - MAX_WARNINGS_SHOWN} more notes", err=True)
    click.echo(
        f"Imported {len(report.new_users)} new and {len(report.updated_users)} updated "
        f"users, {len(report.new_groups)} new and {len(report.updated_groups)} updated groups."
    )
    for path in report.files:
        click.echo(f"wrote {_shown(path)}")
    if summary is not None:
        ws = desired.tree.workspace
        text = summary_markdown(report, ws.sync.import_attributes, ws.import_.new_users)
        summary.write_text(text, encoding="utf-8")
        click.echo(f"wrote {_shown(summary)}")


@cli.command()
@state_dir
@click.option(
    "--format",
    "fmt_",
    type=click.Choice(["text", "markdown", "json", "csv"]),
    default="text",
    show_default=True,
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when anything is found (0: clean).")
@click.option(
    "--expiring-within",
    "days",
    type=click.IntRange(min=0, max=36500),
    default=30,
    show_default=True,
    metavar="DAYS",
    help="List dated access (`until:`) that ends within this many days.",
)
@click.option(
    "--credentials",
    is_flag=True,
    help="Also read the OAuth grants, app passwords and transfers of every suspended account "
    "of ours, offboarding configured or not (asks for the user-security and Data Transfer "
    "scopes, which offboarding needs anyway).",
)
def report(
    directory: Path, fmt_: str, detailed_exitcode: bool, days: int, credentials: bool
) -> None:
    """Drift between Git and Google, unmanaged accounts and privileged access, for audits."""
    from reconciler.commands.report import add_expiring, build_report, render_report
    from reconciler.desired import load_desired
    from reconciler.desired.expiry import expiring_within, today
    from reconciler.google.fetch_offboarding import read_for_report
    from reconciler.session import google_session, plan_for, scope_flags

    desired = load_desired(directory)
    # Every suspended account of ours is read where offboarding's scopes are had anyway (it
    # is configured) or asked for (--credentials): they are delegated then, and not always.
    reads = scope_flags(desired, offboarding=credentials).get("offboarding", False)
    with google_session(desired, read_only=True, offboarding=reads) as client:
        the_plan, actual = plan_for(desired, client)
        if reads:
            read_for_report(client, actual, desired.workspace)
    found = build_report(desired.state, actual.state, the_plan, desired.workspace)
    soon = expiring_within(desired.tree.dated, today(), days)
    add_expiring(found, soon, desired.tree.root)
    click.echo(render_report(found, fmt_), nl=False)
    if detailed_exitcode and found.findings:
        sys.exit(EXIT_CHANGES)


@cli.command("access-review")
@state_dir
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Review the access of a past day (UTC), rebuilt from Git's history alone.",
)
@click.option(
    "--format",
    "fmt_",
    type=click.Choice(["html", "markdown", "csv", "json"]),
    help="Default: html when --out ends in .html, else markdown.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the review to this file instead of standard output.",
)
@click.option("--offline", is_flag=True, help="Do not read Google: Git's history only.")
@audit_logs
def access_review(
    directory: Path,
    as_of: datetime | None,
    fmt_: str | None,
    out: Path | None,
    offline: bool,
    logs: tuple[Path, ...],
) -> None:
    """Who has access to which group, since when, granted by which commit and PR, approved by
    whom, applied when, and whether Google agrees: evidence for an access review."""
    from reconciler.clock import now
    from reconciler.commands.access_review import make_review
    from reconciler.review.render import render_review

    day = as_of.date() if as_of is not None else None
    if day is not None and day > now().date():
        raise click.UsageError(f"--as-of {day.isoformat()} is after today: a review is of the past")
    if fmt_ is None:
        fmt_ = "html" if out is not None and out.suffix.lower() in (".html", ".htm") else "markdown"
    review = make_review(directory, as_of=day, offline=offline, logs=list(logs))
    text = render_review(review, fmt_)
    if out is None:
        click.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    click.echo(f"access review: written to {out}", err=True)


@cli.command()
@state_dir
@click.option(
    "--format",
    "fmt_",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: a line per check; json: a list of {check, status, detail, fix}.",
)
def doctor(directory: Path, fmt_: str) -> None:
    """Check the setup before a first plan: the state directory, credentials, a token for
    each command's scopes, the admin, the domains, the schema and the APIs the workspace
    uses. Stops at the first failure, saying what to do. Writes nothing to Google."""
    from reconciler.commands.doctor import render, run_doctor

    results = run_doctor(directory)
    click.echo(render(results, fmt_), nl=False)
    if any(r.status == "fail" for r in results):
        sys.exit(EXIT_ERROR)


@cli.command("audit")
@state_dir
@click.option("--since", help="Start of the period (any date git understands).")
@click.option("--until", help="End of the period.")
@audit_logs
@click.option(
    "--format",
    "fmt_",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
)
def audit_(
    directory: Path, since: str | None, until: str | None, logs: tuple[Path, ...], fmt_: str
) -> None:
    """Who changed which account or group, in which commit and PR, applied when and how."""
    from reconciler.commands.audit_trail import audit, render_audit

    cut: list[str] = []
    commits = audit(directory, since, until, list(logs), cut)
    click.echo(render_audit(commits, fmt_), nl=False)
    for where in cut:
        click.echo(
            f"Warning: {where}: a record cut off when an apply was killed, skipped. Its "
            "change shows as started (sent, outcome unknown), or not at all if the cut "
            "record was its start (then nothing was sent for it).",
            err=True,
        )
    # A file the loader refuses (a syntax error, nesting deep enough to crash the parser) has
    # unknown changes: the report is shown, but it is incomplete, and says so by its exit code.
    unreadable = [(c.commit, p) for c in commits for p in c.unreadable]
    for commit, problem in unreadable:
        click.echo(f"commit {commit[:12]}: {problem}", err=True)
    if unreadable:
        click.echo(
            f"Error: the audit is incomplete: {len(unreadable)} file(s) in the history could "
            "not be read, so their changes are not shown.",
            err=True,
        )
        sys.exit(EXIT_ERROR)


@cli.command()
@state_dir
@click.option("--check", is_flag=True, help="Change nothing; exit 1 naming files not canonical.")
@click.option(
    "--prune-expired",
    is_flag=True,
    help="Also delete member entries and bindings whose `until:` day has passed.",
)
def fmt(directory: Path, check: bool, prune_expired: bool) -> None:
    """Rewrite desired-state files in canonical form, keeping comments."""
    from reconciler.desired.expiry import today
    from reconciler.desired.write import Pruned, format_directory

    pruned: list[Pruned] = []
    day = today() if prune_expired else None
    changed = format_directory(directory, write=not check, prune_before=day, pruned=pruned)
    for p in sorted(pruned, key=lambda p: (str(p.path), p.line)):
        verb = "would delete" if check else "deleted"
        click.echo(f"{verb} {_shown(p.path)}:{p.line}: {p.what} (ended after {p.until})")
    for path in changed:
        click.echo(f"{'would reformat' if check else 'reformatted'} {_shown(path)}")
    if check and changed:
        run = "reconciler fmt --prune-expired" if prune_expired else "reconciler fmt"
        click.echo(f"{len(changed)} file(s) not in canonical form; run `{run}`.", err=True)
        sys.exit(EXIT_ERROR)
    if not changed:
        click.echo("All files are in canonical form.")


@cli.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the schema to this file instead of standard output.",
)
@click.option(
    "--workspace", is_flag=True, help="The schema of workspace.yaml instead of the entry files."
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write both schemas (entry files and workspace.yaml) into this folder.",
)
@click.option(
    "--reference", is_flag=True, help="The YAML reference in Markdown instead of a schema."
)
def schema(out: Path | None, workspace: bool, out_dir: Path | None, reference: bool) -> None:
    """Print or write the JSON Schema of desired-state files, for editors and CI."""
    from reconciler.desired.reference import reference_markdown
    from reconciler.desired.schema import SCHEMA_FILES, schema_text

    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, kind in SCHEMA_FILES.items():
            (out_dir / name).write_text(schema_text(kind), encoding="utf-8")
            click.echo(f"wrote {_shown(out_dir / name)}", err=True)
        return
    text = reference_markdown() if reference else schema_text("workspace" if workspace else "files")
    if out is None:
        click.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {_shown(out)}", err=True)


@cli.command()
@state_dir
@click.option(
    "--root-prefix",
    metavar="PREFIX",
    help="The state directory's path from the repository root (default: asked of Git).",
)
@click.option(
    "--check",
    "check_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Change nothing; exit 1 with a diff when FILE's block differs or is missing.",
)
@click.option(
    "--write",
    "write_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the block into FILE (replacing its block, else appended), keeping the rest.",
)
def codeowners(
    directory: Path, root_prefix: str | None, check_file: Path | None, write_file: Path | None
) -> None:
    """Print the CODEOWNERS block that workspace.yaml's restrictions give (their reviewers)."""
    from reconciler.commands.codeowners import check, generate, write

    if check_file is not None and write_file is not None:
        raise click.UsageError("give --check or --write, not both")
    generated = generate(directory, root_prefix)
    for warning in generated.warnings:
        click.echo(f"Warning: {one_line(warning)}", err=True)
    if check_file is not None:
        differs = check(generated.text, check_file, directory)
        if differs is not None:
            click.echo(f"Error: {safe_lines(differs)}", err=True, nl=not differs.endswith("\n"))
            sys.exit(EXIT_ERROR)
        click.echo(f"{_shown(check_file)} is up to date.")
    elif write_file is not None:
        changed = write(generated.text, write_file)
        click.echo(f"{'wrote' if changed else 'unchanged:'} {_shown(write_file)}", err=True)
    else:
        click.echo(generated.text, nl=False)


@cli.group()
def emulator() -> None:
    """The Directory API emulator: a stand-in for Google on loopback."""


@emulator.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--seed",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Tenant to start from (YAML or JSON); default: empty, domain example.com.",
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File the tenant persists to; loaded instead of the seed when it exists.",
)
@click.option(
    "--latency-ms",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="Added to every HTTP request.",
)
@click.option(
    "--fault-rate",
    type=click.FloatRange(0, 1),
    default=0,
    show_default=True,
    help="Share of API calls answered with a transient error or a dropped connection.",
)
@click.option("--fault-seed", type=int, help="Seed for faults, so runs repeat.")
@click.option(
    "--quota-per-minute",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="API calls allowed in any 60 s (0: unlimited); more get 403 userRateLimitExceeded.",
)
@click.option(
    "--consistency-delay-ms",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="How long a new user or group is not usable by other calls.",
)
@click.option(
    "--listing-lag-ms",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="How long listings show what a write changed as it was before it.",
)
@click.option(
    "--address-hold-ms",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="How long a released address (a removed alias, a deleted user's) cannot be claimed.",
)
@click.option(
    "--transfer-delay-ms",
    type=click.FloatRange(min=0),
    help="How long a Data Transfer API transfer stays inProgress before it completes "
    "(default: a fraction of a second, never at once).",
)
@click.option(
    "--batch-order",
    type=click.Choice(["sequential", "shuffle"]),
    default="sequential",
    show_default=True,
    help="shuffle: run and answer batch parts in any order, as Google may (seeded by "
    "--fault-seed).",
)
@click.option(
    "--entra-seed",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Serve Microsoft Graph too (token endpoint and v1.0), for an Entra tenant starting "
    "from this seed (YAML, as entra-tenant.yaml).",
)
@click.option(
    "--entra-state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File the Entra tenant persists to (serves Graph too); loaded instead of "
    "--entra-seed when it exists.",
)
def serve(
    port: int,
    seed: Path | None,
    state: Path | None,
    latency_ms: float,
    fault_rate: float,
    fault_seed: int | None,
    quota_per_minute: int,
    consistency_delay_ms: float,
    listing_lag_ms: float,
    address_hold_ms: float,
    transfer_delay_ms: float | None,
    batch_order: str,
    entra_seed: Path | None,
    entra_state: Path | None,
) -> None:
    """Serve the emulator on 127.0.0.1 until Ctrl-C; the tenant persists to --state. With
    --entra-seed or --entra-state, Microsoft Graph is served on the same port too."""
    import signal
    import threading

    from reconciler.emulator.faults import EmulatorConfig
    from reconciler.emulator.journal import StateInUse
    from reconciler.emulator.server import EmulatorServer
    from reconciler.emulator.store import StateError

    # The emulator's own default delay unless one is given.
    transfer = {} if transfer_delay_ms is None else {"transfer_delay_ms": transfer_delay_ms}
    config = EmulatorConfig(
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        fault_seed=fault_seed,
        quota_per_minute=quota_per_minute,
        consistency_delay_ms=consistency_delay_ms,
        listing_lag_ms=listing_lag_ms,
        address_hold_ms=address_hold_ms,
        batch_order=batch_order,
        **transfer,
    )
    graph = _graph_api(entra_seed, entra_state)
    try:
        server = EmulatorServer.open(seed=seed, state=state, config=config, port=port)
    except StateInUse as exc:
        raise click.ClickException(str(exc)) from None
    except StateError as exc:
        raise click.ClickException(f"{exc} (move it aside to start again from the seed)") from None
    server.graph = graph
    try:
        url = server.start()
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}; "
            "choose another --port (0: any free port)"
        ) from None
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    served = "Directory API and Microsoft Graph emulator" if graph else "Directory API emulator"
    click.echo(f"{served} at {url} (Ctrl-C to stop)", err=True)
    try:
        while not stopped.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    where = f"; tenant saved to {_shown(state)}" if state else ""
    click.echo(f"Emulator stopped{where}.", err=True)


def _graph_api(seed: Path | None, state: Path | None):
    """The Graph side `emulator serve` adds, when an Entra seed or state is given."""
    if seed is None and state is None:
        return None
    from reconciler.emulator.graph.api import GraphApi
    from reconciler.emulator.graph.tenant import GraphTenant, SeedError

    try:
        return GraphApi(GraphTenant.open(seed, state))
    except SeedError as exc:
        raise click.ClickException(str(exc)) from None


MAX_WARNINGS_SHOWN = 20


def _print_warnings(warnings: list[Problem]) -> None:
    for w in warnings[:MAX_WARNINGS_SHOWN]:
        click.echo(w.render(), err=True)
    hidden = len(warnings) - MAX_WARNINGS_SHOWN
    if hidden > 0:
        click.echo(f"... and {hidden} more warnings", err=True)


def _shown(path: Path) -> str:
    from reconciler.problems import display_path, one_line

    return one_line(display_path(path))


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every expected failure into exit code 1."""
    try:
        cli.main(args=argv, prog_name="reconciler", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_ERROR)
    except click.ClickException as exc:
        # Click uses 2 for usage errors; the contract reserves 2 for "changes present".
        exc.message = safe_lines(exc.message)  # a file name may hold control characters
        exc.show()
        sys.exit(EXIT_ERROR)
    except ReconcilerError as exc:
        click.echo(f"Error: {safe_lines(str(exc))}", err=True)
        sys.exit(EXIT_ERROR)
    except InvalidInput as exc:
        for p in exc.problems:
            click.echo(p.render(), err=True)
        n = len(exc.problems)
        click.echo(f"{n} problem{'s' if n != 1 else ''} found; nothing was changed.", err=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(EXIT_ERROR)
    except OSError as exc:
        where = f": {one_line(str(exc.filename))}" if exc.filename else ""
        click.echo(f"error{where}: {safe_lines(str(exc.strerror or exc))}", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:
        if os.environ.get("RECONCILER_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {safe_lines(str(exc))}\n"
            "This is a bug; please report it (RECONCILER_DEBUG=1 shows the traceback).",
            err=True,
        )
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_OK)

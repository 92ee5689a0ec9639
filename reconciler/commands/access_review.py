"""`reconciler access-review`: who has access to what today (or on a past day), since when,
granted by which commit and pull request, approved by whom, applied when, and whether Google
agrees. Git's side is the state directory at the reviewed commit; its history is read in one
`git log` pass (reconciler/review/history.py); Google is read as a plan reads it, unless
`--offline` or `--as-of` (a past day is rebuilt from history alone)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import click

from reconciler.clock import now
from reconciler.desired import Desired, load_desired
from reconciler.desired.load import emulator_seeds
from reconciler.git_objects import export_tree
from reconciler.problems import ReconcilerError, one_line
from reconciler.review.applied import applied_memberships
from reconciler.review.build import Inputs, review_rows
from reconciler.review.history import read_history
from reconciler.review.model import Review


class ReviewError(ReconcilerError):
    """The review cannot be made (no Git history, no commit as old as the day asked)."""


def make_review(
    directory: Path, *, as_of: dt.date | None, offline: bool, logs: list[Path]
) -> Review:
    """The review of `directory`: today's working tree (and Google, unless `offline`), or
    the branch as it was at the end of `as_of` (UTC), from history alone."""
    if not directory.is_dir():
        raise ReviewError(f"{directory}: no such directory")
    directory = directory.resolve()
    top = Path(_git(directory, "rev-parse", "--show-toplevel", what="the Git repository"))
    relative = directory.relative_to(top).as_posix() if directory != top else "."
    generated = now()
    day = as_of or generated.date()
    notes: list[str] = []
    with _state_at(top, relative, directory, as_of) as (desired, tip):
        _progress("reading the history of the state directory")
        # As the loader compares them: `./tenant.yaml` is tenant.yaml.
        skip = {PurePosixPath(seed).as_posix() for seed, _ in emulator_seeds(desired.workspace)}
        history = read_history(top, relative, tip, skip, desired.workspace.exclude)
        cut: list[str] = []
        applied = applied_memberships(top, logs, cut)
        actual = addresses = accounts = None
        if as_of is None and not offline:
            from reconciler.session import google_session, read_actual

            _progress("reading Google")
            with google_session(desired, read_only=True) as client:
                read = read_actual(desired, client)
            actual, addresses, accounts = read.state, read.group_addresses, read.user_addresses
        inputs = Inputs(desired, history, applied, day, actual, addresses or {}, accounts or {})
        groups, privileged = review_rows(inputs)
    if history.shallow:
        notes.append(
            "The history is a shallow clone's: grants its oldest commit holds are dated by "
            "that commit and may be older (marked 'at or before'); fetch the whole history "
            "(e.g. fetch-depth: 0) for exact dates."
        )
    notes += [f"Unreadable in the history (grants kept as before): {u}" for u in history.unreadable]
    notes += [f"Skipped an apply record cut off by a killed apply: {c}" for c in cut]
    if as_of is None and _dirty(top, relative):
        notes.append(
            "The state directory has uncommitted changes: what they grant has no commit yet."
        )
    google = "as-of" if as_of is not None else ("offline" if offline else "read")
    review = Review(
        as_of=day.isoformat(),
        generated=generated.isoformat(timespec="seconds"),
        directory=relative,
        git_commit=tip,
        google=google,
        shallow=history.shallow,
        groups=groups,
        privileged=privileged,
        notes=notes,
    )
    rows = sum(len(g.rows) for g in groups)
    _progress(
        f"{len(groups):,} groups, {rows:,} rows; history: {history.commits:,} commits, "
        f"{history.files_read:,} file versions read"
    )
    return review


@contextmanager
def _state_at(
    top: Path, relative: str, directory: Path, as_of: dt.date | None
) -> Iterator[tuple[Desired, str]]:
    """The desired state reviewed and the commit its history ends at."""
    if as_of is None:
        tip = _git(top, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", what="commit")
        yield load_desired(directory), tip
        return
    end = f"{as_of.isoformat()}T23:59:59+00:00"
    tip = _git(top, "rev-list", "-1", "--first-parent", f"--before={end}", "HEAD", what="")
    if not tip:
        raise ReviewError(
            f"--as-of {as_of.isoformat()}: no commit of this branch is that old (a shallow "
            "clone may lack it: fetch the whole history, e.g. fetch-depth: 0)"
        )
    tmp = Path(tempfile.mkdtemp(prefix="reconciler-review-"))
    try:
        if not export_tree(_runner, top, tip, relative, tmp):
            raise ReviewError(
                f"--as-of {as_of.isoformat()}: the state directory {relative} did not exist "
                f"at {tip[:12]}"
            )
        yield load_desired(tmp / relative, day=as_of), tip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _runner(top: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-C", str(top), *args], input=stdin, capture_output=True, check=False
    )


def _git(top: Path, *args: str, what: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(top), *args], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise ReviewError("the access review reads Git's history: git is not installed") from None
    if done.returncode != 0:
        said = one_line(done.stderr.strip())
        if args[0] == "rev-parse" and "--show-toplevel" in args and "work tree" in said:
            raise ReviewError(
                f"{top} is in a Git repository without a working tree (a bare clone): the "
                "access review reads the state directory's files, so run it in a clone"
            )
        if args[0] == "rev-parse" and "--show-toplevel" in args:
            raise ReviewError(
                f"{top} is not in a Git repository ({said}): the access review reads the "
                "state directory's Git history"
            )
        if what == "commit":
            raise ReviewError(
                f"{top}: the repository has no commit yet: the access review reads the state "
                "directory's history, so commit it first"
            )
        raise ReviewError(f"git {args[0]}: no {what or 'answer'}{f' ({said})' if said else ''}")
    return done.stdout.strip()


def _dirty(top: Path, relative: str) -> bool:
    spec = [] if relative == "." else ["--", relative]
    done = subprocess.run(
        ["git", "-C", str(top), "status", "--porcelain", "--untracked-files=all", *spec],
        capture_output=True,
        text=True,
        check=False,
    )
    return any(line.rstrip().endswith((".yaml", ".yml")) for line in done.stdout.splitlines())


def _progress(text: str) -> None:
    click.echo(f"access review: {text}", err=True)

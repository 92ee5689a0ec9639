"""`--changed-since REF`: what a Git change touches, worked out from Git alone.

The state directory as it was at REF is taken out of Git (`git ls-tree` and one `git
cat-file --batch`, into a temporary directory) and loaded like the working tree; both are
resolved into desired States and compared entity by entity. Comparing what Git resolves to,
not the lines that changed, catches every indirect effect at once: a binding group's members
(bound or no longer), the parents of a changed nested group (flattened into them), a user's
memberships, the license a rule gives, a group's settings, what an Entra group holds.

A change of workspace.yaml that reaches beyond the entities it resolves to (the domains,
ownership, sync attributes, safety, protection, offboarding, the provider) gives no scope:
`why_full` says so and the plan is a full one. So does a REF whose state does not load.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from operator import attrgetter
from pathlib import Path
from typing import Any

import click

from reconciler.apply.pending import load_pending
from reconciler.apply.unconfirmed import UnconfirmedCreations
from reconciler.desired import Desired, load_desired
from reconciler.desired.pipeline import state_without_expiry
from reconciler.entra.state import EntraGroup
from reconciler.git_objects import export_tree
from reconciler.problems import InvalidInput, ReconcilerError, one_line
from reconciler.scope import Scope, git_bases
from reconciler.settings import Workspace
from reconciler.state import Group, State, User

# workspace.yaml's keys whose every effect shows in the resolved entities: the defaults of
# group settings (in each group's settings) and the license rules (in each user's license).
RESOLVED_SETTINGS = frozenset({"group_settings"})
# workspace.yaml's keys no plan reads (`import:`, for `reconciler import` only).
UNPLANNED_SETTINGS = frozenset({"import_"})
RESOLVED_LICENSE_KEYS = frozenset({"rules", "default"})
GIT_TIMEOUT_S = 120
# How long the reader of the state at REF has to end once it has answered.
READER_EXIT_S = 10.0


@dataclass(frozen=True)
class Targeting:
    """The outcome: a scope, or why the plan must be a full one."""

    scope: Scope | None
    why_full: str | None = None
    since: str | None = None


class GitError(ReconcilerError):
    """Git cannot say what changed (no repository, no such revision)."""


def load_targeted(directory: Path, ref: str | None) -> tuple[Desired, Targeting | None]:
    """Load the state directory; with `--changed-since REF`, its state at REF too (at the
    same time, see RefSide), and set `desired.scope` to what the change touches, or leave it
    unset, saying on stderr why the plan is a full one (the Targeting says either)."""
    if ref is None or not Path(directory).is_dir():
        return load_desired(directory), None
    side = RefSide.start(Path(directory), ref)
    # A stop (CI cancelling a job sends SIGTERM) ends the command as Ctrl-C does, so the
    # reader is reaped and the copy of the state removed.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
    try:
        desired = load_desired(directory)
        return desired, side.finish(desired)
    except BaseException:
        side.close()
        raise
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def meta_of(targeting: Targeting | None) -> dict[str, Any] | None:
    """The plan's `meta.changed_since` (contract): the scope it covered, as widened by the
    read, or why it is a full plan."""
    if targeting is None:
        return None
    if targeting.scope is None:
        return {"since": targeting.since, "targeted": False, "why_full": targeting.why_full}
    return {"targeted": True, **targeting.scope.to_json()}


@dataclass(frozen=True)
class _Then:
    """The state directory at REF, as the comparison needs it: each entity's fingerprint
    and the settings (or why it cannot be had)."""

    fingerprints: dict[str, dict[str, bytes]] | None = None
    workspace: Any = None
    bases: dict[str, int] | None = None  # Git's counts at REF (scope.git_bases)
    why_not: str | None = None


class RefSide:
    """The state directory at REF, loaded while the working tree is: a forked process reads
    it out of Git, loads and fingerprints it, so the two loads of a large directory take
    the time of one on two cores (`finish` waits for it). Where forking is unsafe (not
    Linux, or threads already running, as under a test runner's embedded servers) it is
    loaded in `finish` instead."""

    def __init__(self, ref: str, commit: str, top: Path, relative: str):
        self.ref, self.commit, self.top, self.relative = ref, commit, top, relative
        self._process: Any = None
        self._pipe: Any = None
        # The copy of the state at REF: made and removed here, whatever ends the reader.
        self._tmp = Path(tempfile.mkdtemp(prefix="reconciler-since-"))

    @classmethod
    def start(cls, root: Path, ref: str) -> RefSide:
        """Name the commit (a GitError now, before any load, when there is none) and start
        loading the state at it."""
        root = Path(root).resolve()
        top = _toplevel(root)
        side = cls(ref, _commit(top, ref), top, root.relative_to(top).as_posix())
        if sys.platform.startswith("linux") and threading.active_count() == 1:
            context = multiprocessing.get_context("fork")
            receive, send = context.Pipe(duplex=False)
            side._process = context.Process(target=side._child, args=(send, receive), daemon=True)
            try:
                side._process.start()
            except BaseException:
                side._process = None
                side.close()
                raise
            send.close()
            side._pipe = receive
        return side

    def _child(self, send: Any, receive: Any) -> None:
        # Default handling: Ctrl-C or a stop ends the reader at once; the parent removes
        # what it wrote (`close`). The parent's end of the pipe is closed here, so a parent
        # gone makes the send fail (EPIPE) instead of blocking for ever; then the reader
        # removes its copy itself.
        receive.close()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            send.send(self._load())
        except OSError:
            shutil.rmtree(self._tmp, ignore_errors=True)
        finally:
            send.close()

    def _load(self) -> _Then:
        """The state at REF, or why it cannot be had (any failure: a full plan, said)."""
        try:
            if not export_tree(_git, self.top, self.commit, self.relative, self._tmp):
                return _Then(why_not=f"the state directory did not exist at {self.ref}")
            then_root = self._tmp / self.relative
            try:
                then = load_desired(then_root)
            except InvalidInput as exc:
                first = exc.problems[0].render() if exc.problems else "no detail"
                first = first.replace(str(then_root), self.relative)
                return _Then(why_not=f"the state directory at {self.ref} does not load ({first})")
            bases = git_bases(then.state)
            return _Then(fingerprints(then.state), then.workspace, bases)
        except Exception as exc:
            why = f"the state at {self.ref} could not be read ({one_line(str(exc))})"
            return _Then(why_not=why)

    def _then(self) -> _Then:
        if self._process is None:
            try:
                return self._load()
            finally:
                self.close()
        answered = False
        try:
            then = self._pipe.recv()
            answered = True
            return then
        except EOFError:
            return _Then(why_not=f"the state at {self.ref} could not be read (its reader died)")
        finally:
            self.close(wait_s=READER_EXIT_S if answered else 0)

    def close(self, wait_s: float = 0) -> None:
        """Reap the reader, given `wait_s` to end by itself (it has answered), else stopped
        (an error or Ctrl-C ends the command first); remove the copy of the state."""
        try:
            if self._process is not None:
                try:
                    self._process.join(timeout=wait_s)
                finally:
                    if self._process.is_alive():
                        self._process.terminate()
                    self._process.join()
                    self._pipe.close()
                    self._process = None
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def finish(self, desired: Desired) -> Targeting:
        """The scope of the change from REF to `desired` (the working tree), set on it; or
        why the plan is a full one, said on stderr."""
        found = self._compare(desired)
        if found.scope is None:
            click.echo(
                f"--changed-since {self.ref}: a full plan, since {found.why_full}.", err=True
            )
        else:
            desired.scope = found.scope
        return found

    def _compare(self, desired: Desired) -> Targeting:
        then = self._then()
        if then.why_not is not None or then.fingerprints is None:
            return Targeting(None, then.why_not, self.ref)
        moved = workspace_changes(then.workspace, desired.workspace)
        if moved:
            return Targeting(
                None,
                f"workspace.yaml changed since {self.ref} ({', '.join(moved)}): that can "
                "reach every user and group",
                self.ref,
            )
        now = fingerprints(desired.state)
        scope = Scope(since=self.ref, commit=self.commit, bases_then=then.bases or {})
        scope.users = _differing(then.fingerprints["users"], now["users"])
        scope.groups = _differing(then.fingerprints["groups"], now["groups"])
        # Access whose `until:` day has passed is no change in Git, but whatever it reaches
        # (its groups, the groups they flatten into, the users it bound) is planned, as a
        # full plan would take it away.
        try:
            unexpired = state_without_expiry(desired)
        except Exception as exc:
            why = f"an entry whose day has passed cannot be resolved as it was ({exc!r:.120})"
            return Targeting(None, why, self.ref)
        if unexpired is not None:
            before = fingerprints(unexpired)
            scope.users |= _differing(before["users"], now["users"])
            scope.groups |= _differing(before["groups"], now["groups"])
        # Entra groups match by name and by markers naming other Git groups, and Graph is
        # read whole anyway: every exported group is planned (its drift shown), so none is
        # matched differently for want of the others.
        scope.entra = set(now["entra"])
        # Renames an earlier apply began and did not finish: the full plan finishes them.
        pending = load_pending(desired.tree.root)
        scope.users.update(pending.get("users", {}))
        scope.groups.update(pending.get("groups", {}))
        # Creations an earlier run sent and never saw answered: said of by what Google holds.
        scope.users.update(UnconfirmedCreations(desired.tree.root, None).entries)
        scope.changed_users = frozenset(scope.users)
        scope.changed_groups = frozenset(scope.groups)
        return Targeting(scope, None, self.ref)


def changed_since(desired: Desired, ref: str) -> Targeting:
    """The scope of the changes between `ref` and the working tree of `desired` (not set
    on it, nothing said)."""
    return RefSide.start(desired.tree.root, ref)._compare(desired)


def workspace_changes(before: Workspace, after: Workspace) -> list[str]:
    """workspace.yaml's top-level keys that changed in a way the entities do not show."""
    moved: list[str] = []
    for name in type(after).model_fields:
        old, new = getattr(before, name), getattr(after, name)
        if old == new or name in RESOLVED_SETTINGS or name in UNPLANNED_SETTINGS:
            continue
        if name == "licenses" and old is not None and new is not None:
            dumped_old, dumped_new = old.model_dump(), new.model_dump()
            keys = {k for k in dumped_new if dumped_old.get(k) != dumped_new.get(k)}
            if keys <= RESOLVED_LICENSE_KEYS:
                continue
        moved.append(name)
    return moved


def fingerprints(state: State) -> dict[str, dict[str, bytes]]:
    """Each desired entity's fingerprint, by kind and key: a hash over every field but its
    source line (moving YAML changes nothing), the fields left out of equality included
    (the license a rule gives, the offboarding keys, a group's settings)."""
    return {
        "users": {k: _hash(_USER_FIELDS(u)) for k, u in state.users.items()},
        "groups": {k: _hash(_GROUP_FIELDS(g)) for k, g in state.groups.items()},
        "entra": {k: _hash(_ENTRA_FIELDS(e)) for k, e in (state.entra_groups or {}).items()},
    }


# Where an entry was written, and the reasons that name it (the line of an ended entry, of
# the binding that ended): moving YAML changes nothing.
_NOT_FINGERPRINTED = {"origin", "expired", "unbound_by"}


def _fields_but_origin(kind: type) -> Callable[[Any], tuple]:
    return attrgetter(*[f.name for f in fields(kind) if f.name not in _NOT_FINGERPRINTED])


_USER_FIELDS = _fields_but_origin(User)
_GROUP_FIELDS = _fields_but_origin(Group)
_ENTRA_FIELDS = _fields_but_origin(EntraGroup)


def _differing(then: Mapping[str, bytes], now: Mapping[str, bytes]) -> set[str]:
    """Keys whose entity was added, removed or changed."""
    return {k for k in then.keys() | now.keys() if then.get(k) != now.get(k)}


def _hash(values: tuple) -> bytes:
    return hashlib.blake2b(repr(values).encode("utf-8"), digest_size=16).digest()


# -- git -------------------------------------------------------------------------------------


def _git(top: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            ["git", "-C", str(top), *args],
            input=stdin,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except FileNotFoundError:
        raise GitError("--changed-since needs git, and git is not installed") from None
    except subprocess.TimeoutExpired:
        what = next(a for a in args if not a.startswith("-"))
        raise GitError(f"git {what} took over {GIT_TIMEOUT_S} s; giving up") from None


def _toplevel(root: Path) -> Path:
    found = _git(root, "rev-parse", "--show-toplevel")
    if found.returncode != 0:
        said = one_line(found.stderr.decode("utf-8", "replace").strip())
        raise GitError(
            f"{root} is not in a git repository git can use ({said}): --changed-since "
            "compares with a Git revision (leave it out for a full plan)"
        )
    return Path(found.stdout.decode().strip()).resolve()


def _commit(top: Path, ref: str) -> str:
    if ref.startswith("-"):
        raise GitError(f"--changed-since {ref}: not a revision")
    found = _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found.returncode != 0:
        said = one_line(found.stderr.decode("utf-8", "replace").strip())
        raise GitError(
            f"--changed-since {ref}: no such commit in this repository (a shallow clone may "
            f"lack it: fetch it, e.g. with fetch-depth: 0){f'; git: {said}' if said else ''}"
        )
    return found.stdout.decode().strip()

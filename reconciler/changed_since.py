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
import os
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from reconciler.apply.pending import load_pending
from reconciler.desired import Desired, load_desired
from reconciler.problems import InvalidInput, ReconcilerError
from reconciler.scope import Scope

# workspace.yaml's keys whose every effect shows in the resolved entities: the defaults of
# group settings (in each group's settings) and the license rules (in each user's license).
RESOLVED_SETTINGS = frozenset({"group_settings"})
RESOLVED_LICENSE_KEYS = frozenset({"rules", "default"})
GIT_TIMEOUT_S = 120


@dataclass(frozen=True)
class Targeting:
    """The outcome: a scope, or why the plan must be a full one."""

    scope: Scope | None
    why_full: str | None = None
    since: str | None = None


class GitError(ReconcilerError):
    """Git cannot say what changed (no repository, no such revision)."""


def target(desired: Desired, ref: str | None) -> Targeting | None:
    """For `--changed-since REF`: set `desired.scope` to what the change touches, or leave
    it unset, saying on stderr why the plan is a full one. None without a REF."""
    if ref is None:
        return None
    found = changed_since(desired, ref)
    if found.scope is None:
        click.echo(f"--changed-since {ref}: a full plan, since {found.why_full}.", err=True)
        return Targeting(None, found.why_full, ref)
    desired.scope = found.scope
    return found


def meta_of(targeting: Targeting | None) -> dict[str, Any] | None:
    """The plan's `meta.changed_since` (contract): the scope it covered, as widened by the
    read, or why it is a full plan."""
    if targeting is None:
        return None
    if targeting.scope is None:
        return {"since": targeting.since, "targeted": False, "why_full": targeting.why_full}
    return {"targeted": True, **targeting.scope.to_json()}


def changed_since(desired: Desired, ref: str) -> Targeting:
    """The scope of the changes between `ref` and the working tree of `desired`."""
    root = Path(desired.tree.root).resolve()
    top = _toplevel(root)
    commit = _commit(top, ref)
    relative = root.relative_to(top).as_posix()
    with tempfile.TemporaryDirectory(prefix="reconciler-since-") as tmp:
        if not _export(top, commit, relative, Path(tmp)):
            return Targeting(None, f"the state directory did not exist at {ref}", ref)
        then_root = Path(tmp, relative)
        try:
            then = load_desired(then_root)
        except InvalidInput as exc:
            first = exc.problems[0].render() if exc.problems else "no detail"
            first = first.replace(str(then_root), relative)
            return Targeting(None, f"the state directory at {ref} does not load ({first})", ref)
    moved = workspace_changes(then, desired)
    if moved:
        return Targeting(
            None,
            f"workspace.yaml changed since {ref} ({', '.join(moved)}): that can reach every "
            "user and group",
            ref,
        )
    scope = Scope(since=ref, commit=commit)
    scope.users = _differing(then.state.users, desired.state.users, _user_digest)
    scope.groups = _differing(then.state.groups, desired.state.groups, _group_digest)
    scope.entra = _differing(
        then.state.entra_groups or {}, desired.state.entra_groups or {}, _plain_digest
    )
    # Renames an earlier apply began and did not finish: the full plan finishes them.
    pending = load_pending(root)
    scope.users.update(pending.get("users", {}))
    scope.groups.update(pending.get("groups", {}))
    scope.changed_users = frozenset(scope.users)
    scope.changed_groups = frozenset(scope.groups)
    return Targeting(scope, None, ref)


def workspace_changes(then: Desired, now: Desired) -> list[str]:
    """workspace.yaml's top-level keys that changed in a way the entities do not show."""
    before, after = then.workspace, now.workspace
    moved: list[str] = []
    for name in type(after).model_fields:
        old, new = getattr(before, name), getattr(after, name)
        if old == new or name in RESOLVED_SETTINGS:
            continue
        if name == "licenses" and old is not None and new is not None:
            dumped_old, dumped_new = old.model_dump(), new.model_dump()
            keys = {k for k in dumped_new if dumped_old.get(k) != dumped_new.get(k)}
            if keys <= RESOLVED_LICENSE_KEYS:
                continue
        moved.append(name)
    return moved


def _differing(then: Mapping[str, Any], now: Mapping[str, Any], digest) -> set[str]:
    """Keys whose entity was added, removed or changed."""
    return {k for k in then.keys() | now.keys() if digest(then.get(k)) != digest(now.get(k))}


def _plain_digest(entity: Any) -> bytes:
    if entity is None:
        return b""
    return _hash(repr(replace(entity, origin=None)))


def _user_digest(user: Any) -> bytes:
    # The fields left out of equality (the license a rule gives, the offboarding keys) count.
    if user is None:
        return b""
    return _hash(repr((replace(user, origin=None), user.license, user.offboarding)))


def _group_digest(group: Any) -> bytes:
    if group is None:
        return b""
    return _hash(repr((replace(group, origin=None), group.settings)))


def _hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


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
        raise GitError(f"git {args[0]} took over {GIT_TIMEOUT_S} s; giving up") from None


def _toplevel(root: Path) -> Path:
    found = _git(root, "rev-parse", "--show-toplevel")
    if found.returncode != 0:
        raise GitError(
            f"{root} is not in a git repository: --changed-since compares with a Git "
            "revision (leave it out for a full plan)"
        )
    return Path(found.stdout.decode().strip()).resolve()


def _commit(top: Path, ref: str) -> str:
    if ref.startswith("-"):
        raise GitError(f"--changed-since {ref}: not a revision")
    found = _git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if found.returncode != 0:
        raise GitError(
            f"--changed-since {ref}: no such commit in this repository (a shallow clone may "
            "lack it: fetch it, e.g. with fetch-depth: 0)"
        )
    return found.stdout.decode().strip()


def _export(top: Path, commit: str, relative: str, into: Path) -> bool:
    """Write the files under `relative` at `commit` into `into` (same relative paths);
    False when there are none."""
    spec = [] if relative in ("", ".") else ["--", relative]
    listing = _git(top, "ls-tree", "-r", "-z", "--full-tree", commit, *spec)
    if listing.returncode != 0:
        raise GitError(f"git ls-tree {commit[:12]}: {listing.stderr.decode().strip()}")
    entries = list(_tree_entries(listing.stdout))
    if not entries:
        return False
    blobs = [(mode, oid, path) for mode, kind, oid, path in entries if kind == "blob"]
    batch = _git(top, "cat-file", "--batch", stdin="".join(f"{o}\n" for _, o, _ in blobs).encode())
    if batch.returncode != 0:
        raise GitError(f"git cat-file: {batch.stderr.decode().strip()}")
    contents = _batch_contents(batch.stdout)
    for (mode, _oid, path), data in zip(blobs, contents, strict=True):
        target = into / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":  # a link: made as one, so the loader refuses it as it would
            os.symlink(data.decode("utf-8", "surrogateescape"), target)
        else:
            target.write_bytes(data)
    # Folders exist even when only sub-folders hold files.
    (into / relative).mkdir(parents=True, exist_ok=True)
    return True


def _tree_entries(listing: bytes) -> Iterator[tuple[str, str, str, str]]:
    for record in listing.split(b"\0"):
        if not record:
            continue
        head, _, path = record.partition(b"\t")
        mode, kind, oid = head.decode().split(" ")
        yield mode, kind, oid, path.decode("utf-8", "surrogateescape")


def _batch_contents(output: bytes) -> list[bytes]:
    """The objects of `git cat-file --batch`, in order: `<oid> <type> <size>` then data."""
    found: list[bytes] = []
    at = 0
    while at < len(output):
        end = output.index(b"\n", at)
        header = output[at:end].decode().split(" ")
        if len(header) != 3:
            raise GitError(f"git cat-file: unexpected answer {output[at:end][:80]!r}")
        size = int(header[2])
        found.append(output[end + 1 : end + 1 + size])
        at = end + 1 + size + 1
    return found

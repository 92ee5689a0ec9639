"""What a plan was made from: the state directory's digest, the git commit, the tool."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from pathlib import Path
from typing import Any

from reconciler import __version__
from reconciler.desired.load import DesiredTree


def state_digest(tree: DesiredTree) -> str:
    """sha256 over every file the state was loaded from (relative path and bytes)."""
    digest = hashlib.sha256()
    for path in sorted([tree.workspace_source.path, *tree.files]):
        digest.update(path.relative_to(tree.root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()


def _git_output(root: Path, *args: str) -> str | None:
    """The stripped output of a git command in `root`, or None (no git, not a repository)."""
    try:
        found = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout.strip() or None if found.returncode == 0 else None


def git_commit(root: Path) -> str | None:
    """The commit checked out at `root`, if it is in a git repository (and git exists)."""
    return _git_output(root, "rev-parse", "HEAD")


def provenance(tree: DesiredTree) -> dict[str, Any]:
    return {
        "state_digest": state_digest(tree),
        "git_commit": git_commit(tree.root),
        "tool_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "directory": tree.root.as_posix(),
        # The same folder relative to the repository root: a plan saved in one working
        # directory (or CI job) still finds it when applied from another.
        "directory_in_repo": repo_relative(tree.root),
    }


def repo_relative(path: Path) -> str | None:
    """`path` relative to the root of its git repository, if it is in one."""
    top = git_toplevel(path)
    if top is None:
        return None
    try:
        return Path(path).resolve().relative_to(top).as_posix()
    except ValueError:
        return None


def git_toplevel(path: Path) -> Path | None:
    top = _git_output(path, "rev-parse", "--show-toplevel")
    return Path(top).resolve() if top else None

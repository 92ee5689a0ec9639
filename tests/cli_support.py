"""Shared by the tests that give the CLI a small state directory of their own: the smallest
valid workspace.yaml (for the emulator, or for Google), one user to put in it, a state
directory written from texts, and `python -m reconciler` run as a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import children

WORKSPACE = """\
directory:
  domains: [example.com]
ownership:
  id: acme/identity
provider:
  kind: emulator
"""
GOOGLE_WORKSPACE = WORKSPACE.replace(
    "  kind: emulator\n", "  kind: google\n  admin_subject: admin@example.com\n"
)

# The example's first plan (examples/desired-state): 28 directory changes (the expired
# auditor's removal among them; the new hire Kenji's sign-in message to his manager), 2 of group
# settings, 7 of licenses in Google, then the export to Entra ID (workspace.yaml, `entra:`):
# 3 to its groups (create Sales; adopt and update Engineering) and 9 to their members
# (8 to add, Sam Okafor removed from Engineering).
EXAMPLE_ENTRA_CHANGES = 3 + 9
EXAMPLE_CHANGES = 28 + 2 + 7 + EXAMPLE_ENTRA_CHANGES
ALL_APPLIED = f"Apply complete: {EXAMPLE_CHANGES} applied, 0 failed, 0 skipped."

# One user entry, unbound: enough for a file that loads.
JO = "users:\n  - email: jo.lei@example.com\n    given_name: Jo\n    family_name: Lei\n"


def write_state(directory: Path, files: dict[str, str]) -> Path:
    """Write `files` (relative name -> text) under `directory`, making folders as needed."""
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return directory


def reconciler(
    *args: Any, cwd: Path, env: dict[str, str] | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m reconciler ARGS` in a child process run from `cwd` (default signal
    handling, killed if it outlives the timeout), with this process's environment without
    RECONCILER_DEBUG (whose tracebacks are not what a user sees), no colour, and `env`."""
    environ = {k: v for k, v in os.environ.items() if k != "RECONCILER_DEBUG"}
    environ.update({"NO_COLOR": "1", **(env or {})})
    return children.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout or children.RUN_TIMEOUT_S,
        check=False,
    )


def git(repo: Path, *args: str) -> str:
    """`git ARGS` in `repo` as a throwaway committer; its output, stripped (fails loudly)."""
    done = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip()
